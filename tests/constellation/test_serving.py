"""Tests of twin.constellation.serving: serving groups I/II/III, group sizes, hysteresis,
invalid groups, substitution, and the hop fill on the neighbour table vs networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from constellation.walkers import (
    ideal_walker,
    walker_graph,
)
from twin.constellation.isl import isl_graph
from twin.constellation.planes import PlaneLabels
from twin.constellation.serving import _hop_fill, serving_group, serving_groups
from twin.geometry import (
    geocentric_nadir_point,
    look_angles,
)

# --------------------------------------------------------------------------- serving groups


@pytest.fixture(scope="module")
def snapshot():
    planes, per_plane = 72, 22
    r, v, p, s = ideal_walker(planes, per_plane, 1)
    labels = PlaneLabels.from_arrays(np.zeros_like(p), p, s)
    graph = isl_graph(r, labels, max_range_m=6000e3)
    central = 5 * per_plane + 3
    target = geocentric_nadir_point(r[central])
    el, _, _ = look_angles(target[None, :], r)
    return r, p, s, labels, graph, central, el[0]


def test_collaboration_types_sizes_and_membership(snapshot):
    r, p, s, labels, graph, central, el = snapshot
    n = 22
    groups = {t: serving_group(graph, el, labels, collaboration=t) for t in ("I", "II", "III")}
    for t, k in (("I", 3), ("II", 5), ("III", 7)):
        g = groups[t]
        assert g.valid and g.reason == "" and g.central == central and g.members[0] == central
        assert len(g.members) == k and len(set(g.members)) == k
        assert np.all(el[list(g.members)] >= 0.0)
    # type I: the two in-plane neighbours (slot +-1)
    aux = groups["I"].members[1:]
    assert all(p[m] == p[central] and (s[m] - s[central]) % n in (1, n - 1) for m in aux)
    # type II adds exactly one ISL neighbour in each adjacent plane, the nearest of that plane
    extra = set(groups["II"].members) - set(groups["I"].members)
    assert sorted((p[m] - p[central]) % 72 for m in extra) == [1, 71]
    for m in extra:
        assert graph.has_edge(central, m)
        same_plane = np.flatnonzero(p == p[m])
        assert m == same_plane[np.argmin(np.linalg.norm(r[same_plane] - r[central], axis=1))]
    # type III adds, per adjacent plane, the second nearest (two ISL hops from the central)
    extra3 = set(groups["III"].members) - set(groups["II"].members)
    assert sorted((p[m] - p[central]) % 72 for m in extra3) == [1, 71]
    hops = nx.single_source_shortest_path_length(graph, central, cutoff=2)
    for m in extra3:
        assert hops[m] == 2
        same_plane = np.flatnonzero(p == p[m])
        d = np.linalg.norm(r[same_plane] - r[central], axis=1)
        assert m == same_plane[np.argsort(d)[1]]


def test_group_size_truncates_by_elevation_and_fills_by_hops(snapshot):
    r, p, s, labels, graph, central, el = snapshot
    natural = serving_group(graph, el, labels, collaboration="II")
    small = serving_group(graph, el, labels, collaboration="II", group_size=3)
    assert small.valid and len(small.members) == 3 and small.members[0] == central
    aux = np.array(natural.members[1:])
    np.testing.assert_array_equal(sorted(small.members[1:]), sorted(aux[np.argsort(-el[aux])[:2]]))
    big = serving_group(graph, el, labels, collaboration="I", group_size=6)
    assert big.valid and len(big.members) == 6
    assert big.members[:3] == serving_group(graph, el, labels, collaboration="I").members
    hops = nx.single_source_shortest_path_length(graph, central)
    fill = big.members[3:]
    assert [hops[m] for m in fill] == [
        1,
        1,
        2,
    ]  # the two inter-plane neighbours, then the best 2-hop one
    two_hop = [m for m, h in hops.items() if h == 2 and el[m] >= 0]
    assert el[fill[2]] == max(el[m] for m in two_hop)


def test_hysteresis_keeps_previous_central_until_beaten_by_more_than_threshold(snapshot):
    r, p, s, labels, graph, central, el = snapshot
    el = np.full(len(p), np.radians(-30.0))
    prev, other = 10, 500
    el[prev], el[other] = np.radians(50.0), np.radians(50.5)
    kw = dict(collaboration="I", mask_rad=np.radians(25.0), group_mask_rad=np.radians(-90.0))
    assert serving_group(graph, el, labels, **kw).central == other
    assert (
        serving_group(
            graph, el, labels, previous_central=prev, hysteresis_rad=np.radians(1.0), **kw
        ).central
        == prev
    )
    el[other] = np.radians(51.5)
    assert (
        serving_group(
            graph, el, labels, previous_central=prev, hysteresis_rad=np.radians(1.0), **kw
        ).central
        == other
    )
    el[other] = np.radians(30.0)
    el[prev] = np.radians(
        20.0
    )  # previous dropped below the mask: switch even though the new one is lower
    assert (
        serving_group(
            graph, el, labels, previous_central=prev, hysteresis_rad=np.radians(20.0), **kw
        ).central
        == other
    )


def test_invalid_group_when_target_sees_too_few(snapshot):
    r, p, s, labels, graph, central, el = snapshot
    # members must be above 80 deg: only the central is
    g = serving_group(graph, el, labels, collaboration="II", group_mask_rad=np.radians(80.0))
    assert not g.valid and g.central == central and g.members == (central,)
    assert "found 1 of 5" in g.reason and "below" in g.reason
    none = serving_group(graph, np.full(len(p), -0.5), labels, mask_rad=0.0)
    assert (
        none.central == -1
        and not none.valid
        and none.members == ()
        and "no satellite" in none.reason
    )
    with pytest.raises(ValueError, match="collaboration"):
        serving_group(graph, el, labels, collaboration="IV")


def test_substitute_fills_missing_natural_members_by_hop_distance(snapshot):
    r, p, s, labels, graph, central, el = snapshot
    cut = graph.copy()
    east = int(graph.graph["grid"][central, 2])
    cut.remove_edge(central, east)
    cut.graph["grid"] = graph.graph["grid"].copy()
    cut.graph["grid"][central, 2] = -1
    cut.graph["grid"][east, 3] = -1
    strict = serving_group(cut, el, labels, collaboration="II")
    assert not strict.valid and len(strict.members) == 4 and "east: no ISL" in strict.reason
    filled = serving_group(cut, el, labels, collaboration="II", substitute=True)
    assert filled.valid and len(filled.members) == 5 and filled.members[:4] == strict.members
    assert "substituted" in filled.reason and "east: no ISL" in filled.reason
    hops = nx.single_source_shortest_path_length(cut, central)
    extra = filled.members[4]
    best_two_hop = max(
        (m for m, h in hops.items() if h == 2 and m not in strict.members), key=lambda m: el[m]
    )
    assert hops[extra] == 2 and extra == best_two_hop
    assert serving_group(graph, el, labels, collaboration="II", substitute=True).reason == ""


def test_serving_groups_vectorised_equals_one_by_one(snapshot):
    r, p, s, labels, graph, central, el0 = snapshot
    rng = np.random.default_rng(7)
    sites = geocentric_nadir_point(r[rng.choice(len(p), 6, replace=False)])
    el, _, _ = look_angles(sites, r)
    prev = np.array([-1, 3, -1, 40, -1, 7])
    batch = serving_groups(
        graph, el, labels, collaboration="III", previous_central=prev, hysteresis_rad=0.01
    )
    for g in range(len(sites)):
        one = serving_group(
            graph, el[g], labels, collaboration="III", previous_central=prev[g], hysteresis_rad=0.01
        )
        assert one == batch[g]


def test_hop_fill_on_the_neighbour_table_equals_networkx_bfs():
    """The vectorised breadth-first fill (unmaterialised graph) picks the same members as
    networkx's BFS on the same graph, on a shell with dead satellites and range cuts."""
    r, p, s, labels, _ = walker_graph(12, 20)
    rng = np.random.default_rng(11)
    valid = rng.random(len(p)) > 0.1
    lazy = isl_graph(r, labels, max_range_m=2500e3, valid=valid)
    built = isl_graph(r, labels, max_range_m=2500e3, valid=valid)
    built.number_of_edges()  # materialise: _hop_fill then runs networkx's BFS
    assert built.materialised
    checked = 0
    for _ in range(60):
        central = int(rng.choice(np.flatnonzero(valid)))
        el = rng.uniform(-0.5, 1.0, size=len(p)).round(1)  # rounded: elevation ties break by index
        eligible = el >= 0.0
        exclude = {central} | set(rng.choice(len(p), 3).tolist())
        count = int(rng.integers(1, 12))
        a = _hop_fill(lazy, central, exclude, eligible, el, count)
        b = _hop_fill(built, central, exclude, eligible, el, count)
        assert a == b
        checked += len(a)
    assert not lazy.materialised and checked > 200
