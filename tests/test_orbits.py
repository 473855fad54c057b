"""Propagation vs skyfield, Walker-Delta geometry, constellation glue, ephemeris export."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from skyfield.api import EarthSatellite, load
from skyfield.framelib import itrs

from twin.constellation.orbits import (
    build_constellation,
    export_ephemeris,
    propagate_itrs,
    propagate_teme,
    read_tle,
    walker_delta,
    walker_shells,
)
from twin.errors import InputError
from twin.geometry import ecef_to_geodetic

ROOT = Path(__file__).resolve().parents[1]
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


def wrap(angle):
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


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


# ------------------------------------------------------------------ Walker Delta


@pytest.mark.parametrize(
    "total, planes, phasing, altitude_m, inclination_deg",
    [(1584, 72, 39, 550e3, 53.0), (120, 12, 5, 1200e3, 87.9), (40, 8, 3, 550e3, 97.6)],
)
def test_walker_geometry(total, planes, phasing, altitude_m, inclination_deg):
    raan0 = 0.3
    c = walker_delta(
        total,
        planes,
        phasing,
        altitude_m,
        math.radians(inclination_deg),
        epoch=START,
        raan_offset_rad=raan0,
    )
    per_plane = total // planes
    assert len(c) == total == len(set(c.norad.tolist())) == len(set(c.names))
    assert np.bincount(c.plane).tolist() == [per_plane] * planes and c.slot.max() == per_plane - 1
    assert (c.shell == 0).all() and c.source == "walker" and c.tle_lines is None
    assert (c.epochs == np.datetime64("2026-05-28T12:00")).all()

    # SGP4 mean elements: exact pattern
    node = np.array([s.nodeo for s in c.satrecs])
    anomaly = np.array([s.mo + s.argpo for s in c.satrecs])
    np.testing.assert_allclose(wrap(node - (raan0 + 2 * np.pi * c.plane / planes)), 0, atol=1e-12)
    np.testing.assert_allclose(
        wrap(anomaly - (2 * np.pi * c.slot / per_plane + 2 * np.pi * phasing * c.plane / total)),
        0,
        atol=1e-12,
    )

    # Propagated (osculating) states at the epoch: the orbit normal gives RAAN
    # and inclination, the position the argument of latitude. Osculating minus
    # mean differs by J2 short-period terms (measured <= 2.2e-3 rad), so 5e-3.
    r, v, err = propagate_teme(c, [START])
    assert not err.any()
    hvec = np.cross(r[0], v[0])
    raan = np.arctan2(hvec[:, 0], -hvec[:, 1])
    inc = np.arccos(hvec[:, 2] / np.linalg.norm(hvec, axis=1))
    u = np.arctan2(r[0, :, 2] / np.sin(inc), r[0, :, 0] * np.cos(raan) + r[0, :, 1] * np.sin(raan))
    np.testing.assert_allclose(inc, math.radians(inclination_deg), atol=1e-3)
    by_plane = raan.reshape(planes, per_plane)
    np.testing.assert_allclose(
        wrap(np.diff(by_plane[:, 0])), 2 * np.pi / planes, atol=5e-3
    )  # RAAN spacing
    grid = u.reshape(planes, per_plane)
    np.testing.assert_allclose(
        wrap(np.diff(grid, axis=1)), 2 * np.pi / per_plane, atol=5e-3
    )  # in-plane spacing
    np.testing.assert_allclose(
        wrap(grid[1:, 0] - grid[:-1, 0]), 2 * np.pi * phasing / total, atol=5e-3
    )  # phase offset


def test_walker_mean_altitude_over_one_orbit():
    inc = math.radians(53.0)
    c = walker_delta(1584, 72, 39, 550e3, inc, epoch=START)
    sample = c.subset(np.arange(0, len(c), 16))
    period_s = 2 * np.pi / c.satrecs[0].no_kozai * 60.0
    times = np.datetime64("2026-05-28T12:00") + (np.arange(720) * period_s / 720 * 1e9).astype(
        "timedelta64[ns]"
    )
    pos, _, err = propagate_itrs(sample, times)
    assert not err.any()
    alt = ecef_to_geodetic(pos)[2]
    # measured: max |mean - 550 km| = 9.8 m over the 99 satellites; the altitude
    # itself swings ~18 km around an orbit (ellipsoid + J2), so 30 m is tight.
    assert np.abs(alt.mean(axis=0) - 550e3).max() < 30.0
    assert 10e3 < (alt.max(axis=0) - alt.min(axis=0)).min()
    # the "equatorial" convention puts the mean |r| - R_eq at the altitude instead
    eq = walker_delta(12, 3, 1, 550e3, inc, epoch=START, altitude_reference="equatorial")
    pos_eq, _, _ = propagate_itrs(eq, times)
    np.testing.assert_allclose(
        np.linalg.norm(pos_eq, axis=-1).mean(axis=0) - 6378137.0, 550e3, atol=30.0
    )


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(total=100, planes=7, phasing=1), "multiple of planes"),
        (dict(total=12, planes=3, phasing=3), "phasing"),
        (dict(total=12, planes=3, phasing=-1), "phasing"),
        (dict(total=12, planes=3, phasing=1, altitude_m=100e3), "altitude_m"),
        (dict(total=12, planes=3, phasing=1, altitude_m=41_000e3), "altitude_m"),
        (dict(total=12, planes=3, phasing=1, inclination_rad=4.0), "inclination_rad"),
        (dict(total=0, planes=1, phasing=0), "total"),
        (dict(total=12, planes=3.5, phasing=0), "planes"),
    ],
)
def test_walker_refuses_impossible_parameters(kwargs, word):
    args = dict(altitude_m=550e3, inclination_rad=0.9) | kwargs
    with pytest.raises(ValueError, match=word):
        walker_delta(
            args.pop("total"),
            args.pop("planes"),
            args.pop("phasing"),
            args.pop("altitude_m"),
            args.pop("inclination_rad"),
            epoch=START,
        )


def test_walker_shells_concatenate_with_distinct_ids():
    shells = [
        dict(total=12, planes=3, phasing=1, altitude_m=550e3, inclination_rad=0.9, name="A"),
        SimpleNamespace(
            total=8,
            planes=2,
            phasing=0,
            altitude_m=1200e3,
            inclination_rad=1.5,
            raan_offset_rad=0.1,
            name="B",
        ),
    ]
    c = walker_shells(shells, START)
    assert len(c) == 20 and c.shell.tolist() == [0] * 12 + [1] * 8
    assert (
        c.norad.tolist() == list(range(90000, 90020))
        and c.names[0] == "A-00-00"
        and c.names[12] == "B-00-00"
    )
    assert c.plane[12:].tolist() == [0] * 4 + [1] * 4 and c.satrecs[12].nodeo == pytest.approx(0.1)
    r, _, _ = propagate_teme(c, [START])
    radius = np.linalg.norm(r[0], axis=1)
    assert radius[:12].max() < radius[12:].min()  # the 1200 km shell is higher
    with pytest.raises(ValueError, match=r"shells\[1\].*phasing"):
        walker_shells([shells[0], dict(shells[0], phasing=5)], START)


def test_subset_keeps_every_per_satellite_field(snapshot):
    c = walker_delta(12, 3, 1, 550e3, 0.9, epoch=START)
    sub = c.subset(np.array([False, True] * 6))
    assert sub.names == c.names[1::2] and sub.plane.tolist() == c.plane[1::2].tolist()
    r_all, _, _ = propagate_teme(c, [START])
    r_sub, _, _ = propagate_teme(sub, [START])
    np.testing.assert_array_equal(r_sub[0], r_all[0, 1::2])
    t = snapshot.subset([3, 1])
    assert t.tle_lines == [snapshot.tle_lines[3], snapshot.tle_lines[1]] and t.shell is None


# ------------------------------------------------------------------ scenario glue and export


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
    scenario_mod = pytest.importorskip(
        "twin.config.loader", reason="twin.config.loader (another engineer's module) not importable"
    )
    toml = tmp_path / "walker.toml"
    toml.write_text(
        '[run]\nname = "w"\nstart = 2026-05-28T12:00:00Z\nduration = "2m"\nstep = "60s"\n\n'
        '[constellation]\nkind = "walker"\n\n[[constellation.shells]]\nname = "w"\ntotal = 12\nplanes = 3\n'
        "phasing = 1\naltitude_km = 550\ninclination_deg = 53\n"
    )
    try:
        scenario_mod.load_scenario(toml)
    except InputError as exc:  # the schema may require other sections; that is not ours to test
        pytest.skip(f"minimal scenario not accepted by twin.config.loader: {exc}")
    frame = export_ephemeris(toml, START, 120.0, 60.0, tmp_path / "w.parquet")
    assert len(frame) == 3 * 12 and frame["norad"].nunique() == 12
    np.testing.assert_allclose(frame["alt_m"].mean(), 550e3, atol=15e3)


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
