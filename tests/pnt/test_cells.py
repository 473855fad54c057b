"""Tests of the hexagonal cell cluster (seed-math A.11)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twin.pnt.cells import hex_cells, sample_in_hexagons

R_HEX = 43.3e3


def test_hex_cells_layout():
    cells = hex_cells()
    assert cells.shape == (61, 2)
    np.testing.assert_allclose(cells[0], [0.0, 0.0])
    d = np.linalg.norm(cells[:, None] - cells[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    # nearest-neighbour spacing sqrt(3) R = 75.0 km, every cell has at least 3 neighbours
    np.testing.assert_allclose(d.min(), np.sqrt(3) * R_HEX, rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(3) * R_HEX, 75.0e3, rtol=1e-3)
    n_neigh = (np.abs(d - np.sqrt(3) * R_HEX) < 1.0).sum(axis=1)
    assert n_neigh[0] == 6 and n_neigh.min() >= 3
    # ring k lies at hex distance k: counts 1, 6, 12, 18, 24 ordered ring by ring
    radius = np.linalg.norm(cells, axis=1)
    ring_sizes = [1, 6, 12, 18, 24]
    start = 0
    for k, size in enumerate(ring_sizes):
        ring = radius[start : start + size]
        assert ring.max() <= k * np.sqrt(3) * R_HEX + 1e-6
        assert ring.min() >= k * 1.5 * R_HEX - 1e-6
        start += size
    # no duplicates
    assert len({tuple(np.round(c, 3)) for c in cells}) == 61
    assert hex_cells(rings=0).shape == (1, 2)
    with pytest.raises(ValueError, match="rings"):
        hex_cells(rings=-1)
    with pytest.raises(ValueError, match="circumradius"):
        hex_cells(circumradius_m=0.0)


def test_ut_points_fall_in_their_own_hexagon_and_are_uniform():
    rng = np.random.default_rng(1)
    cells = hex_cells()
    pts = sample_in_hexagons(cells, R_HEX, rng)
    # The Voronoi cell of a hexagonal lattice site is its hexagon: nearest centre = own cell.
    nearest = np.argmin(np.linalg.norm(pts[:, None] - cells[None], axis=-1), axis=1)
    np.testing.assert_array_equal(nearest, np.arange(61))
    assert np.linalg.norm(pts - cells, axis=1).max() <= R_HEX
    # Uniformity in one hexagon: E[x] = 0 and E[r^2] = 5 R^2 / 12 (regular hexagon).
    many = sample_in_hexagons(np.zeros((200_000, 2)), R_HEX, rng)
    np.testing.assert_allclose(many.mean(axis=0) / R_HEX, [0, 0], atol=5e-3)
    np.testing.assert_allclose((many**2).sum(axis=1).mean(), 5 * R_HEX**2 / 12, rtol=5e-3)
    # pointy-top: the extent is R north-south and sqrt(3)/2 R east-west
    assert np.abs(many[:, 1]).max() > 0.99 * R_HEX
    assert np.abs(many[:, 0]).max() <= np.sqrt(3) / 2 * R_HEX + 1e-6
    # Independent check: rejection sampling from the bounding box, two-sample KS on radius.
    box = rng.uniform([-R_HEX, -R_HEX], [R_HEX, R_HEX], size=(400_000, 2))
    inside = (
        np.argmin(np.linalg.norm(box[:, None] - hex_cells(rings=1)[None], axis=-1), axis=1) == 0
    )
    ref = np.linalg.norm(box[inside], axis=1)[:50_000]
    ks = stats.ks_2samp(np.linalg.norm(many[:50_000], axis=1), ref)
    assert ks.pvalue > 1e-3
