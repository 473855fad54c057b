"""Tests of twin.geometry: ENU bases, look angles (vs skyfield), nadir frames,
Earth occlusion (vs brute-force sampling), geocentric nadir point."""

from __future__ import annotations

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load, wgs84
from skyfield.framelib import itrs

from twin.geometry import (
    WGS84_EQUATORIAL_RADIUS_M,
    WGS84_POLAR_RADIUS_M,
    earth_occluded,
    ecef_to_geodetic,
    enu_basis,
    geocentric_nadir_point,
    geodetic_to_ecef,
    ground_enu,
    look_angles,
    nadir_frames,
    visible,
)

# A real Starlink element set (STARLINK-1008 from ../shared/data/tle/starlink-2026-05-28.tle, CelesTrak GP data).
TLE_1 = "1 44714U 19074B   26148.30732936  .00064655  00000+0  12405-2 0  9994"
TLE_2 = "2 44714  53.1527 163.7269 0003005  45.3803 314.7449 15.47405599361135"


@pytest.fixture(scope="module")
def skyfield_scene():
    ts = load.timescale(builtin=True)
    sat = EarthSatellite(TLE_1, TLE_2, "STARLINK-1008", ts)
    times = ts.utc(2026, 5, 28, 12, np.arange(0, 100, 2.5))  # 40 instants over 100 minutes
    sites = [
        (48.85, 2.35, 35.0),
        (-33.9, 151.2, 10.0),
        (0.1, -78.5, 2800.0),
        (64.1, -21.9, 50.0),
        (35.0, 139.0, 0.0),
    ]
    return ts, sat, times, sites


def test_enu_basis_is_orthonormal_right_handed_and_up_is_ellipsoid_normal():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-np.pi / 2, np.pi / 2, 50)
    lon = rng.uniform(-np.pi, np.pi, 50)
    basis = enu_basis(lat, lon)
    assert basis.shape == (50, 3, 3)
    np.testing.assert_allclose(
        basis @ np.swapaxes(basis, -1, -2), np.broadcast_to(np.eye(3), (50, 3, 3)), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(basis), 1.0, atol=1e-12)
    # up = the ellipsoid normal: moving 1 m "up" from a surface point changes only the geodetic height
    p0 = geodetic_to_ecef(lat, lon, 0.0)
    lat1, lon1, alt1 = ecef_to_geodetic(p0 + basis[:, 2, :])
    np.testing.assert_allclose(alt1, 1.0, atol=1e-6)
    np.testing.assert_allclose(lat1, lat, atol=1e-12)
    # north points towards increasing latitude
    lat2, _, _ = ecef_to_geodetic(p0 + 100.0 * basis[:, 1, :])
    assert np.all(lat2 > lat)


def test_look_angles_match_skyfield_altaz(skyfield_scene):
    ts, sat, times, sites = skyfield_scene
    sat_itrs = np.asarray(sat.at(times).frame_xyz(itrs).m).T  # (T, 3)
    ground = np.array([np.asarray(wgs84.latlon(a, b, h).itrs_xyz.m) for a, b, h in sites])  # (G, 3)
    el, az, rng_m = look_angles(ground, sat_itrs)
    assert el.shape == (len(sites), len(sat_itrs))
    for g, (a, b, h) in enumerate(sites):
        topos = wgs84.latlon(a, b, h)
        alt, azi, dist = (sat - topos).at(times).altaz()
        np.testing.assert_allclose(np.degrees(el[g]), alt.degrees, atol=1e-6)
        # azimuth: compare on the circle
        daz = np.angle(np.exp(1j * (np.radians(azi.degrees) - az[g])))
        assert np.max(np.abs(np.degrees(daz))) < 1e-6
        np.testing.assert_allclose(rng_m[g], dist.m, atol=1e-3)


