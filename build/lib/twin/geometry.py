"""Earth-fixed (ITRS/ECEF) geometry: geodetic conversions, local frames, look
angles, visibility, satellite nadir frames and Earth occlusion of a segment.

Positions are Earth-fixed metres with the xyz axis last: shape (..., 3).
Geodetic conversions use skyfield's WGS84 model (no hand-written ellipsoid
iteration). Angles are radians, distances metres.

Caching for a clock: ground entities that do not move keep their ENU bases;
compute them once with :func:`ground_enu` and pass ``enu=`` to
:func:`look_angles` every epoch.
"""

from __future__ import annotations

import numpy as np
from skyfield.api import wgs84
from skyfield.framelib import itrs
from skyfield.units import Distance

#: WGS84 equatorial radius (m); the sphere used by :func:`earth_occluded` callers.
WGS84_EQUATORIAL_RADIUS_M = 6378137.0
#: WGS84 flattening f = 1/298.257223563 (skyfield's ``wgs84.inverse_flattening``).
WGS84_FLATTENING = 1.0 / 298.257223563
#: WGS84 first eccentricity squared e² = f (2 - f).
WGS84_E2 = WGS84_FLATTENING * (2.0 - WGS84_FLATTENING)
#: Default atmosphere margin (m) added to the Earth radius for inter-satellite links.
DEFAULT_ATMOSPHERE_MARGIN_M = 80e3


class _EarthFixedPoint:
    """Adapter that lets skyfield's geoid read plain ITRS coordinates."""

    center = 399

    def __init__(self, xyz_m):
        self._distance = Distance(m=xyz_m)

    def frame_xyz(self, frame):
        if frame is not itrs:
            raise ValueError("only the ITRS frame is available for plain Earth-fixed points")
        return self._distance


def ecef_to_geodetic(pos_m):
    """WGS84 geodetic coordinates of Earth-fixed points.

    pos_m: (..., 3) ITRS metres. Returns (lat_rad, lon_rad, alt_m), each (...).
    """
    pos = np.asarray(pos_m, dtype=float)
    flat = pos.reshape(-1, 3).T
    geo = wgs84.geographic_position_of(_EarthFixedPoint(flat))
    shape = pos.shape[:-1]
    return (
        np.asarray(geo.latitude.radians).reshape(shape),
        np.asarray(geo.longitude.radians).reshape(shape),
        np.asarray(geo.elevation.m).reshape(shape),
    )


def geodetic_to_ecef(lat_rad, lon_rad, alt_m):
    """Earth-fixed metres (..., 3) of WGS84 geodetic coordinates (radians, metres)."""
    lat, lon, alt = np.broadcast_arrays(
        np.asarray(lat_rad, dtype=float),
        np.asarray(lon_rad, dtype=float),
        np.asarray(alt_m, dtype=float),
    )
    shape = lat.shape
    pos = wgs84.latlon(np.degrees(lat.ravel()), np.degrees(lon.ravel()), alt.ravel()).itrs_xyz.m
    return np.asarray(pos).T.reshape(shape + (3,))


def _check_xyz(name, array):
    arr = np.asarray(array, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3) (Earth-fixed metres), got {arr.shape}")
    return arr


def enu_basis(lat_rad, lon_rad):
    """Local east-north-up bases in ECEF for geodetic latitude/longitude.

    lat_rad, lon_rad: (...) radians (broadcast together; geodetic latitude, so
    "up" is the WGS84 ellipsoid normal). Returns (..., 3, 3) whose rows are the
    east, north and up unit vectors expressed in ECEF, so ``basis @ d_ecef``
    gives (east, north, up) components of an ECEF vector ``d_ecef``.
    """
    lat, lon = np.broadcast_arrays(
        np.asarray(lat_rad, dtype=float), np.asarray(lon_rad, dtype=float)
    )
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return np.stack([east, north, up], axis=-2)


