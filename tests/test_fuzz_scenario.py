"""Fuzzing the scenario loader (hypothesis): random corruptions of the shipped
scenario files either raise an InputError whose problems name the file, the
line and the field, or give a scenario that `twin.runner.prepare` accepts.
Never another exception.

Examples per test: TWIN_FUZZ_EXAMPLES (environment variable; default small
enough for the default suite), e.g.::

    TWIN_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_scenario.py -q --hypothesis-show-statistics
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from twin.config.loader import load_scenario
from twin.config.schema import MAX_EPOCHS
from twin.errors import InputError
from twin.runner import prepare

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
#: Shipped scenario files (sweep files, which have no [run] table, are not scenarios).
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.toml") if "\n[run]" in "\n" + p.read_text())
FUZZ_EXAMPLES = int(os.environ.get("TWIN_FUZZ_EXAMPLES", "0"))


def fuzz_settings(default: int):
    """max_examples = TWIN_FUZZ_EXAMPLES or `default`; derandomized (reproducible) unless the variable is set."""
    return settings(
        max_examples=FUZZ_EXAMPLES or default,
        deadline=None,
        derandomize=not FUZZ_EXAMPLES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def shrunk(name: str) -> str:
    """The shipped text with TLE scenarios cut to 20 satellites, so that prepare
    stays cheap (the corruptions are applied to this text)."""
    text = (SCENARIOS / name).read_text()
    return re.sub(r"(?m)^max_satellites = [0-9]+", "max_satellites = 20", text)


# ------------------------------------------------------------------ corruptions

VALUES = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "7",
        "999999999999",
        "-999999999999",
        "1e308",
        "-0.0",
        "3.5",
        "nan",
        "inf",
        "-inf",
        "true",
        "false",
        '""',
        '" "',
        '"x"',
        '"walker"',
        '"tle"',
        '"II"',
        '"IV"',
        '"1e9d"',
        '"0s"',
        '"-5m"',
        '"99999d"',
        '"2h"',
        '"1d"',
        "[]",
        "[1, 2]",
        '["epochs", "bogus"]',
        "{}",
        "{ a = 1 }",
        "2026-05-28T12:00:00Z",
        "2026-05-28",
        "12:00:00",
        "1979-05-27T07:32:00-08:00",
        '"../nowhere.tle"',
        '"munich-ring.csv"',
        "[[1]]",
        '"\\u00e9"',
        "0x10",
        "1_000",
    ]
)
KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.\"-]+)(\s*=\s*)(.*)$")


def corrupt(data, text: str) -> str:
    """One random corruption of a TOML text."""
    lines = text.split("\n")
    kind = data.draw(
        st.sampled_from(
            [
                "delete_line",
                "duplicate_line",
                "swap_lines",
                "value",
                "value",
                "value",
                "unknown_key",
                "rename_key",
                "random_bytes",
                "truncate",
                "unicode",
                "delete_header",
            ]
        )
    )
    k = data.draw(st.integers(0, len(lines) - 1))
    keyed = [
        i
        for i, line in enumerate(lines)
        if KEY_LINE.match(line) and not line.lstrip().startswith("#")
    ]
    if kind == "delete_line":
        del lines[k]
    elif kind == "duplicate_line":
        lines.insert(k, lines[k])
    elif kind == "swap_lines":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[k], lines[j] = lines[j], lines[k]
    elif kind == "value" and keyed:
        i = data.draw(st.sampled_from(keyed))
        m = KEY_LINE.match(lines[i])
        lines[i] = m[1] + m[2] + m[3] + data.draw(VALUES)
    elif kind == "unknown_key":
        lines.insert(
            k,
            data.draw(
                st.sampled_from(
                    ["bogus = 1", "altitud_km = 550", "enabled = true", "[extra]", "[[targets]]"]
                )
            ),
        )
    elif kind == "rename_key" and keyed:
        i = data.draw(st.sampled_from(keyed))
        m = KEY_LINE.match(lines[i])
        lines[i] = m[1] + m[2][:-1] + m[3] + m[4]
    elif kind == "random_bytes":
        raw = "\n".join(lines).encode("utf-8", "surrogateescape")
        at = data.draw(st.integers(0, len(raw)))
        return (raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]).decode(
            "utf-8", "surrogateescape"
        )
    elif kind == "truncate":
        at = data.draw(st.integers(0, len(text)))
        return text[:at]
    elif kind == "unicode":
        at = data.draw(st.integers(0, len(text)))
        return text[:at] + data.draw(st.text(min_size=1, max_size=4)) + text[at:]
    elif kind == "delete_header":
        headers = [i for i, line in enumerate(lines) if line.startswith("[")]
        if headers:
            del lines[data.draw(st.sampled_from(headers))]
    return "\n".join(lines)


def workspace(tmp: Path) -> Path:
    """A copy of the repository layout the shipped scenarios point at:
    tmp/scenarios/ (with munich-ring.csv) and tmp/ephemeris -> the real folder."""
    (tmp / "scenarios").mkdir()
    for extra in SCENARIOS.glob("*.csv"):
        shutil.copy(extra, tmp / "scenarios" / extra.name)
    (tmp / "ephemeris").symlink_to(ROOT / "ephemeris")
    return tmp / "scenarios" / "fuzz.toml"


LOCATED = re.compile(r"^(?P<file>.+?)(?::(?P<line>[0-9]+))?(?: (?P<field>\S+))?$")


def assert_located(err: InputError, path: Path, n_lines: int) -> None:
    """Every problem names the file; a line 1..n_lines when it has one; the field
    unless it is a file-level problem (syntax error, encoding); a readable reason."""
    assert err.problems
    for p in err.problems:
        m = LOCATED.match(p.where)
        assert m and m["file"] == str(path), p
        file_level = p.reason.startswith(("TOML syntax error", "not UTF-8", "a scenario must be"))
        if file_level:
            assert m["line"] is not None or p.reason.startswith(
                ("not UTF-8", "a scenario must be")
            ), p
        else:
            assert m["field"], f"no field named: {p}"
            if m["line"] is None:  # only a whole missing top-level table has no line
                assert "." not in m["field"] and "[" not in m["field"] and "missing" in p.reason, p
        if m["line"] is not None:
            assert 1 <= int(m["line"]) <= max(n_lines, 1), p
        assert p.reason and len(p.reason) < 1000


def load_or_refuse(text: str, *, run_prepare: bool):
    with tempfile.TemporaryDirectory() as tmp:
        path = workspace(Path(tmp))
        raw = text.encode("utf-8", "surrogateescape")
        path.write_bytes(raw)
        n_lines = raw.count(b"\n") + 1
        try:
            scenario = load_scenario(path)
        except InputError as err:
            assert_located(err, path, n_lines)
            return "refused"
        if not run_prepare:
            return "loaded"
        try:
            prepare(path)
        except (
            InputError
        ) as err:  # run-time checks (e.g. SGP4 over a longer run): file:line of the TLE
            assert all(p.where.startswith(str(Path(tmp) / "ephemeris")) for p in err.problems), (
                err.problems
            )
            return "refused by prepare"
        assert scenario.run.n_epochs <= MAX_EPOCHS
        return "prepared"


@fuzz_settings(150)
@given(name=st.sampled_from(SHIPPED), data=st.data())
def test_fuzz_scenario_loader_refuses_with_file_line_field(name, data):
    text = shrunk(name)
    for _ in range(data.draw(st.integers(1, 3))):
        text = corrupt(data, text)
    event(load_or_refuse(text, run_prepare=False))


@fuzz_settings(12)
@given(
    name=st.sampled_from(
        [n for n in SHIPPED if n not in ("starlink-replay.toml", "week-load.toml")]
    ),
    data=st.data(),
)
def test_fuzz_scenario_loaded_is_accepted_by_prepare(name, data):
    text = corrupt(data, shrunk(name))
    event(load_or_refuse(text, run_prepare=True))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load(name):
    assert load_or_refuse(shrunk(name), run_prepare=False) == "loaded"


def test_regressions_found_by_the_fuzzer():
    """Corruptions that were not refused with a located InputError before the fixes."""
    base = shrunk("default.toml")
    cases = {
        # 10^12 epochs: accepted by the schema, then prepare tried to list every epoch time
        "too_many_epochs": base.replace('duration = "1h"', 'duration = "99999999d"').replace(
            'step = "30s"', 'step = "1s"'
        ),
    }
    for label, text in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = workspace(Path(tmp))
            path.write_text(text)
            with pytest.raises(InputError) as info:
                load_scenario(path)
            assert_located(info.value, path, text.count("\n") + 1)
            assert "epochs" in str(info.value), (label, info.value.problems)


@pytest.mark.parametrize("breaker", ["\x85", "\u2028", "\u2029"])
def test_line_numbers_count_newlines_only(tmp_path, breaker):
    """Regression: a NEL / LINE or PARAGRAPH SEPARATOR in a comment made the
    locator (str.splitlines) put every later problem one line too low, and a
    truncated file's "end of file" line past the end."""
    base = shrunk("default.toml")
    lines = base.split("\n")
    first_comment = next(i for i, line in enumerate(lines) if line.startswith("#"))
    lines[first_comment] += f" x{breaker}y"
    target = next(i for i, line in enumerate(lines) if line.startswith("lat_deg = 40.0"))
    lines[target] = "lat_deg = 95.0"
    path = workspace(tmp_path)
    path.write_text("\n".join(lines))
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [p.where for p in info.value.problems] == [f"{path}:{target + 1} targets[0].lat_deg"]
    cut = "\n".join(lines[: target + 1]) + "\n[run"  # unterminated header on the last line
    path.write_text(cut)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [p.where for p in info.value.problems] == [f"{path}:{target + 2}"]
    assert "TOML syntax error" in info.value.problems[0].reason
