"""The scenario tests' base text and the helpers that check refused input (problem, file, line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.config.loader import load_scenario
from twin.errors import InputError

REPO = Path(__file__).resolve().parents[2]


SCENARIOS = REPO / "scenarios"


BASE = """\
[run]
name = "t"
start = 2026-05-28T12:00:00Z
duration = "1h"
step = "30s"

[constellation]
kind = "walker"

[[constellation.shells]]
total = 48
planes = 6
phasing = 1
altitude_km = 550
inclination_deg = 53

[[targets]]
name = "t1"
lat_deg = 40.0
lon_deg = 116.0

[[terminals]]
name = "ut1"
lat_deg = 40.1
lon_deg = 116.2

[output]
dir = "out"
"""


def write_scenario(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str) -> list:
    """Problems of a scenario text that must be refused."""
    with pytest.raises(InputError) as info:
        load_scenario(write_scenario(tmp_path, text))
    return info.value.problems


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle` (independent of the locator)."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def one_problem(problems: list, field_path: str):
    """The single problem whose location ends with `field_path`."""
    hits = [p for p in problems if p.where.split(" ", 1)[-1] == field_path]
    assert len(hits) == 1, f"expected one problem at {field_path}, got {[str(p) for p in problems]}"
    return hits[0]


def assert_at(problem, path: Path, line: int | None):
    head = problem.where.split(" ", 1)[0]
    if line is None:
        assert head == str(path), problem
    else:
        assert head == f"{path}:{line}", problem
