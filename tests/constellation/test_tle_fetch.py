"""fetch_tle against a local HTTP server (127.0.0.1, started here; no internet)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from twin.constellation.tle import fetch_tle, read_tle
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_NAME = "starlink-2026-05-28.tle"
NOW = datetime(2026, 5, 29, 1, 2, 3, tzinfo=UTC)


def _good_text() -> str:
    for candidate in (
        ROOT / "ephemeris" / SNAPSHOT_NAME,
        ROOT / ".." / "shared" / "data" / "tle" / SNAPSHOT_NAME,
    ):
        if candidate.exists():
            return (
                "\r\n".join(candidate.read_text().splitlines()[:30]) + "\r\n"
            )  # CelesTrak sends CRLF
    pytest.skip(f"{SNAPSHOT_NAME} not found in ephemeris/ nor ../shared/data/tle/")


@pytest.fixture(scope="module")
def server():
    good = _good_text()
    lines = good.split("\r\n")
    lines[4] = lines[4][:68] + str((int(lines[4][68]) + 1) % 10)  # checksum fault on line 5
    bodies = {
        "good": (200, "text/plain", good.encode()),
        "empty": (200, "text/plain", b""),
        "fail": (500, "text/plain", b"internal error"),
        "corrupt": (200, "text/plain", "\r\n".join(lines).encode()),
        "html": (200, "text/html", b"<!DOCTYPE html><html><body>Invalid query</body></html>"),
    }
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = parse_qs(urlparse(self.path).query)
            seen.append(query)
            status, ctype, body = bodies[query["GROUP"][0]]
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/gp.php", seen
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_good_download_is_written_validated_and_named_by_fetch_time(server, tmp_path):
    url, seen = server
    path = fetch_tle("good", tmp_path, base_url=url, now=NOW, timeout_s=5)
    assert path == tmp_path / "good-20260529T010203Z.tle"
    assert seen[-1] == {"GROUP": ["good"], "FORMAT": ["tle"]}
    assert len(read_tle(path)) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


@pytest.mark.parametrize(
    "group, error, message",
    [
        ("empty", InputError, "empty response body"),
        ("fail", RuntimeError, "HTTP 500"),
        ("corrupt", InputError, ":5: checksum"),
        ("html", InputError, "HTML page"),
    ],
)
def test_bad_download_writes_nothing_and_keeps_existing_file(
    server, tmp_path, group, error, message
):
    url, _ = server
    existing = fetch_tle("good", tmp_path, base_url=url, now=NOW, timeout_s=5)
    before = existing.read_bytes()
    # same group and time name as the existing good file, then a later one
    clash = tmp_path / f"{group}-20260529T010203Z.tle"
    clash.write_bytes(before)
    with pytest.raises(error, match=message):
        fetch_tle(group, tmp_path, base_url=url, now=NOW, timeout_s=5)
    with pytest.raises(error, match=message):
        fetch_tle(
            group,
            tmp_path,
            base_url=url,
            now=datetime(2026, 5, 30, tzinfo=UTC),
            timeout_s=5,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([existing.name, clash.name])
    assert existing.read_bytes() == before and clash.read_bytes() == before


def test_existing_file_is_never_overwritten(server, tmp_path):
    url, _ = server
    first = fetch_tle("good", tmp_path, base_url=url, now=NOW, timeout_s=5)
    first.write_text("keep me")
    with pytest.raises(RuntimeError, match="already exists"):
        fetch_tle("good", tmp_path, base_url=url, now=NOW, timeout_s=5)
    assert first.read_text() == "keep me" and len(list(tmp_path.iterdir())) == 1


def test_unreachable_server_and_bad_group_name(tmp_path):
    with pytest.raises(RuntimeError, match="download failed"):
        fetch_tle("good", tmp_path, base_url="http://127.0.0.1:9/gp.php", now=NOW, timeout_s=2)
    with pytest.raises(ValueError, match="group"):
        fetch_tle("../etc", tmp_path, base_url="http://127.0.0.1:9/gp.php")
    assert list(tmp_path.iterdir()) == []
