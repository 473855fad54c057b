"""Constellation topology: orbital-plane inference, the +Grid inter-satellite
link (ISL) graph and the serving groups (collaboration types I, II, III) of
seed 000.

Definitions (see docs/topology.md):

* Orbital elements come from the inertial (TEME) state: h = r x v,
  inclination i = acos(h_z/|h|), RAAN = atan2(h_x, -h_y), argument of
  latitude u = angle from the ascending node to r in the orbit plane,
  semi-major axis from the vis-viva energy.
* A *plane* is a single-linkage cluster of satellites close in (inclination,
  RAAN, semi-major axis) at once; a *shell* groups planes of similar mean
  inclination and altitude; the *slot* orders a plane by argument of latitude.
* +Grid: each satellite links to its slot +-1 neighbours in its plane
  (cyclic) and to one satellite in each RAAN-adjacent plane of its shell
  (the nearest, made one-to-one per plane pair, see :func:`isl_graph`).

Arrays are indexed by satellite 0..S-1; positions are Earth-fixed metres
(S, 3), angles radians.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import radians

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from twin.geometry import (
    DEFAULT_ATMOSPHERE_MARGIN_M,
    WGS84_EQUATORIAL_RADIUS_M,
    earth_occluded,
)
from twin.units import C_LIGHT

MU_EARTH_M3_S2 = 3.986004418e14  # WGS84 GM (m^3/s^2)
TWO_PI = 2.0 * np.pi

#: Column order of the neighbour table ``graph.graph["grid"]`` built by :func:`isl_graph`.
GRID_COLUMNS = ("fore", "aft", "east", "west")


# --------------------------------------------------------------------------- plane labels


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
        order is taken as the RAAN order (true for ``orbits.walker_delta``), so
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


# --------------------------------------------------------------------------- ISL graph


def _padded_members(plane, slot, keep, n_planes):
    """(P, Nmax) satellite indices of each plane in slot order (-1 padding), kept satellites only."""
    idx = np.flatnonzero(keep)
    order = idx[np.lexsort((slot[idx], plane[idx]))]
    p_sorted = plane[order]
    counts = np.bincount(p_sorted, minlength=n_planes)
    width = max(int(counts.max()) if len(counts) else 0, 1)
    starts = np.cumsum(counts) - counts
    col = np.arange(len(order)) - np.repeat(starts, counts)
    table = np.full((n_planes, width), -1, dtype=np.int64)
    table[p_sorted, col] = order
    return table, counts, col, order


def _intra_pairs(plane, slot, keep, n_planes):
    """Ring links slot i <-> i+1 (cyclic) among the kept satellites of each plane.

    Returns (a, b) index arrays, a = fore-neighbour-of-b... precisely: b is the
    next satellite after a by argument of latitude.
    """
    table, counts, col, order = _padded_members(plane, slot, keep, n_planes)
    p = plane[order]
    n_in = counts[p]
    nxt = table[p, (col + 1) % np.maximum(n_in, 1)]
    ok = n_in >= 2
    # a plane of two satellites has one link, not two
    ok &= ~((n_in == 2) & (col == 1))
    return order[ok], nxt[ok]


_PLANE_AXIS_M = 1e9  # separation of planes along the KD-tree's 4th axis (>> any orbit distance)


def _nearest_in_plane(pos, plane, rows, target_plane, allowed):
    """Nearest allowed satellite of plane ``target_plane[k]`` to satellite ``rows[k]``.

    pos (S, 3) m; plane (S,) plane ids; rows (n,) satellite indices;
    target_plane (n,) plane ids; allowed (S,) bool. One KD-tree over the
    allowed satellites in 4-D, (x, y, z, plane * 1e9 m): a query at
    (pos_i, target * 1e9) returns the nearest allowed satellite of that plane
    exactly (any other plane is >= 1e9 m away). Returns (n,) indices, -1 when
    the target plane has no allowed satellite.
    """
    best = np.full(len(rows), -1, dtype=np.int64)
    cand = np.flatnonzero(allowed)
    if len(rows) == 0 or len(cand) == 0:
        return best
    tree = cKDTree(
        np.hstack([pos[cand], plane[cand, None] * _PLANE_AXIS_M]),
        balanced_tree=False,
        compact_nodes=False,
    )
    dist, j = tree.query(
        np.hstack([pos[rows], target_plane[:, None] * _PLANE_AXIS_M]),
        k=1,
        distance_upper_bound=0.5 * _PLANE_AXIS_M,
    )
    ok = np.isfinite(dist)
    best[ok] = cand[j[ok]]
    return best


def _inter_pairs(pos, labels, keep, max_rounds=8):
    """One-to-one east-west links between RAAN-adjacent planes.

    Every kept satellite i of plane p looks at the kept satellites of
    plane_next[p] (its "east" side); j in plane_next[p] looks back at plane p
    (its "west" side). A pair is linked when each is the other's nearest
    satellite among those still free on that side (mutual nearest
    neighbours); the round is repeated on the still-unmatched satellites (at
    most ``max_rounds``; for a Walker shell everything matches in round 1).
    Each satellite therefore has at most one east and one west link.
    Each round is two vectorised KD-tree queries (:func:`_nearest_in_plane`);
    no Python loop over satellites. Returns (a, b): a's east partner is b.
    """
    plane = labels.plane
    s = len(plane)
    east_rows = np.flatnonzero(keep & (labels.plane_next[plane] >= 0))
    west_rows = np.flatnonzero(keep & (labels.plane_prev[plane] >= 0))
    free_e = np.zeros(s, dtype=bool)  # east terminal free
    free_w = np.zeros(s, dtype=bool)  # west terminal free
    free_e[east_rows] = True
    free_w[west_rows] = True
    east_partner = np.full(s, -1, dtype=np.int64)
    for _ in range(max_rounds):
        er = east_rows[free_e[east_rows]]
        wr = west_rows[free_w[west_rows]]
        if len(er) == 0 or len(wr) == 0:
            break
        best_e = _nearest_in_plane(pos, plane, er, labels.plane_next[plane[er]], free_w)
        best_w = np.full(s, -1, dtype=np.int64)
        best_w[wr] = _nearest_in_plane(pos, plane, wr, labels.plane_prev[plane[wr]], free_e)
        # a side that found no free partner never will (partners only get taken): retire it
        free_e[er[best_e < 0]] = False
        free_w[wr[best_w[wr] < 0]] = False
        has = best_e >= 0
        mutual = np.zeros(len(er), dtype=bool)
        mutual[has] = best_w[best_e[has]] == er[has]
        if not np.any(mutual):
            break
        a, b = er[mutual], best_e[mutual]
        east_partner[a] = b
        free_e[a] = False
        free_w[b] = False
    a = np.flatnonzero(east_partner >= 0)
    return a, east_partner[a]


def isl_graph(
    sat_pos_m,
    labels: PlaneLabels,
    *,
    max_range_m,
    atmosphere_margin_m=DEFAULT_ATMOSPHERE_MARGIN_M,
    inter_plane=True,
    valid=None,
    names=None,
) -> nx.Graph:
    """+Grid inter-satellite link graph of one epoch.

    sat_pos_m (S, 3) Earth-fixed metres; labels from :func:`infer_planes` or
    :meth:`PlaneLabels.from_arrays`; max_range_m (m, > 0; np.inf for no cut);
    atmosphere_margin_m (m, >= 0): a link must clear a sphere of radius
    WGS84 equatorial radius + margin; valid (S,) bool: invalid satellites keep
    their node but get no link, and are skipped in the rings and matchings;
    names: optional (S,) node attribute ``name``.

    Candidate links (decided geometrically, before the range/occlusion cut):
      intra: each plane's valid satellites in slot order form a ring
        (slot +-1, cyclic);
      inter (when ``inter_plane``): each satellite's nearest satellite in the
        next-RAAN plane of its shell, made one-to-one per plane pair by
        iterated mutual nearest neighbours (one terminal per side). For a
        Walker shell this is the usual +Grid (same slot up to a fixed offset).
    Then a candidate is kept only if length <= max_range_m and the segment
    does not pass within the clearance sphere (:func:`earth_occluded`).
    A dropped link is not replaced by another satellite.

    Nodes 0..S-1 (all satellites). Edge attributes: ``length_m``, ``delay_s``
    (= length / c), ``kind`` ("intra" | "inter"). Graph attributes:
    ``grid`` (S, 4) int neighbour table, columns GRID_COLUMNS = (fore = next
    by argument of latitude, aft, east = next-RAAN plane, west), -1 where no
    link; ``sat_pos_m`` (S, 3); ``edges`` dict of numpy arrays (a, b,
    length_m, kind_inter) of the kept links. The returned :class:`IslGraph` adds its
    networkx nodes and edges on first use (the arrays are there at once).
    """
    pos = np.asarray(sat_pos_m, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"sat_pos_m must be (S, 3) Earth-fixed metres, got {pos.shape}")
    s = pos.shape[0]
    if labels.n_sats != s:
        raise ValueError(f"labels describe {labels.n_sats} satellites but sat_pos_m has {s}")
    if not (max_range_m > 0):
        raise ValueError(
            f"max_range_m must be > 0 (use np.inf for no range limit), got {max_range_m!r}"
        )
    if not (np.isfinite(atmosphere_margin_m) and atmosphere_margin_m >= 0):
        raise ValueError(
            f"atmosphere_margin_m must be a finite number >= 0, got {atmosphere_margin_m!r}"
        )
    keep = np.all(np.isfinite(pos), axis=1)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != (s,):
            raise ValueError(f"valid must be a (S,) bool array with S = {s}, got {valid.shape}")
        keep &= valid
    if names is not None and len(names) != s:
        raise ValueError(f"names must have one entry per satellite ({s}), got {len(names)}")
    ia, ib = _intra_pairs(labels.plane, labels.slot, keep, labels.n_planes)
    if inter_plane:
        ea, eb = _inter_pairs(pos, labels, keep)
    else:
        ea = eb = np.zeros(0, dtype=np.int64)
    a = np.r_[ia, ea]
    b = np.r_[ib, eb]
    inter = np.r_[np.zeros(len(ia), dtype=bool), np.ones(len(ea), dtype=bool)]
    length = np.linalg.norm(pos[a] - pos[b], axis=1)
    ok = (length <= max_range_m) & ~earth_occluded(
        pos[a], pos[b], WGS84_EQUATORIAL_RADIUS_M + atmosphere_margin_m
    )
    a, b, inter, length = a[ok], b[ok], inter[ok], length[ok]
    grid = np.full((s, 4), -1, dtype=np.int64)
    grid[a[~inter], 0] = b[~inter]
    grid[b[~inter], 1] = a[~inter]
    grid[a[inter], 2] = b[inter]
    grid[b[inter], 3] = a[inter]
    edges = {"a": a, "b": b, "length_m": length, "kind_inter": inter}
    return IslGraph(grid=grid, sat_pos_m=pos, edges=edges, pending=(s, names))


class IslGraph(nx.Graph):
    """The ``networkx.Graph`` returned by :func:`isl_graph`, built on first use.

    The graph attributes ``grid``, ``sat_pos_m`` and ``edges`` (numpy arrays) are there at
    once; the networkx nodes (0..S-1, ``name`` when given) and edges (``length_m``,
    ``delay_s``, ``kind``) are added the first time anything reads the graph's node or
    adjacency dictionaries (``graph.edges``, ``graph.nodes``, ``len(graph)``, any networkx
    algorithm...), with exactly the content an eagerly built graph would have. A consumer
    that only needs the arrays (the serving groups, the ``isl`` table) never pays for the
    ~20 000 Python edge dictionaries of a Starlink epoch. ``materialised`` tells whether
    the networkx structure exists yet. Otherwise an ordinary ``nx.Graph``: it can be
    modified, copied and pickled.
    """

    def __init__(self, incoming_graph_data=None, *, pending=None, **attr):
        self.__dict__["_pending"] = None
        super().__init__(incoming_graph_data, **attr)
        self.__dict__["_pending"] = pending

    @property
    def materialised(self) -> bool:
        """True once the networkx nodes and edges exist."""
        return self.__dict__.get("_pending") is None

    def _materialise(self) -> None:
        s, names = self.__dict__["_pending"]
        self.__dict__["_pending"] = None
        if names is None:
            self.add_nodes_from(range(s))
        else:
            self.add_nodes_from((i, {"name": str(n)}) for i, n in enumerate(names))
        e = self.graph["edges"]
        length = e["length_m"]
        delay = length / C_LIGHT
        kinds = np.where(e["kind_inter"], "inter", "intra").tolist()
        self.add_edges_from(
            (u, v, {"length_m": d, "delay_s": t, "kind": k})
            for u, v, d, t, k in zip(
                e["a"].tolist(), e["b"].tolist(), length.tolist(), delay.tolist(), kinds
            )
        )

    # networkx keeps nodes and adjacency in these two dicts; reading either materialises.
    @property
    def _node(self):
        if self.__dict__.get("_pending") is not None:
            self._materialise()
        return self.__dict__["_node"]

    @_node.setter
    def _node(self, value):
        self.__dict__["_node"] = value

    @property
    def _adj(self):
        if self.__dict__.get("_pending") is not None:
            self._materialise()
        return self.__dict__["_adj"]

    @_adj.setter
    def _adj(self, value):
        self.__dict__["_adj"] = value


def grid_neighbours(graph: nx.Graph, labels: PlaneLabels) -> np.ndarray:
    """(S, 4) neighbour table (GRID_COLUMNS: fore, aft, east, west; -1 = none).

    Read from ``graph.graph["grid"]`` when the graph comes from
    :func:`isl_graph`; otherwise rebuilt from the edges' ``kind`` attribute and
    the labels: of a satellite's (at most two) intra-plane neighbours, fore is
    the one fewest slots ahead (cyclic) and aft the other (a single one is
    fore when less than half the ring ahead); of its inter-plane
    neighbours, east is the one in ``plane_next`` and west the one in
    ``plane_prev``.
    """
    grid = graph.graph.get("grid")
    if grid is not None and len(grid) == labels.n_sats:
        return grid
    s = labels.n_sats
    grid = np.full((s, 4), -1, dtype=np.int64)
    edges = [(u, v, k) for u, v, k in graph.edges(data="kind")]
    if not edges:
        return grid
    u, v, kind = (np.array(x) for x in zip(*edges))
    a = np.r_[u, v].astype(np.int64)
    b = np.r_[v, u].astype(np.int64)
    k = np.r_[kind, kind]
    inter = k == "inter"
    east = inter & (labels.plane_next[labels.plane[a]] == labels.plane[b])
    west = inter & ~east
    grid[a[east], 2] = b[east]
    grid[a[west], 3] = b[west]
    intra = k == "intra"
    if not np.any(intra):
        return grid
    ahead = (labels.slot[b] - labels.slot[a]) % np.maximum(labels.plane_sizes[labels.plane[a]], 1)
    order = np.lexsort((ahead, a))  # per satellite, intra neighbours by slots ahead
    ai, bi, ii = a[order], b[order], intra[order]
    ai, bi = ai[ii], bi[ii]
    first = np.r_[True, ai[1:] != ai[:-1]]
    grid[ai[first], 0] = bi[first]
    grid[ai[~first], 1] = bi[~first]
    # a satellite with a single intra neighbour: fore if that one is less than half a ring ahead
    lone = first & np.r_[ai[1:] != ai[:-1], True]
    n_ring = np.maximum(labels.plane_sizes[labels.plane[ai]], 1)
    ahead_i = (labels.slot[bi] - labels.slot[ai]) % n_ring
    behind = lone & (
        (2 * ahead_i > n_ring) | ((2 * ahead_i == n_ring) & (labels.slot[ai] > labels.slot[bi]))
    )
    grid[ai[behind], 0] = -1
    grid[ai[behind], 1] = bi[behind]
    return grid


# --------------------------------------------------------------------------- serving groups

_NATURAL_SIZE = {"I": 3, "II": 5, "III": 7}


@dataclass(frozen=True)
class ServingGroup:
    """Serving group of one ground target.

    central: satellite index (-1 if none); members: satellite indices, central
    first; valid: True when ``group_size`` members were found; reason: empty
    when valid, otherwise why not.
    """

    central: int
    members: tuple
    valid: bool
    reason: str


def _select_central(elevation, mask_rad, previous_central, hysteresis_rad):
    """Central satellite with hysteresis for G targets (vectorised).

    elevation (G, S) rad; previous_central (G,) int (-1 none). Returns (G,) int.
    """
    best = np.argmax(elevation, axis=1)
    g = np.arange(elevation.shape[0])
    best_el = elevation[g, best]
    central = np.where(best_el >= mask_rad, best, -1)
    prev = np.asarray(previous_central, dtype=np.int64)
    has_prev = (prev >= 0) & (prev < elevation.shape[1])
    prev_el = np.where(has_prev, elevation[g, np.clip(prev, 0, elevation.shape[1] - 1)], -np.inf)
    keep_prev = has_prev & (prev_el >= mask_rad) & ~(best_el > prev_el + hysteresis_rad)
    return np.where(keep_prev, prev, central)


def _hop_fill_grid(grid, central, exclude, eligible, elevation, count):
    """:func:`_hop_fill` on the (S, 4) neighbour table (the ISL adjacency of :func:`isl_graph`).

    Breadth-first, one vectorised step per hop level, stopped after the first level at
    which ``count`` candidates are known (candidates further out would sort after them).
    """
    seen = np.zeros(len(grid), dtype=bool)
    seen[central] = True
    frontier = np.array([central], dtype=np.int64)
    level, found, levels = 0, [], []
    total = 0
    excluded = np.zeros(len(grid), dtype=bool)
    excluded[list(exclude)] = True
    while len(frontier):
        level += 1
        nb = grid[frontier].ravel()
        nb = np.unique(nb[nb >= 0])
        nb = nb[~seen[nb]]
        seen[nb] = True
        cand = nb[eligible[nb] & ~excluded[nb]]
        found.append(cand)
        levels.append(np.full(len(cand), level))
        total += len(cand)
        if total >= count:
            break
        frontier = nb
    if not found:
        return []
    cand, hop = np.concatenate(found), np.concatenate(levels)
    order = np.lexsort((cand, -elevation[cand], hop))  # hops, then higher elevation, then index
    return [int(n) for n in cand[order[:count]]]


def _hop_fill(graph, central, exclude, eligible, elevation, count):
    """Up to ``count`` extra members by ISL hop distance from ``central``
    (ties: higher elevation first, then lower index), among ``eligible`` satellites.

    An :class:`IslGraph` not yet materialised is searched on its neighbour table
    (:func:`_hop_fill_grid`, same result); any other graph with networkx.
    """
    if count <= 0:
        return []
    if isinstance(graph, IslGraph) and not graph.materialised:
        return _hop_fill_grid(graph.graph["grid"], central, exclude, eligible, elevation, count)
    for cutoff in (2, 4, 8, None):  # widen the breadth-first search only as far as needed
        hops = nx.single_source_shortest_path_length(graph, central, cutoff=cutoff)
        cands = sorted(
            (h, -elevation[n], n) for n, h in hops.items() if n not in exclude and eligible[n]
        )
        if len(cands) >= count:
            break
    return [n for _, _, n in cands[:count]]


def serving_group(
    graph,
    elevation_rad,
    labels: PlaneLabels,
    *,
    group_size=None,
    collaboration="II",
    mask_rad=0.0,
    group_mask_rad=0.0,
    previous_central=-1,
    hysteresis_rad=0.0,
    substitute=False,
) -> ServingGroup:
    """Serving group of one ground target (seed 000 Sec. II / Fig. 5; seed-math B.1, B.9).

    graph: from :func:`isl_graph` (its ``grid`` table and ``sat_pos_m``);
    elevation_rad (S,): elevation of every satellite seen from the target
    (invalid satellites should carry -pi/2); labels: the plane labels.
    collaboration: "I" (central + two in-plane ISL neighbours, K = 3),
      "II" (+ the inter-plane ISL neighbour in each adjacent plane, K = 5),
      "III" (+ in each adjacent plane, the second nearest to the central of
      that plane's satellites reachable in two ISL hops: the in-plane
      neighbours of the inter-plane neighbour, K = 7; seed-math [D]).
    group_size: wanted K (default: the type's natural size). If smaller,
      the natural members are truncated keeping the highest elevations; if
      larger, the group is filled by ISL hop distance from the central (ties
      by elevation). Members (auxiliaries) must see the target at elevation
      >= group_mask_rad (seed-math B.9: 0 rad); the central must be >= mask_rad.
    Central: the highest-elevation satellite above ``mask_rad``; the
      ``previous_central`` is kept while it is above the mask unless another
      is higher by more than ``hysteresis_rad``.
    A natural member that is missing (no ISL, or below the group mask) is
    not replaced by default: with fewer than group_size members the group has
    valid=False, the reason names each missing member, and ``members`` lists
    what was found. ``substitute=True`` fills such gaps like a larger
    group_size does (ISL hop distance, then elevation); the group is then
    valid, and its reason records what was substituted.
    """
    return serving_groups(
        graph,
        np.asarray(elevation_rad, dtype=float)[None, :],
        labels,
        group_size=group_size,
        collaboration=collaboration,
        mask_rad=mask_rad,
        group_mask_rad=group_mask_rad,
        previous_central=[previous_central],
        hysteresis_rad=hysteresis_rad,
        substitute=substitute,
    )[0]


def serving_groups(
    graph,
    elevation_rad,
    labels: PlaneLabels,
    *,
    group_size=None,
    collaboration="II",
    mask_rad=0.0,
    group_mask_rad=0.0,
    previous_central=None,
    hysteresis_rad=0.0,
    substitute=False,
) -> list:
    """Serving groups of G targets: elevation_rad (G, S); previous_central (G,) or None.

    Same rules as :func:`serving_group`; central selection and the natural
    candidate lookup are vectorised over targets (the neighbour table is
    indexed for all centrals at once). Returns a list of G ServingGroup.
    """
    if collaboration not in _NATURAL_SIZE:
        raise ValueError(f"collaboration must be 'I', 'II' or 'III', got {collaboration!r}")
    natural = _NATURAL_SIZE[collaboration]
    k = natural if group_size is None else int(group_size)
    if k < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size!r}")
    el = np.asarray(elevation_rad, dtype=float)
    if el.ndim != 2 or el.shape[1] != labels.n_sats:
        raise ValueError(f"elevation_rad must be (G, S) with S = {labels.n_sats}, got {el.shape}")
    if not hysteresis_rad >= 0:
        raise ValueError(f"hysteresis_rad must be >= 0, got {hysteresis_rad!r}")
    n_targets = el.shape[0]
    prev = (
        np.full(n_targets, -1)
        if previous_central is None
        else np.asarray(previous_central, dtype=np.int64)
    )
    if prev.shape != (n_targets,):
        raise ValueError(
            f"previous_central must have one entry per target ({n_targets}), got {prev.shape}"
        )
    grid = grid_neighbours(graph, labels)
    pos = graph.graph.get("sat_pos_m")
    central = _select_central(el, mask_rad, prev, hysteresis_rad)
    c = np.maximum(central, 0)
    # natural candidates (G, natural), -1 where the link is missing
    cand = [grid[c, 0], grid[c, 1]]
    if natural >= 5:
        cand += [grid[c, 2], grid[c, 3]]
    if natural >= 7:
        for side in (2, 3):
            j = grid[c, side]
            jj = np.maximum(j, 0)
            fore, aft = grid[jj, 0], grid[jj, 1]
            if pos is not None:
                d_fore = np.where(
                    fore >= 0, np.linalg.norm(pos[np.maximum(fore, 0)] - pos[c], axis=1), np.inf
                )
                d_aft = np.where(
                    aft >= 0, np.linalg.norm(pos[np.maximum(aft, 0)] - pos[c], axis=1), np.inf
                )
            else:  # no positions: prefer the one the target sees higher
                g = np.arange(n_targets)
                d_fore = np.where(fore >= 0, -el[g, np.maximum(fore, 0)], np.inf)
                d_aft = np.where(aft >= 0, -el[g, np.maximum(aft, 0)], np.inf)
            second = np.where(d_fore <= d_aft, fore, aft)
            cand.append(np.where(j >= 0, second, -1))
    cand = np.stack(cand, axis=1)
    names = ["fore", "aft", "east", "west", "east+1", "west+1"][: natural - 1]
    eligible = el >= group_mask_rad  # (G, S)
    out = []
    for g in range(n_targets):
        if central[g] < 0:
            out.append(
                ServingGroup(
                    -1, (), False, f"no satellite above the {np.degrees(mask_rad):.2f} deg mask"
                )
            )
            continue
        cg = int(central[g])
        members, missing, seen = [], [], {cg}
        for name, m in zip(names, cand[g]):
            m = int(m)
            if m < 0:
                missing.append(f"{name}: no ISL")
            elif m in seen:
                missing.append(f"{name}: duplicate of another member")
            elif not eligible[g, m]:
                missing.append(
                    f"{name}: sat {m} below the {np.degrees(group_mask_rad):.2f} deg group mask"
                )
            else:
                members.append(m)
                seen.add(m)
        if k - 1 < len(members):
            members = sorted(members, key=lambda m: -el[g, m])[: k - 1]
        elif k - 1 > len(members) and (k > natural or substitute):
            members += _hop_fill(graph, cg, seen, eligible[g], el[g], k - 1 - len(members))
        group = (cg,) + tuple(members)
        if len(group) >= k:
            note = (
                "substituted by ISL hop distance: " + ", ".join(missing)
                if (missing and substitute)
                else ""
            )
            out.append(ServingGroup(cg, group, True, note))
        else:
            why = f"found {len(group)} of {k} members (type {collaboration})"
            if missing:
                why += "; " + ", ".join(missing)
            out.append(ServingGroup(cg, group, False, why))
    return out


# --------------------------------------------------------------------------- standalone Walker snapshot
