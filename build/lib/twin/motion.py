"""Ground-entity motion: where a target or terminal is over time (static, ENU velocity, waypoints).

The motion model behind ``twin.config.schema.GroundEntity.geodetic_track`` /
``position_ecef``: a rhumb-line integration of a constant ENU velocity on the WGS84
ellipsoid (the constants of :mod:`twin.geometry`) and great-circle interpolation between
waypoints. Angles are radians, heights and distances metres, times seconds after the run
start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from twin.geometry import WGS84_E2, WGS84_EQUATORIAL_RADIUS_M, geodetic_to_ecef

__all__ = [
    "MAX_TRACK_LAT_DEG",
    "GroundPoint",
    "WaypointLike",
    "GroundTrack",
    "geodetic_track",
    "position_ecef",
    "angle_between_rad",
]

#: Constant-velocity tracks must stay within this |latitude| (degrees): the
#: local-ENU motion model is singular at the poles.
MAX_TRACK_LAT_DEG = 89.0


class GroundPoint(Protocol):
    """A point given by its geodetic latitude/longitude in radians."""

    @property
    def lat_rad(self) -> float: ...

    @property
    def lon_rad(self) -> float: ...


class WaypointLike(Protocol):
    """A waypoint (``twin.config.schema.Waypoint``): seconds after the start, degrees, metres."""

    time: float
    lat_deg: float
    lon_deg: float
    alt_m: float


class GroundTrack(Protocol):
    """A ground entity (``twin.config.schema.GroundEntity``) as the motion model reads it."""

    name: str
    alt_m: float | None
    velocity_enu_mps: tuple[float, float, float] | None
    waypoints: Sequence[WaypointLike] | None

    @property
    def lat_rad(self) -> float: ...

    @property
    def lon_rad(self) -> float: ...


def _meridian_radius_m(lat_rad):
    """WGS84 radius of curvature in the meridian M(φ), metres (array-friendly)."""
    s2 = np.sin(lat_rad) ** 2
    return WGS84_EQUATORIAL_RADIUS_M * (1.0 - WGS84_E2) / (1.0 - WGS84_E2 * s2) ** 1.5


def _prime_vertical_radius_m(lat_rad):
    """WGS84 radius of curvature in the prime vertical N(φ), metres (array-friendly)."""
    return WGS84_EQUATORIAL_RADIUS_M / np.sqrt(1.0 - WGS84_E2 * np.sin(lat_rad) ** 2)


def _wrap_lon_rad(lon):
    return (np.asarray(lon) + np.pi) % (2.0 * np.pi) - np.pi


def geodetic_track(
    entity: GroundTrack, times_s_from_start
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 geodetic position over time: (lat_rad, lon_rad, alt_m), each the shape of the input.

    entity: a ground entity (``twin.config.schema.GroundEntity``: ``name``, ``lat_rad``,
    ``lon_rad``, ``alt_m``, ``velocity_enu_mps``, ``waypoints``).
    times_s_from_start: (...,) seconds after the run start.

    - static: the same point at every time;
    - constant ENU velocity (v_e, v_n, v_u) m/s: constant heading and ground
      speed along the ellipsoid (a rhumb line), integrated with the midpoint
      rule, lat(t) = lat0 + v_n t / (M(φm) + h_m), lon(t) = lon0 + v_e t /
      ((N(φm) + h_m) cos φm), alt(t) = alt0 + v_u t, where M, N are the WGS84
      meridian and prime-vertical radii at the mid-time latitude φm and h_m
      the mid-time height. Raises ValueError if |lat| would exceed 89°;
    - waypoints: spherical great-circle interpolation (slerp of the
      geodetic lat/lon directions) between consecutive waypoints, height
      linear in time; the first waypoint is held before its time and the last
      one after its time.
    """
    t = np.asarray(times_s_from_start, dtype=float)
    if entity.waypoints is not None:
        return _waypoint_track(entity.waypoints, t)
    lat0, lon0, alt0 = entity.lat_rad, entity.lon_rad, float(entity.alt_m)
    if entity.velocity_enu_mps is None:
        return np.full(t.shape, lat0), np.full(t.shape, lon0), np.full(t.shape, alt0)
    v_e, v_n, v_u = entity.velocity_enu_mps
    h_mid = alt0 + 0.5 * v_u * t
    lat_guess = lat0 + v_n * t / (_meridian_radius_m(lat0) + h_mid)
    lat_mid = 0.5 * (lat0 + lat_guess)
    lat = lat0 + v_n * t / (_meridian_radius_m(lat_mid) + h_mid)
    lat_mid = 0.5 * (lat0 + lat)
    if np.any(np.abs(lat) > math.radians(MAX_TRACK_LAT_DEG)):
        worst = float(np.degrees(np.max(np.abs(lat))))
        raise ValueError(
            f"{entity.name}: the constant-velocity track reaches |latitude| = {worst:.3f}° "
            f"(the local-ENU motion model is limited to |lat| <= {MAX_TRACK_LAT_DEG:g}°)"
        )
    lon = lon0 + v_e * t / ((_prime_vertical_radius_m(lat_mid) + h_mid) * np.cos(lat_mid))
    return lat, _wrap_lon_rad(lon), alt0 + v_u * t


