"""Propagation vs skyfield (positions, velocities, the ITRS rotation-rate term)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load
from skyfield.framelib import itrs

from twin.constellation.orbits import propagate_itrs, propagate_teme
from twin.constellation.tle import read_tle

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


@pytest.fixture(scope="module")
def snapshot():
    return read_tle(snapshot_path())


# ------------------------------------------------------------------ agreement with skyfield


def test_itrs_matches_skyfield_for_a_sample_over_two_hours(snapshot):
    sample = snapshot.subset(np.arange(0, len(snapshot), 35))  # 296 satellites across all shells
    dts = [START + timedelta(seconds=60 * k) for k in range(121)]  # 2 h at 60 s
    pos, vel, err = propagate_itrs(sample, dts)
    assert pos.shape == vel.shape == (121, len(sample), 3) and err.shape == (121, len(sample))
    assert not err.any()
    ts = load.timescale(builtin=True)
    t = ts.from_datetimes(dts)  # skyfield's own time path, independent of ours
    dpos = np.empty(len(sample))
    dvel = np.empty(len(sample))
    for i, sat in enumerate(sample.satrecs):
        p, v = EarthSatellite.from_satrec(sat, ts).at(t).frame_xyz_and_velocity(itrs)
        dpos[i] = np.abs(p.m.T - pos[:, i]).max()
        dvel[i] = np.abs(v.m_per_s.T - vel[:, i]).max()
    # Same SGP4 and the same skyfield rotations: the differences are rounding
    # (measured: 2e-7 m, 2e-10 m/s). 1 m is the requirement; 1 mm/s is the
    # velocity an error of 1 m / 7.6 km/s = 130 us in time would make (8 m/s^2 x 130 us).
    assert dpos.max() < 1.0
    assert dvel.max() < 1e-3
    # and the states are real LEO states, not zeros
    assert 6.6e6 < np.linalg.norm(pos, axis=-1).min() and np.linalg.norm(vel, axis=-1).max() < 8e3


def test_teme_matches_single_satrec_calls(snapshot):
    sample = snapshot.subset([0, 1000, 5000, 10000])
    times = np.datetime64("2026-05-28T12:00") + np.arange(0, 3600, 300).astype("timedelta64[s]")
    r, v, err = propagate_teme(sample, times)
    assert r.shape == (12, 4, 3) and err.dtype == np.uint8
    for s, sat in enumerate(sample.satrecs):
        for k, t in enumerate(times):
            seconds = (t - np.datetime64("2026-05-28T00:00")).astype("timedelta64[ns]").astype(
                float
            ) / 1e9
            e, rr, vv = sat.sgp4(2461188.5, seconds / 86400.0)  # JD of 2026-05-28 00:00 UTC
            assert e == 0
            np.testing.assert_allclose(r[k, s], np.array(rr) * 1e3, atol=1e-3)
            np.testing.assert_allclose(v[k, s], np.array(vv) * 1e3, atol=1e-6)


def test_itrs_velocity_is_the_time_derivative_of_position(snapshot):
    sample = snapshot.subset(np.arange(0, len(snapshot), 500))
    h = 0.5
    t0 = np.datetime64("2026-05-28T12:00:00")
    times = t0 + (np.array([-h, 0.0, h]) * 1e9).astype("timedelta64[ns]")
    pos, vel, _ = propagate_itrs(sample, times)
    r, v, _ = propagate_teme(sample, times)
    err_itrs = np.linalg.norm((pos[2] - pos[0]) / (2 * h) - vel[1], axis=1)
    err_teme = np.linalg.norm((r[2] - r[0]) / (2 * h) - v[1], axis=1)
    # SGP4's own velocity differs from d/dt of its position by up to ~0.13 m/s
    # (measured, TEME). The frame change must add nothing beyond rounding and
    # the neglected precession/nutation rates (< 1 mm/s); without the
    # Earth-rotation term the ITRS error would be ~500 m/s.
    assert err_teme.max() < 0.5
    np.testing.assert_allclose(err_itrs, err_teme, atol=1e-3)


@pytest.mark.slow
def test_full_snapshot_matches_skyfield():
    """Every satellite of the snapshot, 2 h at 60 s (the script prints the same numbers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "full_check", ROOT / "tests" / "bench" / "full_snapshot_skyfield_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.compare(snapshot_path())
    assert result["satellites"] == 10347 and result["epochs"] == 121 and result["sgp4_errors"] == 0
    assert result["max_position_error_m"] < 1.0 and result["max_velocity_error_mps"] < 1e-3
