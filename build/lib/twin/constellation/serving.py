"""Serving groups of seed 000 (collaboration types I, II, III): the central satellite of each
ground target (with hysteresis), its natural +Grid members, and the fill by ISL hop distance.

Satellites are indexed 0..S-1; elevations radians (see docs/topology.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from twin.constellation.isl import IslGraph, grid_neighbours
from twin.constellation.planes import PlaneLabels

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
