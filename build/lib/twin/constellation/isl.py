"""The +Grid inter-satellite link (ISL) graph of one epoch (`isl_graph`, `IslGraph`) and its
(S, 4) neighbour table (`grid_neighbours`).

+Grid: each satellite links to its slot +-1 neighbours in its plane
(cyclic) and to one satellite in each RAAN-adjacent plane of its shell
(the nearest, made one-to-one per plane pair, see :func:`isl_graph`); the
planes come from `twin.constellation.planes` (see docs/topology.md).

Arrays are indexed by satellite 0..S-1; positions are Earth-fixed metres (S, 3).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

from twin.constellation.planes import PlaneLabels
from twin.geometry import (
    DEFAULT_ATMOSPHERE_MARGIN_M,
    WGS84_EQUATORIAL_RADIUS_M,
    earth_occluded,
)
from twin.units import C_LIGHT

#: Column order of the neighbour table ``graph.graph["grid"]`` built by :func:`isl_graph`.
GRID_COLUMNS = ("fore", "aft", "east", "west")


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
    # They are networkx's private storage: this fast path is kept on purpose. The public API
    # (a plain nx.Graph built at once with add_nodes_from / add_edges_from and attribute dicts,
    # or nx.from_scipy_sparse_array with the length only) costs, on the Starlink snapshot
    # (10,347 satellites, 17,122 links; best of 5 epochs, shared 2-core machine):
    # isl_graph 21 ms lazy vs 66 ms built with add_edges_from (59 ms from_scipy_sparse_array),
    # per-epoch total of tests/bench/test_bench_topology.py 38 ms vs 83 ms. A networkx upgrade
    # that renames _node/_adj fails test_isl_graph_is_built_on_first_use_and_pickles.
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
