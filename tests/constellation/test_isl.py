"""Tests of twin.constellation.isl: the +Grid ISL graph (brute-force range and occlusion
checks, invalid satellites, built on first use), its neighbour table, and the real-Starlink
statistics (printed; recorded in docs/topology.md)."""

from __future__ import annotations

import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from constellation.walkers import (
    ideal_walker,
    walker_graph,
)
from twin.constellation.isl import GRID_COLUMNS, _inter_pairs, grid_neighbours, isl_graph
from twin.constellation.orbits import propagate_itrs, propagate_teme, to_datetime64
from twin.constellation.planes import PlaneLabels, infer_planes, orbital_elements
from twin.constellation.tle import read_tle
from twin.geometry import (
    WGS84_EQUATORIAL_RADIUS_M,
)
from twin.units import C_LIGHT

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_NAME = "starlink-2026-05-28.tle"
#: The real Starlink snapshot: the repository's copy, else the shared one.
STARLINK_TLE = next(
    (
        p
        for p in (
            ROOT / "ephemeris" / SNAPSHOT_NAME,
            ROOT / ".." / "shared" / "data" / "tle" / SNAPSHOT_NAME,
        )
        if p.exists()
    ),
    ROOT / "ephemeris" / SNAPSHOT_NAME,
)


# --------------------------------------------------------------------------- ISL graph


@pytest.mark.parametrize("planes,per_plane,phasing", [(72, 22, 1), (72, 22, 39), (36, 18, 17)])
def test_plus_grid_on_walker_shell_unlimited_range(planes, per_plane, phasing):
    r, p, s, labels, g = walker_graph(planes, per_plane, phasing, atmosphere_margin_m=0.0)
    assert g.number_of_nodes() == planes * per_plane
    assert all(d == 4 for _, d in g.degree())
    offsets = {}
    for a, b, data in g.edges(data=True):
        np.testing.assert_allclose(data["length_m"], np.linalg.norm(r[a] - r[b]), rtol=1e-12)
        np.testing.assert_allclose(data["delay_s"], data["length_m"] / C_LIGHT, rtol=1e-12)
        if data["kind"] == "intra":
            assert p[a] == p[b] and (s[a] - s[b]) % per_plane in (1, per_plane - 1)
        else:
            assert data["kind"] == "inter"
            assert (p[a] - p[b]) % planes in (1, planes - 1)
            lo, hi = (a, b) if (p[b] - p[a]) % planes == 1 else (b, a)
            offsets.setdefault(p[lo], set()).add((s[hi] - s[lo]) % per_plane)
    # the usual +Grid: one fixed slot offset per pair of adjacent planes
    assert len(offsets) == planes and all(len(o) == 1 for o in offsets.values())
    a, _ = _inter_pairs(r, labels, np.ones(len(p), dtype=bool), max_rounds=1)
    assert len(a) == len(p)  # every satellite is matched in the first mutual-nearest round
    grid = g.graph["grid"]
    assert GRID_COLUMNS == ("fore", "aft", "east", "west")
    np.testing.assert_array_equal(s[grid[:, 0]], (s + 1) % per_plane)
    np.testing.assert_array_equal(p[grid[:, 2]], (p + 1) % planes)
    np.testing.assert_array_equal(grid[grid[:, 2], 3], np.arange(len(p)))


def _min_radius_sampled(a, b, n=4001):
    t = np.linspace(0.0, 1.0, n)
    pts = a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]
    return np.linalg.norm(pts, axis=-1).min(axis=1)


