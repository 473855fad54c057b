"""The `paper_002` drop: one random geometry of seed 002's simulations (seed-math A.11).

61 hexagonal cells (centre + 4 rings, circumradius 43.3 km, centre spacing 75 km), one UT
drawn uniformly in each hexagon at altitude 0, `I` satellites drawn uniformly (in area) on
the 600 km shell over the cap where the elevation seen from the cluster centre is at least
60 degrees, and one reference satellite at the zenith of the cluster centre (option: drawn
uniformly in the same cap). Seed 002 places neither (docs/pnt-reproduction.md, "Issue 6,
last look", measures both).

Geometry is on a sphere of radius `R_c = |ECEF(centre)|` (the WGS84 geocentric radius of
the cluster centre): UTs at `R_c`, satellites at `R_c + altitude`. Local east/north offsets
are mapped to the sphere by the azimuthal equidistant projection (arc length = offset
length). At the default centre (0N, 0E) geocentric and geodetic zenith coincide. The cells
come from `twin.pnt.cells`.

All lengths in metres, angles in radians inside; `*_deg` arguments are degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.geometry import geodetic_to_ecef
from twin.pnt.cells import hex_cells, local_basis, sample_in_hexagons
from twin.pnt.channel import pnt_body_frames

#: (visible satellites I, satellites per UT I_TDOA) pairs of seed 002's Table III.
PAPER_PAIRS = ((16, 3), (21, 4), (26, 5))


@dataclass(frozen=True)
class Drop:
    """One random drop of the paper_002 geometry (ECEF metres).

    ut_pos (C,3): one UT per cell; sat_pos (I,3): visible satellites; ref_pos (3,): the
    reference satellite (used by every UT, not part of I); frames (I,3,3): satellite body
    frames (rows x, y, z as from `twin.pnt.channel.pnt_body_frames`); cell_centres (C,3):
    hexagon centres on the ground; i_tdoa: satellites per UT besides the reference.
    """

    ut_pos: np.ndarray
    sat_pos: np.ndarray
    ref_pos: np.ndarray
    frames: np.ndarray
    cell_centres: np.ndarray
    i_tdoa: int


def points_on_sphere(
    center_ecef: np.ndarray, central_angle_rad, azimuth_rad, radius_m: float
) -> np.ndarray:
    """ECEF points (M,3) at a central angle (M,) and azimuth (M,) (from north, towards
    east) from the centre direction, on the sphere of radius `radius_m` metres."""
    east, north, up = local_basis(center_ecef)
    psi = np.asarray(central_angle_rad, dtype=float)[:, None]
    az = np.asarray(azimuth_rad, dtype=float)[:, None]
    direction = np.cos(psi) * up + np.sin(psi) * (np.cos(az) * north + np.sin(az) * east)
    return radius_m * direction


def cap_half_angle(
    min_elevation_rad: float, ground_radius_m: float, shell_radius_m: float
) -> float:
    """Earth central angle (rad) of the shell cap seen above `min_elevation_rad` from a
    ground point: `psi = arccos(R cos(el) / r) - el` (sphere of radius R, shell radius r)."""
    return float(
        np.arccos(ground_radius_m * np.cos(min_elevation_rad) / shell_radius_m) - min_elevation_rad
    )


def sample_cap(
    rng: np.random.Generator, n: int, psi_max_rad: float
) -> tuple[np.ndarray, np.ndarray]:
    """`n` points uniform in area on a spherical cap of half-angle `psi_max_rad`.

    The area element is `sin(psi) dpsi daz`, so `cos(psi)` is uniform on
    `[cos(psi_max), 1]` and the azimuth uniform on `[0, 2 pi)`. Returns (psi (n,), az (n,)).
    """
    cos_psi = rng.uniform(np.cos(psi_max_rad), 1.0, size=n)
    az = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return np.arccos(np.clip(cos_psi, -1.0, 1.0)), az


def paper_002_drop(
    rng: np.random.Generator,
    *,
    n_visible: int = 21,
    i_tdoa: int = 4,
    min_elevation_deg: float = 60.0,
    altitude_m: float = 600e3,
    center_latlon: tuple[float, float] = (0.0, 0.0),
    rings: int = 4,
    circumradius_m: float = 43.3e3,
    boresight: str = "nadir",
    reference: str = "zenith",
) -> Drop:
    """One random drop of seed 002's simulation geometry (seed-math A.11).

    rng: numpy Generator; n_visible: satellites I (>= i_tdoa); i_tdoa: satellites per UT
    besides the reference (>= 3 for a full-rank TDOA fix); min_elevation_deg: elevation mask
    seen from the cluster centre (degrees, in (0, 90)); altitude_m: shell altitude above the
    centre's geocentric radius; center_latlon: cluster centre (degrees).
    Satellite body frames use `pnt_body_frames(sat_pos, x_axis="east")` with a nadir
    boresight (`boresight="nadir"`, default) or facing the cluster centre ("cluster").
    reference: "zenith" (default: above the cluster centre) or "cap" (uniform in the
    satellites' cap, drawn after everything else from `rng`, so the other draws of the drop
    do not depend on it).
    """
    if int(n_visible) != n_visible or n_visible < 1:
        raise ValueError(f"n_visible must be an integer >= 1, got {n_visible!r}")
    if int(i_tdoa) != i_tdoa or not 1 <= i_tdoa <= n_visible:
        raise ValueError(f"i_tdoa must be an integer in [1, n_visible={n_visible}], got {i_tdoa!r}")
    if not 0.0 < min_elevation_deg < 90.0:
        raise ValueError(f"min_elevation_deg must be in (0, 90) degrees, got {min_elevation_deg!r}")
    if reference not in ("zenith", "cap"):
        raise ValueError(f'reference must be "zenith" or "cap", got {reference!r}')
    if not np.isfinite(altitude_m) or altitude_m <= 0:
        raise ValueError(f"altitude_m must be a positive number of metres, got {altitude_m!r}")
    lat_deg, lon_deg = center_latlon
    if not -89.0 <= lat_deg <= 89.0:
        raise ValueError(f"center latitude must be in [-89, 89] degrees, got {lat_deg!r}")

    center = geodetic_to_ecef(np.deg2rad(lat_deg), np.deg2rad(lon_deg), 0.0)
    ground_r = float(np.linalg.norm(center))
    shell_r = ground_r + altitude_m

    cells_en = hex_cells(rings, circumradius_m)
    ut_en = sample_in_hexagons(cells_en, circumradius_m, rng)

    def en_to_ecef(en):
        dist = np.hypot(en[:, 0], en[:, 1])
        az = np.arctan2(en[:, 0], en[:, 1])
        return points_on_sphere(center, dist / ground_r, az, ground_r)

    psi_max = cap_half_angle(np.deg2rad(min_elevation_deg), ground_r, shell_r)
    psi, az = sample_cap(rng, int(n_visible), psi_max)
    sat_pos = points_on_sphere(center, psi, az, shell_r)
    if reference == "zenith":
        ref_pos = shell_r * center / ground_r
    elif reference == "cap":
        psi0, az0 = sample_cap(rng, 1, psi_max)
        ref_pos = points_on_sphere(center, psi0, az0, shell_r)[0]
    else:  # pragma: no cover - validated above
        raise ValueError(f'reference must be "zenith" or "cap", got {reference!r}')
    if boresight not in ("nadir", "cluster"):
        raise ValueError(f'boresight must be "nadir" or "cluster", got {boresight!r}')
    target = center if boresight == "cluster" else None
    frames = np.asarray(pnt_body_frames(sat_pos, x_axis="east", boresight_to=target))
    return Drop(
        ut_pos=en_to_ecef(ut_en),
        sat_pos=sat_pos,
        ref_pos=ref_pos,
        frames=frames,
        cell_centres=en_to_ecef(cells_en),
        i_tdoa=int(i_tdoa),
    )
