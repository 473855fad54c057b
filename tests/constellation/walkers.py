"""Ideal circular Walker-Delta states and their +Grid graphs, shared by the plane, ISL and
serving-group tests (tests/constellation/test_planes.py, test_isl.py, test_serving.py)."""

from __future__ import annotations

import numpy as np

from twin.constellation.isl import isl_graph
from twin.constellation.planes import PlaneLabels
from twin.geometry import WGS84_EQUATORIAL_RADIUS_M

MU = 3.986004418e14


def ideal_walker(
    planes,
    per_plane,
    phasing,
    altitude_m=550e3,
    inclination_rad=np.radians(53.0),
    raan0=0.0,
    raan_span=2 * np.pi,
):
    """Ideal circular Walker-Delta states in an inertial frame (taken as Earth-fixed at t = 0).

    Plane p has RAAN = raan0 + raan_span p / P (pi for a Walker star); slot s has argument of latitude
    u = 2 pi s / N + 2 pi F p / (P N). Returns r (S, 3), v (S, 3), plane (S,), slot (S,).
    """
    a = WGS84_EQUATORIAL_RADIUS_M + altitude_m
    p = np.repeat(np.arange(planes), per_plane)
    s = np.tile(np.arange(per_plane), planes)
    raan = raan0 + raan_span * p / planes
    u = 2 * np.pi * s / per_plane + 2 * np.pi * phasing * p / (planes * per_plane)
    co, so, cu, su = np.cos(raan), np.sin(raan), np.cos(u), np.sin(u)
    ci, si = np.cos(inclination_rad), np.sin(inclination_rad)
    r = a * np.stack([cu * co - su * ci * so, cu * so + su * ci * co, su * si], axis=1)
    v = np.sqrt(MU / a) * np.stack(
        [-su * co - cu * ci * so, -su * so + cu * ci * co, cu * si], axis=1
    )
    return r, v, p, s


def assert_same_partition_and_cyclic_slots(plane, slot, true_plane, true_slot, per_plane):
    """Inferred planes are a relabelling of the true ones; slots a cyclic shift within each plane.

    plane, slot: inferred (S,); true_plane, true_slot: (S,); per_plane: int or (S,).
    """
    pairs = set(zip(plane.tolist(), true_plane.tolist()))
    assert len(pairs) == len(set(true_plane.tolist())) == len(set(plane.tolist()))
    per_plane = np.broadcast_to(per_plane, plane.shape)
    for q in np.unique(plane):
        m = plane == q
        shift = (slot[m] - true_slot[m]) % per_plane[m]
        assert np.all(shift == shift[0]), (
            f"plane {q}: slots are not a cyclic shift of the true ones"
        )


def walker_graph(planes=12, per_plane=10, phasing=1, altitude_m=550e3, **kw):
    r, v, p, s = ideal_walker(planes, per_plane, phasing, altitude_m=altitude_m)
    labels = PlaneLabels.from_arrays(np.zeros_like(p), p, s)
    kw.setdefault("max_range_m", np.inf)
    return r, p, s, labels, isl_graph(r, labels, **kw)
