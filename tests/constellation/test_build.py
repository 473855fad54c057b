"""A scenario's constellation section (duck-typed) as a Constellation: Walker or TLE."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from twin.constellation.build import build_constellation

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_NAME = "starlink-2026-05-28.tle"
START = datetime(2026, 5, 28, 12, tzinfo=UTC)


def snapshot_path() -> Path:
    for candidate in (
        ROOT / "ephemeris" / SNAPSHOT_NAME,
        ROOT / ".." / "shared" / "data" / "tle" / SNAPSHOT_NAME,
    ):
        if candidate.exists():
            return candidate
    pytest.skip(f"{SNAPSHOT_NAME} not found in ephemeris/ nor ../shared/data/tle/")


def test_build_constellation_from_duck_typed_config(tmp_path):
    walker_cfg = SimpleNamespace(
        kind="walker",
        shells=[
            SimpleNamespace(
                total=6,
                planes=2,
                phasing=1,
                altitude_m=550e3,
                inclination_rad=0.9,
                raan_offset_rad=0.0,
                name="S",
            )
        ],
    )
    assert len(build_constellation(walker_cfg, START)) == 6
    tle_cfg = SimpleNamespace(
        kind="tle", tle_file=snapshot_path(), max_satellites=25, max_epoch_age_s=3 * 86400
    )
    assert len(build_constellation(tle_cfg, START)) == 25
    assert (
        len(
            build_constellation(
                SimpleNamespace(kind="tle", tle_file=snapshot_path(), max_satellites=0), START
            )
        )
        > 10000
    )
    with pytest.raises(ValueError, match="kind"):
        build_constellation(SimpleNamespace(kind="keplerian"), START)