@pytest.mark.parametrize(
    "max_range_km,margin_km", [(np.inf, 200.0), (5000.0, 150.0), (3000.0, 80.0), (2500.0, 0.0)]
)
def test_range_cut_and_occlusion_remove_exactly_the_right_links(max_range_km, margin_km):
    # 9 per plane at 550 km: in-plane links pass 6510 km from the centre (clear for an 80 km
    # margin, occluded for 200 km); inter-plane links vary in length with latitude.
    kw = dict(planes=10, per_plane=9, phasing=1, altitude_m=550e3)
    r, p, s, labels, full = walker_graph(**kw, atmosphere_margin_m=0.0)
    _, _, _, _, cut = walker_graph(
        **kw, max_range_m=max_range_km * 1e3, atmosphere_margin_m=margin_km * 1e3
    )
    edges = np.array(list(full.edges()))
    length = np.linalg.norm(r[edges[:, 0]] - r[edges[:, 1]], axis=1)
    clear = (
        _min_radius_sampled(r[edges[:, 0]], r[edges[:, 1]])
        >= WGS84_EQUATORIAL_RADIUS_M + margin_km * 1e3
    )
    expect = {
        tuple(sorted(e))
        for e, ok in zip(edges.tolist(), (length <= max_range_km * 1e3) & clear)
        if ok
    }
    got = {tuple(sorted(e)) for e in cut.edges()}
    assert got == expect
    assert 0 < len(got) < len(edges)  # the case removes some links and keeps some


def test_invalid_satellites_keep_their_node_and_rings_close_over_them():
    r, p, s, labels, _ = walker_graph(12, 20)
    valid = np.ones(len(p), dtype=bool)
    dead = 43  # plane 2, slot 3
    valid[dead] = False
    g = isl_graph(
        r, labels, max_range_m=np.inf, valid=valid, names=[f"S{i}" for i in range(len(p))]
    )
    assert g.degree(dead) == 0 and g.nodes[dead]["name"] == "S43"
    assert g.has_edge(42, 44) and g.edges[42, 44]["kind"] == "intra"
    assert g.graph["grid"][42, 0] == 44
    assert (
        sum(d == 4 for _, d in g.degree()) == len(p) - 3
    )  # the dead one, and its west/east partners lost one link
    g2 = isl_graph(r, labels, max_range_m=np.inf, inter_plane=False)
    assert {d["kind"] for _, _, d in g2.edges(data=True)} == {"intra"}
    with pytest.raises(ValueError, match="max_range_m"):
        isl_graph(r, labels, max_range_m=0.0)


def test_isl_graph_is_built_on_first_use_and_pickles():
    r, p, s, labels, _ = walker_graph(12, 20)
    valid = np.ones(len(p), dtype=bool)
    valid[[5, 77]] = False
    names = [f"S{i}" for i in range(len(p))]
    g = isl_graph(r, labels, max_range_m=2500e3, valid=valid, names=names)
    e = g.graph["edges"]
    assert not g.materialised and g.graph["grid"].shape == (len(p), 4)
    clone = pickle.loads(pickle.dumps(g))
    assert not clone.materialised
    assert g.number_of_nodes() == len(p) and g.number_of_edges() == len(e["a"]) > 0
    assert g.materialised and g.nodes[7]["name"] == "S7"
    want = {
        (min(a, b), max(a, b)): (d, "inter" if k else "intra")
        for a, b, d, k in zip(
            e["a"].tolist(), e["b"].tolist(), e["length_m"].tolist(), e["kind_inter"].tolist()
        )
    }
    got = {(min(a, b), max(a, b)): (d["length_m"], d["kind"]) for a, b, d in g.edges(data=True)}
    assert got == want
    assert all(d["delay_s"] == d["length_m"] / C_LIGHT for _, _, d in g.edges(data=True))
    assert clone.adj == g.adj and clone.nodes == g.nodes and g.copy().adj == g.adj
    assert g.degree(5) == 0 and g.degree(6) > 0


def test_two_plane_shell_links_each_pair_once():
    r, v, p, s = ideal_walker(2, 12, 0, inclination_rad=np.radians(87.9))
    labels = PlaneLabels.from_arrays(np.zeros_like(p), p, s)
    g = isl_graph(r, labels, max_range_m=np.inf, atmosphere_margin_m=0.0)
    inter = [(a, b) for a, b, k in g.edges(data="kind") if k == "inter"]
    assert len(inter) == 12 and all(d == 3 for _, d in g.degree())
    assert len(g.graph["edges"]["a"]) == g.number_of_edges()


# --------------------------------------------------------------------------- real Starlink