def test_look_angles_time_broadcast_and_cached_bases_agree():
    rng = np.random.default_rng(2)
    ground = geodetic_to_ecef(
        rng.uniform(-1.2, 1.2, 4), rng.uniform(-3, 3, 4), rng.uniform(0, 3000, 4)
    )
    sats = rng.normal(size=(3, 7, 3)) * 7e6
    el, az, r = look_angles(ground, sats)
    assert el.shape == (3, 4, 7)
    enu = ground_enu(ground)
    for t in range(3):
        e2, a2, r2 = look_angles(ground, sats[t], enu=enu)
        np.testing.assert_allclose(e2, el[t], atol=1e-14)
        np.testing.assert_allclose(a2, az[t], atol=1e-14)
        np.testing.assert_allclose(r2, r[t], rtol=1e-14)
    # straight-line range, independently
    np.testing.assert_allclose(
        r[1], np.linalg.norm(sats[1][None, :, :] - ground[:, None, :], axis=-1), rtol=1e-12
    )
    assert np.all((az >= 0) & (az < 2 * np.pi))


def test_look_angles_zenith_and_cardinal_directions():
    lat, lon = np.radians(40.0), np.radians(-105.0)
    ground = geodetic_to_ecef(lat, lon, 0.0)[None, :]
    basis = enu_basis(lat, lon)
    targets = ground[0] + 500e3 * np.stack(
        [basis[2], basis[1], basis[0], -basis[1]]
    )  # up, north, east, south
    el, az, r = look_angles(ground, targets)
    # 1e-7 deg: skyfield's ECEF->geodetic inverse (used for the ENU basis) is good to ~1e-8 deg
    np.testing.assert_allclose(np.degrees(el[0]), [90.0, 0.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(np.degrees(az[0, 1:]), [0.0, 90.0, 180.0], atol=1e-7)
    np.testing.assert_allclose(r[0], 500e3, rtol=1e-12)


def test_visible_uses_the_mask():
    el = np.radians([[-5.0, 9.99, 10.0, 45.0]])
    assert visible(el, np.radians(10.0)).tolist() == [[False, False, True, True]]


def test_look_angles_reject_bad_shapes():
    with pytest.raises(ValueError, match="ground_ecef"):
        look_angles(np.zeros((3, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="enu"):
        look_angles(np.ones((2, 3)) * 6.4e6, np.zeros((4, 3)), enu=np.zeros((3, 3, 3)))


def test_nadir_frames_orthonormal_right_handed_nadir():
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(200, 3))
    pos *= (6.9e6 / np.linalg.norm(pos, axis=1))[:, None]
    vel = rng.normal(size=(200, 3)) * 7.5e3
    f = nadir_frames(pos, vel)
    assert f.shape == (200, 3, 3)
    np.testing.assert_allclose(
        f @ np.swapaxes(f, -1, -2), np.broadcast_to(np.eye(3), (200, 3, 3)), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(f), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        np.sum(f[:, 2] * (-pos / np.linalg.norm(pos, axis=1)[:, None]), axis=1), 1.0, atol=1e-14
    )
    # x is along the velocity's horizontal part: positive projection, no radial part
    assert np.all(np.sum(f[:, 0] * vel, axis=1) > 0)
    np.testing.assert_allclose(np.sum(f[:, 0] * pos, axis=1), 0.0, atol=1e-6)
    # body components of the velocity: (|v_h|, 0, v_radial_down)
    body = np.einsum("sij,sj->si", f, vel)
    np.testing.assert_allclose(body[:, 1], 0.0, atol=1e-9)
    with pytest.raises(ValueError, match="parallel"):
        nadir_frames(pos[:1], pos[:1])


def _brute_occluded(a, b, radius, n=20001):
    t = np.linspace(0.0, 1.0, n)
    pts = a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]
    return np.min(np.linalg.norm(pts, axis=-1), axis=1)


def test_earth_occluded_matches_brute_force_sampling():
    rng = np.random.default_rng(4)
    n = 400

    def rand_pts():
        d = rng.normal(size=(n, 3))
        return d / np.linalg.norm(d, axis=1)[:, None] * rng.uniform(6.5e6, 8e6, n)[:, None]

    a, b = rand_pts(), rand_pts()
    radius = WGS84_EQUATORIAL_RADIUS_M + 80e3
    got = earth_occluded(a, b, radius)
    dmin = _brute_occluded(a, b, radius)
    seg = np.linalg.norm(b - a, axis=1)
    # sampling resolves the minimum to ~ (seg/n)^2 / (8 r); skip only cases closer than that to the sphere
    clear = np.abs(dmin - radius) > (seg / 20000) ** 2 / radius + 1e-3
    assert clear.sum() > 0.95 * n
    assert got.sum() > 20 and (~got).sum() > 20  # both outcomes exercised
    np.testing.assert_array_equal(got[clear], (dmin < radius)[clear])


def test_earth_occluded_uses_the_segment_not_the_line():
    r = 7e6
    a = np.array([r, 0.0, 0.0])
    b = np.array([r, 1e6, 0.0])  # the infinite line passes r from the centre, the segment too
    far = np.array([r, -3e6, 0.0])
    # both ends on the same side: closest point of the line (r, 0, 0) is an endpoint, clear
    assert not earth_occluded(a, b, 6.9e6)
    # segment beyond the Earth, line through it: points (r, 1e6) -> (2r, 1e6) don't cross
    p = np.array([7e6, 1e6, 0.0])
    q = np.array([14e6, 1e6, 0.0])
    assert not earth_occluded(p, q, 6.9e6)
    assert earth_occluded(np.array([-7e6, 0.0, 0.0]), np.array([7e6, 1.0, 0.0]), 6.9e6)
    assert earth_occluded(a, far, 6.99e6) == (
        r < 6.99e6
    )  # closest point (r, 0, 0) inside the segment


def test_geocentric_nadir_point_on_ellipsoid_and_on_nadir_axis():
    rng = np.random.default_rng(5)
    pos = rng.normal(size=(30, 3))
    pos *= (6.93e6 / np.linalg.norm(pos, axis=1))[:, None]
    p = geocentric_nadir_point(pos)
    _, _, h = ecef_to_geodetic(p)
    np.testing.assert_allclose(h, 0.0, atol=1e-4)
    np.testing.assert_allclose(np.cross(p, pos), 0.0, atol=1e-3 * 7e6)
    assert np.all(np.sum(p * pos, axis=1) > 0)
    assert np.all(np.linalg.norm(p, axis=1) <= WGS84_EQUATORIAL_RADIUS_M + 1e-6)
    assert np.all(np.linalg.norm(p, axis=1) >= WGS84_POLAR_RADIUS_M - 1e-6)


def test_look_angles_empty_inputs():
    el, az, r = look_angles(np.zeros((0, 3)), np.ones((5, 3)) * 7e6)
    assert el.shape == az.shape == r.shape == (0, 5)
    el, _, _ = look_angles(np.ones((2, 3)) * 6.4e6, np.zeros((3, 0, 3)))
    assert el.shape == (3, 2, 0)


def test_geocentric_and_geodetic_subsatellite_points_differ_by_under_2_km_at_550_km():
    lat = np.radians(np.linspace(-89.0, 89.0, 179))
    sat = geodetic_to_ecef(lat, np.zeros_like(lat), 550e3)
    glat, glon, _ = ecef_to_geodetic(sat)
    geodetic_foot = geodetic_to_ecef(glat, glon, 0.0)
    d = np.linalg.norm(geocentric_nadir_point(sat) - geodetic_foot, axis=1)
    assert d.max() < 2.0e3 and d.max() > 1.5e3  # about H * 0.19 deg at mid latitudes
    assert d[np.argmin(np.abs(lat))] < 1.0