def ground_enu(ground_ecef):
    """ENU bases (G, 3, 3) of Earth-fixed ground points (G, 3) metres.

    Geodetic (WGS84) up via :func:`ecef_to_geodetic`. Compute once for static
    ground entities and pass to :func:`look_angles` as ``enu=``.
    """
    ground = _check_xyz("ground_ecef", ground_ecef)
    lat, lon, _ = ecef_to_geodetic(ground)
    return enu_basis(lat, lon)


def look_angles(ground_ecef, sat_ecef, *, enu=None):
    """Elevation, azimuth and range of satellites seen from ground points.

    ground_ecef: (G, 3) Earth-fixed metres.
    sat_ecef: (S, 3) or (T, S, 3) Earth-fixed metres.
    enu: optional (G, 3, 3) ENU bases of the ground points (from
    :func:`ground_enu`); computed from the WGS84 geodetic latitude/longitude
    when omitted.

    Returns (elevation_rad, azimuth_rad, range_m), each (G, S) or (T, G, S).
    Elevation is measured from the local horizontal plane (normal = geodetic
    up) in [-pi/2, pi/2]; azimuth clockwise from north through east in
    [0, 2 pi); range is the straight-line distance in metres.

    One BLAS matrix product per call: the satellite positions are projected on
    the 3G basis vectors and the ground points' own projections subtracted.
    """
    ground = _check_xyz("ground_ecef", ground_ecef)
    if ground.ndim != 2:
        raise ValueError(f"ground_ecef must have shape (G, 3), got {ground.shape}")
    sats = _check_xyz("sat_ecef", sat_ecef)
    if sats.ndim not in (2, 3):
        raise ValueError(f"sat_ecef must have shape (S, 3) or (T, S, 3), got {sats.shape}")
    g = ground.shape[0]
    lead = sats.shape[:-1]  # (S,) or (T, S)
    if g == 0 or sats.size == 0:
        out_shape = (g,) + lead if len(lead) == 1 else (lead[0], g, lead[1])
        return np.zeros(out_shape), np.zeros(out_shape), np.zeros(out_shape)
    basis = ground_enu(ground) if enu is None else np.asarray(enu, dtype=float)
    if basis.shape != (g, 3, 3):
        raise ValueError(f"enu must have shape ({g}, 3, 3) to match ground_ecef, got {basis.shape}")
    flat = sats.reshape(-1, 3)
    rows = basis.reshape(3 * g, 3)
    local = (rows @ flat.T).reshape(g, 3, -1)  # (G, 3, N)
    local -= np.einsum("gij,gj->gi", basis, ground)[:, :, None]
    east, north, up = local[:, 0], local[:, 1], local[:, 2]  # (G, N)
    horiz2 = (
        east * east + north * north
    )  # (np.hypot is several times slower; no overflow risk at metres)
    range_m = np.sqrt(horiz2 + up * up)
    elevation = np.arctan2(up, np.sqrt(horiz2))
    azimuth = np.arctan2(east, north)  # (-pi, pi]
    azimuth += np.where(azimuth < 0.0, 2.0 * np.pi, 0.0)
    azimuth[azimuth >= 2.0 * np.pi] = 0.0  # -tiny + 2 pi rounds to 2 pi

    def shape_out(x):
        if len(lead) == 1:
            return x
        t, s = lead
        return x.reshape(g, t, s).transpose(1, 0, 2)

    return shape_out(elevation), shape_out(azimuth), shape_out(range_m)


def visible(elevation_rad, mask_rad):
    """Boolean visibility: elevation >= mask (both radians, broadcast)."""
    return np.asarray(elevation_rad) >= np.asarray(mask_rad)


