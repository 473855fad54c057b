"""Hexagonal cell clusters on the ground: cell centres and one uniform point per hexagon.

The cell geometry of seed 002 (seed-math A.11) that the twin's PNT process also uses: a
cluster of pointy-top hexagonal cells (centre + `rings` rings; 61 cells of circumradius
43.3 km, centre spacing 75 km, for 4 rings) as local (east, north) offsets, one point drawn
uniformly in each hexagon, and the geocentric local frame and elevation on a sphere.

All lengths in metres, angles in radians.
"""

from __future__ import annotations

import numpy as np


def _axial_rings(rings: int) -> np.ndarray:
    """Axial hex coordinates (q, r) of the centre and `rings` rings, ring by ring.

    Each ring starts at the cell due east of the centre and walks counter-clockwise.
    Returns (1 + 3 rings (rings+1), 2) int.
    """
    # Axial neighbour directions, counter-clockwise starting from the north-west side so
    # that walking them from the east-most cell of a ring traces that ring.
    walk = [(-1, 1), (-1, 0), (0, -1), (1, -1), (1, 0), (0, 1)]
    coords = [(0, 0)]
    for k in range(1, rings + 1):
        q, r = k, 0
        for dq, dr in walk:
            for _ in range(k):
                coords.append((q, r))
                q, r = q + dq, r + dr
    return np.asarray(coords, dtype=int)


def hex_cells(rings: int = 4, circumradius_m: float = 43.3e3) -> np.ndarray:
    """Local (east, north) offsets in metres of a hexagonal cluster, shape (C, 2).

    Pointy-top hexagons (a vertex due north) of circumradius `R`; neighbouring centres are
    `sqrt(3) R` apart (75 km for R = 43.3 km). `C = 1 + 3 rings (rings + 1)` = 61 for 4
    rings. Cell 0 is the centre, then ring 1 (6 cells), ring 2 (12), ... each ring starting
    due east and going counter-clockwise; this is the "cell-index order" of HBS.
    """
    if int(rings) != rings or rings < 0:
        raise ValueError(f"rings must be an integer >= 0, got {rings!r}")
    if not np.isfinite(circumradius_m) or circumradius_m <= 0:
        raise ValueError(
            f"circumradius_m must be a positive number of metres, got {circumradius_m!r}"
        )
    qr = _axial_rings(int(rings)).astype(float)
    east = np.sqrt(3.0) * circumradius_m * (qr[:, 0] + qr[:, 1] / 2.0)
    north = 1.5 * circumradius_m * qr[:, 1]
    return np.stack([east, north], axis=1)


def sample_in_hexagons(
    centres_en: np.ndarray, circumradius_m: float, rng: np.random.Generator
) -> np.ndarray:
    """One point uniform in each pointy-top hexagon, shape (C, 2) metres (east, north).

    The hexagon is split into its 6 equilateral triangles (centre, vertex k, vertex k+1);
    a triangle is chosen uniformly and a point drawn uniformly in it (square-root rule).
    """
    centres_en = np.asarray(centres_en, dtype=float)
    n = centres_en.shape[0]
    k = rng.integers(0, 6, size=n)
    ang0 = np.deg2rad(30.0 + 60.0 * k)
    ang1 = ang0 + np.deg2rad(60.0)
    v0 = circumradius_m * np.stack([np.cos(ang0), np.sin(ang0)], axis=1)
    v1 = circumradius_m * np.stack([np.cos(ang1), np.sin(ang1)], axis=1)
    u1, u2 = rng.random(n), rng.random(n)
    s = np.sqrt(u1)
    # Uniform in triangle (0, v0, v1): s (1 - u2) v0 + s u2 v1.
    return centres_en + (s * (1.0 - u2))[:, None] * v0 + (s * u2)[:, None] * v1


def local_basis(center_ecef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geocentric (east, north, up) unit vectors (each (3,)) at an ECEF point (3,) m."""
    up = np.asarray(center_ecef, dtype=float) / np.linalg.norm(center_ecef)
    east = np.cross([0.0, 0.0, 1.0], up)
    norm_e = np.linalg.norm(east)
    if norm_e < 1e-12:
        raise ValueError("the cluster centre may not be at a pole (east is undefined there)")
    east /= norm_e
    north = np.cross(up, east)
    return east, north, up


def elevation_rad(ground_ecef: np.ndarray, sat_ecef: np.ndarray) -> np.ndarray:
    """Elevation (rad) of satellites (M,3) seen from one ground point (3,) on a sphere
    (geocentric up)."""
    ground = np.asarray(ground_ecef, dtype=float)
    up = ground / np.linalg.norm(ground)
    los = np.asarray(sat_ecef, dtype=float) - ground
    return np.arcsin(los @ up / np.linalg.norm(los, axis=-1))