def test_real_starlink_planes_and_plus_grid_degree():
    if not STARLINK_TLE.exists():
        pytest.skip(f"{SNAPSHOT_NAME} not found in ephemeris/ nor ../shared/data/tle/")
    c = read_tle(STARLINK_TLE)
    t = to_datetime64(["2026-05-28T12:00:00"])
    r, v, err = propagate_teme(c, t)
    ok = err[0] == 0
    labels = infer_planes(r[0][ok], v[0][ok])
    inc, raan, _, sma = orbital_elements(r[0][ok], v[0][ok])
    pos, _, _ = propagate_itrs(c, t)
    graph = isl_graph(pos[0][ok], labels, max_range_m=5000e3, atmosphere_margin_m=80e3)
    deg = np.array([d for _, d in graph.degree()])
    print(
        f"\nStarlink {STARLINK_TLE.name} at {t[0]}: {ok.sum()} satellites, {labels.n_planes} planes, "
        f"{labels.plane_shell.max() + 1} shells; +Grid (5000 km, 80 km margin) degree 4: {np.mean(deg == 4):.3f}; "
        f"degree histogram {np.bincount(deg, minlength=5).tolist()}"
    )
    for sh in range(labels.plane_shell.max() + 1):
        m = labels.shell == sh
        if m.sum() < 100:
            continue
        print(
            f"  shell {sh}: {m.sum():5d} sats, {np.count_nonzero(labels.plane_shell == sh):3d} planes, "
            f"i = {np.degrees(inc[m].mean()):.2f} deg, a - R_eq = {(sma[m].mean() - 6378137) / 1e3:.0f} km, "
            f"degree 4: {np.mean(deg[m] == 4):.3f}"
        )
    unlimited = isl_graph(pos[0][ok], labels, max_range_m=np.inf, atmosphere_margin_m=0.0)
    east = np.count_nonzero(unlimited.graph["grid"][:, 2] >= 0)
    has_next = labels.plane_next >= 0
    bound = np.minimum(
        labels.plane_sizes,
        np.where(has_next, labels.plane_sizes[np.maximum(labels.plane_next, 0)], 0),
    ).sum()
    deg_u = np.array([d for _, d in unlimited.degree()])
    print(
        f"  unlimited range, no margin: {east} east-west links of at most sum_p min(n_p, n_next) = {bound}; "
        f"degree 4: {np.mean(deg_u == 4):.3f}"
    )
    small = labels.plane_sizes < 5
    print(
        f"  {small.sum()} planes of < 5 satellites (in transit) hold {labels.plane_sizes[small].sum()} satellites"
    )
    # structural checks (not tuned numbers): every plane is one orbit plane, degree <= 4
    assert deg.max() <= 4
    centre = labels.plane_raan_rad[labels.plane]
    spread = np.abs(np.angle(np.exp(1j * (raan - centre))))
    assert np.degrees(spread).max() < 3.0
    plane_inc = np.bincount(labels.plane, weights=inc) / labels.plane_sizes
    assert np.degrees(np.abs(inc - plane_inc[labels.plane])).max() < 0.3
    # planes of a shell are ordered by RAAN and adjacency follows that order
    for sh in range(labels.plane_shell.max() + 1):
        q = np.flatnonzero(labels.plane_shell == sh)
        assert np.all(np.diff(labels.plane_raan_rad[q]) >= 0)
    assert np.mean(deg == 4) > 0.3


def test_grid_table_rebuilt_from_edges_matches_isl_graph():
    r, p, s, labels, _ = walker_graph(12, 20)
    valid = np.ones(len(p), dtype=bool)
    valid[[5, 77, 78, 200]] = False
    g = isl_graph(r, labels, max_range_m=2500e3, valid=valid)

    plain = nx.Graph()
    plain.add_nodes_from(g.nodes)
    plain.add_edges_from(g.edges(data=True))
    rebuilt = grid_neighbours(plain, labels)
    np.testing.assert_array_equal(rebuilt, g.graph["grid"])
    assert (rebuilt[valid] >= 0).any() and (rebuilt[valid] < 0).any()
