"""A scenario's constellation section (duck-typed) as a Constellation: Walker or TLE."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from data_files import starlink_snapshot_path as snapshot_path

from twin.constellation.build import build_constellation

START = datetime(2026, 5, 28, 12, tzinfo=UTC)


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
