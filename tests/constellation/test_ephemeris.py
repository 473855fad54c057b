"""Ephemeris export: columns, dtypes, values, refusals, from a TLE file or a scenario."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_files import starlink_snapshot_path as snapshot_path

from twin.constellation.ephemeris import export_ephemeris
from twin.constellation.orbits import propagate_itrs
from twin.constellation.tle import read_tle
from twin.errors import InputError
from twin.geometry import ecef_to_geodetic

START = datetime(2026, 5, 28, 12, tzinfo=UTC)


def _small_tle(tmp_path, n=5) -> Path:
    lines = snapshot_path().read_text().splitlines()[: 3 * n]
    path = tmp_path / "small.tle"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_export_ephemeris_columns_dtypes_and_round_trip(tmp_path):
    src = _small_tle(tmp_path)
    out = tmp_path / "sub" / "eph.parquet"
    frame = export_ephemeris(src, START, 600.0, 60.0, out)
    assert list(frame.columns) == [
        "time",
        "sat",
        "norad",
        "x_m",
        "y_m",
        "z_m",
        "lat_deg",
        "lon_deg",
        "alt_m",
    ]
    assert len(frame) == 11 * 5  # 0..600 s inclusive, 5 satellites
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, frame)
    assert str(back["time"].dtype) == "datetime64[ns, UTC]" and back["norad"].dtype == np.int64
    assert all(
        back[c].dtype == np.float64 for c in ["x_m", "y_m", "z_m", "lat_deg", "lon_deg", "alt_m"]
    )
    assert back["time"].iloc[0] == pd.Timestamp("2026-05-28T12:00Z") and back["time"].iloc[
        -1
    ] == pd.Timestamp("2026-05-28T12:10Z")
    assert back["sat"].iloc[0] == "STARLINK-1008" and back["norad"].iloc[0] == 44714
    # values: the same ITRS states and geodetic coordinates computed directly
    c = read_tle(src)
    pos, _, _ = propagate_itrs(c, [START + timedelta(seconds=300)])
    row = back[(back["time"] == pd.Timestamp("2026-05-28T12:05Z")) & (back["norad"] == c.norad[2])]
    np.testing.assert_allclose(row[["x_m", "y_m", "z_m"]].to_numpy()[0], pos[0, 2], atol=1e-6)
    lat, lon, alt = ecef_to_geodetic(pos[0, 2])
    np.testing.assert_allclose(
        row[["lat_deg", "lon_deg", "alt_m"]].to_numpy()[0],
        [math.degrees(lat), math.degrees(lon), alt],
        atol=1e-9,
    )
    assert ((back["alt_m"] > 300e3) & (back["alt_m"] < 700e3)).all()
    assert [p.name for p in out.parent.iterdir()] == ["eph.parquet"]  # no temporary file left


def test_export_ephemeris_refuses_bad_input_and_keeps_old_file(tmp_path):
    src = _small_tle(tmp_path)
    out = tmp_path / "eph.parquet"
    out.write_bytes(b"old")
    text = src.read_text().splitlines()
    text[1] = text[1][:68] + str((int(text[1][68]) + 1) % 10)
    src.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"small.tle:2: checksum"):
        export_ephemeris(src, START, 600.0, 60.0, out)
    with pytest.raises(ValueError, match="step_s"):
        export_ephemeris(_small_tle(tmp_path), START, 600.0, 0.0, out)
    assert out.read_bytes() == b"old"


def test_export_ephemeris_from_a_scenario_file(tmp_path):
    toml = tmp_path / "walker.toml"
    toml.write_text(
        '[run]\nname = "w"\nstart = 2026-05-28T12:00:00Z\nduration = "2m"\nstep = "60s"\n\n'
        '[constellation]\nkind = "walker"\n\n[[constellation.shells]]\nname = "w"\ntotal = 12\nplanes = 3\n'
        "phasing = 1\naltitude_km = 550\ninclination_deg = 53\n"
    )
    frame = export_ephemeris(toml, START, 120.0, 60.0, tmp_path / "w.parquet")
    assert len(frame) == 3 * 12 and frame["norad"].nunique() == 12
    np.testing.assert_allclose(frame["alt_m"].mean(), 550e3, atol=15e3)
