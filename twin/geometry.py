"""Earth-fixed (ITRS/ECEF) geometry: geodetic conversions, local frames, look
angles and visibility.

Positions are Earth-fixed metres with the xyz axis last: shape (..., 3).
Geodetic conversions use skyfield's WGS84 model (no hand-written ellipsoid
iteration).
"""

from __future__ import annotations

import numpy as np
from skyfield.api import wgs84
from skyfield.framelib import itrs
from skyfield.units import Distance


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
        np.asarray(lat_rad, dtype=float), np.asarray(lon_rad, dtype=float), np.asarray(alt_m, dtype=float)
    )
    shape = lat.shape
    pos = wgs84.latlon(np.degrees(lat.ravel()), np.degrees(lon.ravel()), alt.ravel()).itrs_xyz.m
    return np.asarray(pos).T.reshape(shape + (3,))
