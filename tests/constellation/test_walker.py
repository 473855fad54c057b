"""Walker-Delta shells: element pattern, mean altitude, refusals, several shells, subsets."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest
from data_files import starlink_snapshot_path as snapshot_path

from twin.constellation.orbits import propagate_itrs, propagate_teme
from twin.constellation.tle import read_tle
from twin.constellation.walker import walker_delta, walker_shells
from twin.geometry import ecef_to_geodetic

START = datetime(2026, 5, 28, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot():
    return read_tle(snapshot_path())


def wrap(angle):
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


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
