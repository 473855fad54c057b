"""`twin tle fetch --format json|csv` (OMM) against a local HTTP server (no internet)."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from data_files import starlink_snapshot_path
from sgp4.exporter import export_omm

from twin.constellation.omm import fetch_elements, read_elements
from twin.constellation.tle import parse_tle_text
from twin.errors import InputError

NOW = datetime(2026, 5, 29, 1, 2, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def server():
    text = "\n".join(starlink_snapshot_path().read_text().splitlines()[:15]) + "\n"
    c = parse_tle_text(text, "snapshot")
    records = [export_omm(s, n) for s, n in zip(c.satrecs, c.names)]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    broken = [dict(r) for r in records]
    del broken[1]["BSTAR"]
    bodies = {
        ("good", "json"): json.dumps(records).encode(),
        ("good", "csv"): table.getvalue().encode(),
        ("bad", "json"): json.dumps(broken).encode(),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = parse_qs(urlparse(self.path).query)
            body = bodies[(query["GROUP"][0], query["FORMAT"][0])]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/gp.php", c
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_omm_download_is_checked_and_kept(server, tmp_path, fmt):
    url, tle = server
    path = fetch_elements("good", tmp_path, fmt=fmt, base_url=url, now=NOW, timeout_s=5)
    assert path == tmp_path / f"good-20260529T010203Z.{fmt}"
    assert list(read_elements(path).norad) == list(tle.norad)


def test_bad_omm_download_writes_nothing(server, tmp_path):
    url, _ = server
    with pytest.raises(InputError, match="missing OMM field"):
        fetch_elements("bad", tmp_path, fmt="json", base_url=url, now=NOW, timeout_s=5)
    assert list(tmp_path.iterdir()) == []