def nadir_frames(sat_pos, sat_vel):
    """Body frames of nadir-pointing satellites, (S, 3, 3).

    sat_pos: (S, 3) Earth-fixed metres; sat_vel: (S, 3) Earth-fixed m/s (used
    as given: the Earth-fixed velocity, not the inertial one).
    Rows (each an Earth-fixed unit vector):
      x = along-track: the velocity minus its component along nadir, normalised;
      y = z cross x (completes a right-handed frame; points opposite the orbit normal);
      z = geocentric nadir, -pos/|pos| (towards the Earth centre, not the
          ellipsoid normal).
    ``frames @ v_ecef`` gives body-frame components of an Earth-fixed vector.
    Raises ValueError when a velocity is parallel to nadir or a position is 0.
    """
    pos = _check_xyz("sat_pos", sat_pos)
    vel = _check_xyz("sat_vel", sat_vel)
    if pos.shape != vel.shape:
        raise ValueError(
            f"sat_pos and sat_vel must have the same shape, got {pos.shape} and {vel.shape}"
        )
    rnorm = np.linalg.norm(pos, axis=-1, keepdims=True)
    if np.any(rnorm == 0):
        raise ValueError("sat_pos contains a zero vector (no nadir direction)")
    z = -pos / rnorm
    along = vel - np.sum(vel * z, axis=-1, keepdims=True) * z
    anorm = np.linalg.norm(along, axis=-1, keepdims=True)
    if np.any(anorm <= 1e-12 * np.maximum(np.linalg.norm(vel, axis=-1, keepdims=True), 1e-300)):
        raise ValueError(
            "sat_vel is zero or parallel to nadir for some satellite (no along-track direction)"
        )
    x = along / anorm
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-2)


def earth_occluded(a, b, radius_m):
    """Does the segment a-b pass within ``radius_m`` of the Earth centre?

    a, b: (..., 3) Earth-fixed metres (broadcast together); radius_m: scalar or
    broadcastable (metres). Uses the closest point of the *segment* (not the
    infinite line): t* = clip(-a.(b-a)/|b-a|^2, 0, 1). Returns bool (...):
    True when min_t |a + t (b - a)| < radius_m.

    The Earth is a sphere here. For inter-satellite links use
    ``WGS84_EQUATORIAL_RADIUS_M + margin``: the equatorial radius is the
    largest radius of the ellipsoid, so the sphere contains the ellipsoid and
    the test is conservative (over the poles it adds at most 21.4 km to the
    margin). See docs/topology.md.
    """
    a = _check_xyz("a", a)
    b = _check_xyz("b", b)
    d = b - a
    dd = np.sum(d * d, axis=-1)
    ad = np.sum(a * d, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dd > 0, -ad / np.where(dd > 0, dd, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a + t[..., None] * d
    dist2 = np.sum(closest * closest, axis=-1)
    r = np.asarray(radius_m, dtype=float)
    return dist2 < r * r


#: WGS84 polar radius (m), b = a (1 - f), f = 1/298.257223563.
WGS84_POLAR_RADIUS_M = WGS84_EQUATORIAL_RADIUS_M * (1.0 - WGS84_FLATTENING)


def geocentric_nadir_point(sat_pos):
    """Where the line from a satellite to the Earth centre meets the WGS84 ellipsoid.

    sat_pos: (..., 3) Earth-fixed metres. Returns (..., 3) metres: p * t with
    t = 1 / sqrt((x^2 + y^2)/a^2 + z^2/b^2), i.e. the ground point on the
    body z axis of :func:`nadir_frames` (geocentric nadir). It differs from the
    geodetic sub-satellite point (ellipsoid normal through the satellite) by
    up to 1.70 km at H = 550 km (at 45 deg latitude; tested) and not at
    all at the equator or poles.
    """
    pos = _check_xyz("sat_pos", sat_pos)
    a2 = WGS84_EQUATORIAL_RADIUS_M**2
    b2 = WGS84_POLAR_RADIUS_M**2
    q = (pos[..., 0] ** 2 + pos[..., 1] ** 2) / a2 + pos[..., 2] ** 2 / b2
    if np.any(q == 0):
        raise ValueError("sat_pos contains the Earth centre (no nadir direction)")
    return pos / np.sqrt(q)[..., None]