def _waypoint_track(waypoints: Sequence[WaypointLike], t: np.ndarray):
    """(lat_rad, lon_rad, alt_m) along ``waypoints`` at times ``t`` (the waypoints branch of ``geodetic_track``)."""
    times = np.array([w.time for w in waypoints])
    lats = np.radians([w.lat_deg for w in waypoints])
    lons = np.radians([w.lon_deg for w in waypoints])
    alts = np.array([w.alt_m for w in waypoints])
    if len(times) == 1:
        return np.full(t.shape, lats[0]), np.full(t.shape, lons[0]), np.full(t.shape, alts[0])
    seg = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    t0, t1 = times[seg], times[seg + 1]
    frac = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    u = _unit_vectors(lats, lons)  # (W, 3)
    u0, u1 = u[seg], u[seg + 1]
    omega = np.arctan2(np.linalg.norm(np.cross(u0, u1), axis=-1), np.sum(u0 * u1, axis=-1))
    small = omega < 1e-12
    safe = np.where(small, 1.0, omega)
    w0 = np.where(small, 1.0 - frac, np.sin((1.0 - frac) * safe) / np.sin(safe))
    w1 = np.where(small, frac, np.sin(frac * safe) / np.sin(safe))
    p = w0[..., None] * u0 + w1[..., None] * u1
    lat = np.arctan2(p[..., 2], np.hypot(p[..., 0], p[..., 1]))
    lon = np.arctan2(p[..., 1], p[..., 0])
    # Exactly at (or held at) a waypoint, return its own coordinates bit for bit.
    at0, at1 = frac == 0.0, frac == 1.0
    lat = np.where(at0, lats[seg], np.where(at1, lats[seg + 1], lat))
    lon = np.where(at0, lons[seg], np.where(at1, lons[seg + 1], lon))
    alt = alts[seg] + frac * (alts[seg + 1] - alts[seg])
    return lat, lon, alt


def position_ecef(entity: GroundTrack, times_s_from_start) -> np.ndarray:
    """Earth-fixed (ITRS) position over time, metres, shape (..., 3) for times of shape (...,).

    times_s_from_start: seconds after the run start. See ``geodetic_track``
    for the motion model.
    """
    lat, lon, alt = geodetic_track(entity, times_s_from_start)
    return geodetic_to_ecef(lat, lon, alt)


def _unit_vectors(lat_rad, lon_rad) -> np.ndarray:
    """Unit vectors (..., 3) of spherical directions with latitude/longitude in radians."""
    lat, lon = np.asarray(lat_rad, dtype=float), np.asarray(lon_rad, dtype=float)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def angle_between_rad(a: GroundPoint, b: GroundPoint) -> float:
    """Great-circle angle (radians) between the lat/lon directions of two points."""
    ua, ub = _unit_vectors([a.lat_rad, b.lat_rad], [a.lon_rad, b.lon_rad])
    return float(np.arctan2(np.linalg.norm(np.cross(ua, ub)), np.dot(ua, ub)))
