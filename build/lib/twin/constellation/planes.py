"""Orbital planes: plane-defining elements from inertial states, and the shell / plane / slot
labels of every satellite (`PlaneLabels`), given (Walker) or inferred from one snapshot.

Definitions (see docs/topology.md):

* Orbital elements come from the inertial (TEME) state: h = r x v,
  inclination i = acos(h_z/|h|), RAAN = atan2(h_x, -h_y), argument of
  latitude u = angle from the ascending node to r in the orbit plane,
  semi-major axis from the vis-viva energy.
* A *plane* is a single-linkage cluster of satellites close in (inclination,
  RAAN, semi-major axis) at once; a *shell* groups planes of similar mean
  inclination and altitude; the *slot* orders a plane by argument of latitude.

Arrays are indexed by satellite 0..S-1; angles radians.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import radians

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

MU_EARTH_M3_S2 = 3.986004418e14  # WGS84 GM (m^3/s^2)
TWO_PI = 2.0 * np.pi


@dataclass
class PlaneLabels:
    """Shell, plane and slot of every satellite.

    shell (S,) int: shell id 0..n_shells-1.
    plane (S,) int: global plane id 0..P-1.
    slot (S,) int: rank within the plane by argument of latitude (0..n_p-1).
    plane_sizes (P,) int: satellites per plane.
    plane_shell (P,) int: shell of each plane.
    plane_next, plane_prev (P,) int: the RAAN-adjacent planes of the same shell
      (next = larger RAAN, cyclic); -1 when there is none (a single-plane
      shell; in a two-plane shell only first -> second).
    plane_raan_rad (P,) float: circular-mean RAAN of each plane (NaN when the
      labels were given rather than inferred).
    """

    shell: np.ndarray
    plane: np.ndarray
    slot: np.ndarray
    plane_sizes: np.ndarray
    plane_shell: np.ndarray = field(default=None)
    plane_next: np.ndarray = field(default=None)
    plane_prev: np.ndarray = field(default=None)
    plane_raan_rad: np.ndarray = field(default=None)

    def __post_init__(self):
        self.shell = np.asarray(self.shell, dtype=np.int64)
        self.plane = np.asarray(self.plane, dtype=np.int64)
        self.slot = np.asarray(self.slot, dtype=np.int64)
        s = self.plane.shape
        if self.plane.ndim != 1 or self.shell.shape != s or self.slot.shape != s:
            raise ValueError(
                f"shell, plane, slot must be 1-D of equal length, got {self.shell.shape}, {s}, {self.slot.shape}"
            )
        self.plane_sizes = np.asarray(self.plane_sizes, dtype=np.int64)
        n_planes = len(self.plane_sizes)
        if len(self.plane) and (self.plane.min() < 0 or self.plane.max() >= n_planes):
            raise ValueError(f"plane ids must lie in 0..{n_planes - 1} (len(plane_sizes))")
        if self.plane_shell is None:
            shell_of = np.zeros(n_planes, dtype=np.int64)
            shell_of[self.plane] = self.shell
            self.plane_shell = shell_of
        self.plane_shell = np.asarray(self.plane_shell, dtype=np.int64)
        if self.plane_next is None or self.plane_prev is None:
            self.plane_next, self.plane_prev = _cyclic_neighbours(
                self.plane_shell, np.arange(n_planes, dtype=float)
            )
        self.plane_next = np.asarray(self.plane_next, dtype=np.int64)
        self.plane_prev = np.asarray(self.plane_prev, dtype=np.int64)
        if self.plane_raan_rad is None:
            self.plane_raan_rad = np.full(n_planes, np.nan)
        self.plane_raan_rad = np.asarray(self.plane_raan_rad, dtype=float)

    @property
    def n_sats(self) -> int:
        return len(self.plane)

    @property
    def n_planes(self) -> int:
        return len(self.plane_sizes)

    @classmethod
    def from_arrays(cls, shell, plane, slot) -> PlaneLabels:
        """Labels known by construction (Walker constellations).

        shell, plane, slot: (S,) ints. Plane ids need not be consecutive; they
        are renumbered 0..P-1 in increasing order, and within a shell the plane
        order is taken as the RAAN order (true for ``walker.walker_delta``), so
        adjacent plane ids are +Grid neighbours (cyclic). Slots are re-ranked
        within each plane keeping their order.
        """
        shell = np.asarray(shell, dtype=np.int64)
        plane_in = np.asarray(plane, dtype=np.int64)
        slot_in = np.asarray(slot, dtype=np.int64)
        if not (shell.shape == plane_in.shape == slot_in.shape) or shell.ndim != 1:
            raise ValueError("shell, plane, slot must be 1-D arrays of equal length")
        keys, plane_ids = np.unique(
            np.stack([shell, plane_in], axis=1), axis=0, return_inverse=True
        )
        plane_ids = plane_ids.ravel()
        sizes = np.bincount(plane_ids, minlength=len(keys))
        plane_shell = keys[:, 0]
        slot = _rank_within(plane_ids, slot_in.astype(float))
        nxt, prv = _cyclic_neighbours(plane_shell, keys[:, 1].astype(float))
        return cls(
            shell=shell,
            plane=plane_ids,
            slot=slot,
            plane_sizes=sizes,
            plane_shell=plane_shell,
            plane_next=nxt,
            plane_prev=prv,
        )


def _rank_within(group, key):
    """Rank (0-based) of each element by ``key`` within its ``group`` (both (S,))."""
    order = np.lexsort((key, group))
    g_sorted = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g_sorted)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    return rank


def _cyclic_neighbours(plane_shell, plane_key, seam_gap=None):
    """Next/previous plane (P,) within each shell, by ``plane_key`` (cyclic).

    -1 for shells with a single plane; a shell of two planes gets one
    adjacency (first -> second), so the pair is linked once per satellite.
    seam_gap: when ``plane_key`` is a RAAN (rad), consecutive planes further
    apart than this (wrap-around included) are not adjacent: the order stops
    there (the seam of a Walker star, or an empty sector of a partial shell).
    """
    n = len(plane_shell)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return nxt, prv
    order = np.lexsort((plane_key, plane_shell))
    sh = plane_shell[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sh)) + 1]
    ends = np.r_[starts[1:], n]
    sizes = ends - starts
    start_of = np.repeat(starts, sizes)
    size_of = np.repeat(sizes, sizes)
    pos = np.arange(n) - start_of
    nxt_sorted = order[start_of + (pos + 1) % size_of]
    prv_sorted = order[start_of + (pos - 1) % size_of]
    multi = size_of > 1
    nxt[order[multi]] = nxt_sorted[multi]
    prv[order[multi]] = prv_sorted[multi]
    # a shell of two planes has one gap between them, not two: first -> second only
    two = size_of == 2
    nxt[order[two & (pos == 1)]] = -1
    prv[order[two & (pos == 0)]] = -1
    if seam_gap is not None:
        key = np.asarray(plane_key, dtype=float)
        has = nxt >= 0
        gap = np.full(n, np.inf)
        gap[has] = np.mod(key[nxt[has]] - key[has], TWO_PI)
        cut = has & (gap > seam_gap)
        prv[nxt[cut]] = -1
        nxt[cut] = -1
    return nxt, prv


def orbital_elements(r_teme_m, v_teme_mps):
    """Plane-defining elements from inertial state vectors.

    r_teme_m (S, 3) metres, v_teme_mps (S, 3) m/s, both in TEME (any inertial
    frame with z = Earth's axis works). h = r x v.
    Returns (inclination_rad, raan_rad in [0, 2 pi), arg_lat_rad in [0, 2 pi),
    semi_major_axis_m), each (S,). Argument of latitude u is measured in the
    orbit plane from the ascending node n = z x h to r; semi-major axis from
    vis-viva a = 1 / (2/|r| - |v|^2/mu) (insensitive to eccentricity, unlike |r|).
    For equatorial orbits (|h_x|, |h_y| ~ 0) the RAAN is ill-defined (atan2 of
    round-off) and u is then measured from that arbitrary node.
    """
    r = np.asarray(r_teme_m, dtype=float)
    v = np.asarray(v_teme_mps, dtype=float)
    if r.ndim != 2 or r.shape[1] != 3 or v.shape != r.shape:
        raise ValueError(
            f"r_teme_m and v_teme_mps must both be (S, 3), got {r.shape} and {v.shape}"
        )
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=1)
    if np.any(hn == 0):
        raise ValueError("a state vector has zero angular momentum (r parallel to v)")
    inc = np.arccos(np.clip(h[:, 2] / hn, -1.0, 1.0))
    raan = np.mod(np.arctan2(h[:, 0], -h[:, 1]), TWO_PI)
    node = np.stack([np.cos(raan), np.sin(raan), np.zeros_like(raan)], axis=1)
    in_plane = np.cross(h / hn[:, None], node)  # 90 deg ahead of the node in the plane
    u = np.mod(np.arctan2(np.sum(r * in_plane, axis=1), np.sum(r * node, axis=1)), TWO_PI)
    rn = np.linalg.norm(r, axis=1)
    sma = 1.0 / (2.0 / rn - np.sum(v * v, axis=1) / MU_EARTH_M3_S2)
    return inc, raan, u, sma


def _single_linkage(features, thresholds, periods=None):
    """Connected components of the graph 'all |d_k| <= threshold_k' (Chebyshev).

    features (N, D); thresholds (D,); periods (D,) with np.inf for non-cyclic
    axes. Uses scipy's periodic KD-tree and csgraph (single-linkage clustering).
    Returns labels (N,) int.
    """
    x = np.asarray(features, dtype=float) / np.asarray(thresholds, dtype=float)
    n, d = x.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if periods is None:
        periods = np.full(d, np.inf)
    periods = np.asarray(periods, dtype=float) / np.asarray(thresholds, dtype=float)
    box = np.where(np.isfinite(periods), periods, 0.0)
    # non-periodic axes: shift to >= 0 and give a box larger than the data span (no wrap)
    x = x - np.where(np.isfinite(periods), 0.0, x.min(axis=0))
    span = x.max(axis=0)
    box = np.where(np.isfinite(periods), box, 2.0 * span + 4.0)
    x = np.mod(x, box)
    tree = cKDTree(x, boxsize=box)
    pairs = tree.query_pairs(1.0, p=np.inf, output_type="ndarray")
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels.astype(np.int64)


def _circular_mean(angles, groups, n_groups):
    c = np.bincount(groups, weights=np.cos(angles), minlength=n_groups)
    s = np.bincount(groups, weights=np.sin(angles), minlength=n_groups)
    return np.mod(np.arctan2(s, c), TWO_PI)


def infer_planes(
    r_teme_m,
    v_teme_mps,
    *,
    raan_gap_rad=radians(0.5),
    inclination_gap_rad=radians(0.1),
    altitude_gap_m=10e3,
    shell_inclination_gap_rad=radians(0.1),
    shell_altitude_gap_m=8e3,
    min_plane_size=5,
    seam_gap_rad=radians(90.0),
) -> PlaneLabels:
    """Shell, plane and slot labels of satellites from one inertial snapshot.

    r_teme_m (S, 3) m, v_teme_mps (S, 3) m/s in TEME at one time.

    1. Elements per satellite (:func:`orbital_elements`).
    2. Planes: single-linkage clusters in (inclination, RAAN [cyclic],
       semi-major axis): two satellites are linked when they differ by at most
       ``inclination_gap_rad`` AND ``raan_gap_rad`` AND ``altitude_gap_m`` at once.
       A satellite still raising its orbit precesses at another rate, so it is
       linked to a plane only while it is within the altitude gap; it cannot
       bridge two planes unless it lies within ``raan_gap_rad`` of both
       (real planes are >= 2.5 deg apart in Starlink). Defaults allow the
       SGP4 short-period scatter (about +-0.04 deg in i, +-6 km in a).
    3. Shells: planes with at least ``min_plane_size`` members are clustered
       by their mean inclination and mean altitude (single linkage, gaps
       ``shell_inclination_gap_rad`` and ``shell_altitude_gap_m``). Each
       smaller plane (satellites in transit) is a shell of its own, so it never
       sits between two real planes in the RAAN order.
    4. Slots: rank by argument of latitude within the plane (0 = smallest u
       in [0, 2 pi)).
    5. Adjacency: planes of a shell in RAAN order, cyclic, except across a
       RAAN gap larger than ``seam_gap_rad`` (the seam of a Walker star such
       as OneWeb, whose far side is counter-rotating, or an empty sector of a
       partly filled shell).
    Shell ids are numbered by decreasing satellite count; planes by shell then
    RAAN. Satellites whose state is not finite (SGP4 error) each get a plane
    and a shell of their own, numbered last. Returns :class:`PlaneLabels` with
    plane adjacency by RAAN within the shell (cyclic).
    """
    for name, value in (
        ("raan_gap_rad", raan_gap_rad),
        ("inclination_gap_rad", inclination_gap_rad),
        ("altitude_gap_m", altitude_gap_m),
        ("shell_inclination_gap_rad", shell_inclination_gap_rad),
        ("shell_altitude_gap_m", shell_altitude_gap_m),
    ):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    if not (0 < raan_gap_rad < np.pi):
        raise ValueError(f"raan_gap_rad must be in (0, pi), got {raan_gap_rad!r}")
    if int(min_plane_size) < 1:
        raise ValueError(f"min_plane_size must be >= 1, got {min_plane_size!r}")
    r = np.asarray(r_teme_m, dtype=float)
    v = np.asarray(v_teme_mps, dtype=float)
    if r.ndim != 2 or r.shape[1] != 3 or v.shape != r.shape:
        raise ValueError(
            f"r_teme_m and v_teme_mps must both be (S, 3), got {r.shape} and {v.shape}"
        )
    usable = (
        np.all(np.isfinite(r), axis=1)
        & np.all(np.isfinite(v), axis=1)
        & np.any(np.cross(r, v) != 0, axis=1)
    )
    if not (np.isfinite(seam_gap_rad) and 0 < seam_gap_rad <= TWO_PI):
        raise ValueError(f"seam_gap_rad must be in (0, 2 pi], got {seam_gap_rad!r}")
    kw = dict(
        raan_gap_rad=raan_gap_rad,
        inclination_gap_rad=inclination_gap_rad,
        altitude_gap_m=altitude_gap_m,
        shell_inclination_gap_rad=shell_inclination_gap_rad,
        shell_altitude_gap_m=shell_altitude_gap_m,
        min_plane_size=min_plane_size,
        seam_gap_rad=seam_gap_rad,
    )
    if not np.all(usable):
        return _with_unusable(_infer_planes_usable(r[usable], v[usable], **kw), usable)
    return _infer_planes_usable(r, v, **kw)


def _with_unusable(core: PlaneLabels, usable) -> PlaneLabels:
    """Labels for all S satellites from those of the usable ones: every
    unusable satellite (NaN state, e.g. an SGP4 error) gets a plane and a shell
    of its own, after the others."""
    bad = np.flatnonzero(~usable)
    n_shells = int(core.plane_shell.max()) + 1 if core.n_planes else 0
    s = len(usable)
    plane = np.empty(s, dtype=np.int64)
    shell = np.empty(s, dtype=np.int64)
    slot = np.zeros(s, dtype=np.int64)
    plane[usable], shell[usable], slot[usable] = core.plane, core.shell, core.slot
    plane[bad] = core.n_planes + np.arange(len(bad))
    shell[bad] = n_shells + np.arange(len(bad))
    none = np.full(len(bad), -1, dtype=np.int64)
    return PlaneLabels(
        shell=shell,
        plane=plane,
        slot=slot,
        plane_sizes=np.r_[core.plane_sizes, np.ones(len(bad), dtype=np.int64)],
        plane_shell=np.r_[core.plane_shell, n_shells + np.arange(len(bad))],
        plane_next=np.r_[core.plane_next, none],
        plane_prev=np.r_[core.plane_prev, none],
        plane_raan_rad=np.r_[core.plane_raan_rad, np.full(len(bad), np.nan)],
    )


def _infer_planes_usable(
    r_teme_m,
    v_teme_mps,
    *,
    raan_gap_rad,
    inclination_gap_rad,
    altitude_gap_m,
    shell_inclination_gap_rad,
    shell_altitude_gap_m,
    min_plane_size,
    seam_gap_rad,
) -> PlaneLabels:
    """:func:`infer_planes` on finite state vectors."""
    inc, raan, u, sma = orbital_elements(r_teme_m, v_teme_mps)
    n = len(inc)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return PlaneLabels(shell=empty, plane=empty, slot=empty, plane_sizes=empty)
    feats = np.stack([inc, raan, sma], axis=1)
    raw = _single_linkage(
        feats, [inclination_gap_rad, raan_gap_rad, altitude_gap_m], [np.inf, TWO_PI, np.inf]
    )
    n_raw = raw.max() + 1
    sizes = np.bincount(raw, minlength=n_raw)
    mean_inc = np.bincount(raw, weights=inc, minlength=n_raw) / sizes
    mean_sma = np.bincount(raw, weights=sma, minlength=n_raw) / sizes
    plane_raan = _circular_mean(raan, raw, n_raw)
    big = sizes >= int(min_plane_size)
    shell_of_raw = np.empty(n_raw, dtype=np.int64)
    if np.any(big):
        shell_big = _single_linkage(
            np.stack([mean_inc[big], mean_sma[big]], axis=1),
            [shell_inclination_gap_rad, shell_altitude_gap_m],
        )
        shell_of_raw[big] = shell_big
        offset = shell_big.max() + 1
    else:
        offset = 0
    shell_of_raw[~big] = offset + np.arange(np.count_nonzero(~big))
    # number shells by decreasing satellite count (ties: lower mean inclination first)
    n_shell = shell_of_raw.max() + 1
    shell_count = np.bincount(shell_of_raw, weights=sizes, minlength=n_shell)
    shell_inc = np.bincount(shell_of_raw, weights=sizes * mean_inc, minlength=n_shell) / shell_count
    shell_rank = np.empty(n_shell, dtype=np.int64)
    shell_rank[np.lexsort((shell_inc, -shell_count))] = np.arange(n_shell)
    shell_of_raw = shell_rank[shell_of_raw]
    # number planes by (shell, RAAN)
    plane_order = np.lexsort((plane_raan, shell_of_raw))
    plane_id = np.empty(n_raw, dtype=np.int64)
    plane_id[plane_order] = np.arange(n_raw)
    plane = plane_id[raw]
    plane_shell = shell_of_raw[plane_order]
    plane_raan_sorted = plane_raan[plane_order]
    nxt, prv = _cyclic_neighbours(plane_shell, plane_raan_sorted, seam_gap=seam_gap_rad)
    return PlaneLabels(
        shell=plane_shell[plane],
        plane=plane,
        slot=_rank_within(plane, u),
        plane_sizes=sizes[plane_order],
        plane_shell=plane_shell,
        plane_next=nxt,
        plane_prev=prv,
        plane_raan_rad=plane_raan_sorted,
    )
