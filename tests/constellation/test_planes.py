"""Tests of twin.constellation.planes: orbital elements and plane inference (ideal and SGP4
Walker shells, satellites in transit, unusable states, the seam of a Walker star)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from constellation.walkers import (
    assert_same_partition_and_cyclic_slots,
    ideal_walker,
)
from twin.constellation.isl import isl_graph
from twin.constellation.orbits import propagate_teme, to_datetime64
from twin.constellation.planes import infer_planes, orbital_elements
from twin.constellation.walker import concat_constellations, walker_delta
from twin.geometry import (
    WGS84_EQUATORIAL_RADIUS_M,
)

EPOCH = datetime(2026, 5, 28, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- elements and plane inference


def test_orbital_elements_of_ideal_walker():
    r, v, p, s = ideal_walker(12, 10, 1, inclination_rad=np.radians(53.0))
    inc, raan, u, sma = orbital_elements(r, v)
    np.testing.assert_allclose(inc, np.radians(53.0), atol=1e-12)
    np.testing.assert_allclose(np.exp(1j * raan), np.exp(1j * 2 * np.pi * p / 12), atol=1e-12)
    true_u = 2 * np.pi * s / 10 + 2 * np.pi * p / 120
    np.testing.assert_allclose(np.exp(1j * u), np.exp(1j * true_u), atol=1e-12)
    np.testing.assert_allclose(sma, WGS84_EQUATORIAL_RADIUS_M + 550e3, rtol=1e-12)


@pytest.mark.parametrize(
    "planes,per_plane,phasing", [(72, 22, 1), (36, 18, 1), (54, 28, 39), (24, 6, 5)]
)
def test_infer_planes_recovers_ideal_walker_exactly(planes, per_plane, phasing):
    r, v, p, s = ideal_walker(planes, per_plane, phasing, raan0=0.3)
    labels = infer_planes(r, v, min_plane_size=3)
    assert np.all(labels.shell == 0)
    assert_same_partition_and_cyclic_slots(labels.plane, labels.slot, p, s, per_plane)
    np.testing.assert_array_equal(labels.plane_sizes, per_plane)
    # RAAN adjacency: the next plane of the true plane k is the true plane k+1 (cyclic)
    true_of = np.empty(labels.n_planes, dtype=int)
    true_of[labels.plane] = p
    np.testing.assert_array_equal(true_of[labels.plane_next], (true_of + 1) % planes)
    np.testing.assert_array_equal(true_of[labels.plane_prev], (true_of - 1) % planes)


def test_infer_planes_recovers_sgp4_walker_shells_and_keeps_transit_satellites_apart():
    a = walker_delta(72 * 22, 72, 1, 550e3, np.radians(53.0), epoch=EPOCH, shell_id=0)
    b = walker_delta(
        36 * 20, 36, 1, 570e3, np.radians(70.0), epoch=EPOCH, shell_id=1, first_catalog=95000
    )
    c = concat_constellations([a, b])
    r, v, err = propagate_teme(c, to_datetime64([EPOCH]))
    assert np.all(err == 0)
    r, v = r[0], v[0]
    # transit satellites: orbit raising at 420 km, RAAN half-way between planes 10 and 11 of shell 0
    raising = ideal_walker(1, 4, 0, altitude_m=420e3, raan0=np.radians(52.5))
    inc, raan, _, sma = orbital_elements(r, v)
    key = c.shell * 1000 + c.plane
    for name, x, unit in (
        ("i", np.degrees(inc), "deg"),
        ("RAAN", np.degrees(np.unwrap(raan)), "deg"),
        ("a", sma / 1e3, "km"),
    ):
        spread = max(np.ptp(x[key == k]) for k in np.unique(key))
        print(
            f"\nSGP4 Walker osculating scatter within a plane: {name} peak-to-peak up to {spread:.3f} {unit}",
            end="",
        )
    r_all = np.vstack([r, raising[0]])
    v_all = np.vstack([v, raising[1]])
    labels = infer_planes(r_all, v_all)
    real = slice(0, len(c))
    true_plane = c.shell * 1000 + c.plane
    assert_same_partition_and_cyclic_slots(
        labels.plane[real],
        labels.slot[real],
        true_plane,
        c.slot,
        per_plane=np.where(c.shell == 0, 22, 20),
    )
    # shells follow the construction (shell ids by decreasing size: 1584 then 720)
    np.testing.assert_array_equal(labels.shell[real], c.shell)
    # the 4 raising satellites form their own plane, in a shell of their own
    tail = labels.plane[len(c) :]
    assert np.all(tail == tail[0]) and not np.isin(tail[0], labels.plane[real])
    assert labels.shell[len(c)] not in (0, 1)


def test_drifting_satellite_between_planes_at_the_same_altitude_stays_apart():
    r, v, p, s = ideal_walker(72, 22, 1, raan0=0.0)
    drift = ideal_walker(
        1, 1, 0, raan0=np.radians(5 * 7 + 2.5)
    )  # half-way between planes 7 and 8, same altitude
    labels = infer_planes(np.vstack([r, drift[0]]), np.vstack([v, drift[1]]))
    assert_same_partition_and_cyclic_slots(labels.plane[:-1], labels.slot[:-1], p, s, 22)
    assert labels.plane_sizes[labels.plane[-1]] == 1 and labels.shell[-1] != labels.shell[0]
    assert np.all(labels.shell[:-1] == labels.shell[0])


def test_infer_planes_rejects_bad_input():
    r, v, _, _ = ideal_walker(4, 4, 1)
    with pytest.raises(ValueError, match="raan_gap_rad"):
        infer_planes(r, v, raan_gap_rad=-1.0)
    with pytest.raises(ValueError, match=r"\(S, 3\)"):
        infer_planes(r[:, :2], v)


def test_unusable_states_get_their_own_planes_and_empty_inputs_work():
    r, v, p, s = ideal_walker(12, 10, 1)
    r[[3, 50]] = np.nan
    labels = infer_planes(r, v, min_plane_size=3)
    good = np.isfinite(r[:, 0])
    pairs = set(zip(labels.plane[good].tolist(), p[good].tolist()))
    assert len(pairs) == 12 == len(set(labels.plane[good].tolist()))
    for q in set(labels.plane[good].tolist()):
        m = good & (labels.plane == q)
        seq = s[m][
            np.argsort(labels.slot[m])
        ]  # true slots in inferred order: one cyclic rotation of a sorted run
        assert np.count_nonzero(np.diff(seq) < 0) <= 1 and sorted(labels.slot[m]) == list(
            range(m.sum())
        )
    assert len({labels.plane[3], labels.plane[50]} & set(labels.plane[good].tolist())) == 0
    assert labels.plane[3] != labels.plane[50] and labels.plane_next[labels.plane[3]] == -1
    g = isl_graph(r, labels, max_range_m=np.inf)
    assert g.degree(3) == 0 and g.degree(50) == 0 and g.degree(7) == 4
    assert not g.has_edge(
        2, 4
    )  # skipping the dead satellite: a 72-deg chord, below the 80 km margin
    empty = infer_planes(np.zeros((0, 3)), np.zeros((0, 3)))
    assert (
        empty.n_sats == 0
        and isl_graph(np.zeros((0, 3)), empty, max_range_m=1e6).number_of_nodes() == 0
    )
    none_valid = isl_graph(r, labels, max_range_m=np.inf, valid=np.zeros(len(p), dtype=bool))
    assert none_valid.number_of_edges() == 0 and none_valid.number_of_nodes() == len(p)


def test_walker_star_seam_is_not_an_adjacency():
    # OneWeb-like star: 12 polar planes over 180 deg of RAAN; the far side (RAAN + 180) is counter-rotating
    r, v, p, s = ideal_walker(
        12, 20, 0, altitude_m=1200e3, inclination_rad=np.radians(87.9), raan_span=np.pi
    )
    labels = infer_planes(r, v)
    true_of = np.empty(labels.n_planes, dtype=int)
    true_of[labels.plane] = p
    first, last = np.flatnonzero(true_of == 0)[0], np.flatnonzero(true_of == 11)[0]
    assert labels.plane_prev[first] == -1 and labels.plane_next[last] == -1
    inner = (true_of > 0) & (true_of < 11)
    np.testing.assert_array_equal(true_of[labels.plane_next[inner]], true_of[inner] + 1)
    g = isl_graph(r, labels, max_range_m=np.inf, atmosphere_margin_m=0.0)
    deg = np.array([d for _, d in g.degree()])
    np.testing.assert_array_equal(deg, np.where(np.isin(p, [0, 11]), 3, 4))
    wrapped = infer_planes(
        r, v, seam_gap_rad=2 * np.pi
    )  # no seam rule: cyclic as in a Walker delta
    assert np.all(wrapped.plane_next >= 0)
