"""A serving group on a Walker Delta snapshot: the geometry of seed 000's Table I studies.

:func:`walker_group_snapshot` builds one epoch of a Walker shell, its +Grid ISL graph and the
serving group around a central satellite; the paper's problems (:mod:`twin.paper.isac.problems`)
and figures start from it. Positions Earth-fixed metres, velocities m/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import radians

import numpy as np

from twin.constellation import orbits, walker
from twin.constellation.isl import isl_graph
from twin.constellation.planes import PlaneLabels
from twin.constellation.serving import serving_group
from twin.geometry import (
    DEFAULT_ATMOSPHERE_MARGIN_M,
    geocentric_nadir_point,
    look_angles,
    nadir_frames,
)
from twin.units import parse_utc


@dataclass(frozen=True)
class GroupGeometry:
    """One serving group's geometry (seed 000 Table I snapshot).

    sat_pos (K, 3) Earth-fixed m, sat_vel (K, 3) Earth-fixed m/s, row 0 the
    central; members (K,) satellite indices in the Walker constellation;
    central_nadir_ecef (3,) m: the central's geocentric nadir point on the
    WGS84 ellipsoid (ISAC service-area centre, seed-math B.9); collaboration: "I" | "II" | "III".
    """

    sat_pos: np.ndarray
    sat_vel: np.ndarray
    members: tuple
    central_nadir_ecef: np.ndarray
    collaboration: str


#: Default epoch of :func:`walker_group_snapshot` (UTC).
DEFAULT_SNAPSHOT_EPOCH = "2026-01-01T00:00:00Z"


def _as_datetime(epoch):
    """datetime or ISO text from a datetime, ISO text or numpy datetime64 (UTC)."""
    if isinstance(epoch, np.datetime64):
        return str(np.datetime_as_string(epoch.astype("datetime64[us]"))) + "Z"
    return epoch


def walker_group_snapshot(
    *,
    planes=72,
    per_plane=22,
    phasing=1,
    altitude_m=550e3,
    inclination_rad=radians(53.0),
    collaboration="II",
    group_size=None,
    epoch=None,
    central_index=None,
    max_range_m=np.inf,
    atmosphere_margin_m=DEFAULT_ATMOSPHERE_MARGIN_M,
) -> GroupGeometry:
    """Serving-group geometry on a Walker Delta snapshot (seed 000 Table I, seed-math B.1/B.9).

    Builds ``walker.walker_delta(planes*per_plane, planes, phasing, altitude_m,
    inclination_rad, epoch=epoch)``, propagates one epoch with
    ``orbits.propagate_itrs``, builds the +Grid ISL graph (labels from the
    construction), picks the central satellite (``central_index`` or, by
    default, the satellite nearest the equator on an ascending pass, i.e. with
    the smallest |geocentric latitude| among those moving north), and the
    group of type ``collaboration``. The target is the central's geocentric
    nadir point on the WGS84 ellipsoid (:func:`geometry.geocentric_nadir_point`,
    on the body z axis of :func:`geometry.nadir_frames`),
    and every member sees it with elevation >= 0 (seed-math B.9 mask) or a
    ValueError explains which does not. ``epoch``: datetime, ISO text or
    datetime64 (UTC), default DEFAULT_SNAPSHOT_EPOCH; satellites are at their
    Walker positions at that instant (the elements' epoch).
    """
    if planes < 1 or per_plane < 1:
        raise ValueError(f"planes and per_plane must be >= 1, got {planes}, {per_plane}")
    epoch_dt = parse_utc(DEFAULT_SNAPSHOT_EPOCH if epoch is None else _as_datetime(epoch))
    constellation = walker.walker_delta(
        planes * per_plane, planes, phasing, altitude_m, inclination_rad, epoch=epoch_dt
    )
    pos, vel, err = orbits.propagate_itrs(constellation, orbits.to_datetime64([epoch_dt]))
    pos, vel, err = pos[0], vel[0], err[0]
    if np.any(err != 0):
        raise ValueError(f"SGP4 failed for {np.count_nonzero(err)} Walker satellites")
    labels = PlaneLabels.from_arrays(constellation.shell, constellation.plane, constellation.slot)
    graph = isl_graph(pos, labels, max_range_m=max_range_m, atmosphere_margin_m=atmosphere_margin_m)
    if central_index is None:
        ascending = nadir_frames(pos, vel)[:, 0, 2] > 0  # along-track has a northward (z) component
        score = np.where(ascending, np.abs(pos[:, 2]) / np.linalg.norm(pos, axis=1), np.inf)
        central = int(np.argmin(score))
    else:
        central = int(central_index)
        if not 0 <= central < len(pos):
            raise ValueError(f"central_index must be in 0..{len(pos) - 1}, got {central_index}")
    nadir = geocentric_nadir_point(pos[central])
    el, _, _ = look_angles(nadir[None, :], pos)
    # the central is imposed: it is the 'previous' central and no hysteresis threshold can be exceeded
    group = serving_group(
        graph,
        el[0],
        labels,
        group_size=group_size,
        collaboration=collaboration,
        mask_rad=-np.pi / 2,
        group_mask_rad=0.0,
        previous_central=central,
        hysteresis_rad=np.inf,
    )
    if not group.valid:
        raise ValueError(
            f"no complete type-{collaboration} group around satellite {central}: {group.reason}"
        )
    members = np.asarray(group.members)
    return GroupGeometry(
        sat_pos=pos[members],
        sat_vel=vel[members],
        members=tuple(int(m) for m in members),
        central_nadir_ecef=np.asarray(nadir, dtype=float),
        collaboration=collaboration,
    )
