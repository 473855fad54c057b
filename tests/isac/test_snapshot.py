"""Tests of twin.paper.isac.snapshot: the serving-group geometry on a Walker Delta snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from twin.geometry import (
    ecef_to_geodetic,
    look_angles,
)
from twin.paper.isac.snapshot import walker_group_snapshot


@pytest.mark.parametrize("collaboration,k", [("I", 3), ("II", 5), ("III", 7)])
def test_walker_group_snapshot(collaboration, k):
    g = walker_group_snapshot(collaboration=collaboration)
    assert g.sat_pos.shape == (k, 3) and g.sat_vel.shape == (k, 3) and len(g.members) == k
    _, _, h = ecef_to_geodetic(g.central_nadir_ecef[None, :])
    assert abs(h[0]) < 1e-3
    # the service-area centre is straight below the central (geocentric nadir) ...
    c = g.sat_pos[0]
    np.testing.assert_allclose(
        np.cross(c, g.central_nadir_ecef) / np.linalg.norm(c) ** 2, 0.0, atol=1e-9
    )
    # ... near the equator on an ascending pass
    lat, _, alt = ecef_to_geodetic(c[None, :])
    assert abs(np.degrees(lat[0])) < 5.0 and g.sat_vel[0, 2] > 0
    assert 540e3 < alt[0] < 560e3
    el, _, rng_m = look_angles(g.central_nadir_ecef[None, :], g.sat_pos)
    assert np.all(el >= 0) and np.argmax(el[0]) == 0
    assert np.all(rng_m <= 2700e3)  # seed 000 Table I: d in [550, 2700] km


def test_walker_group_snapshot_other_sizes_and_given_central():
    g = walker_group_snapshot(planes=36, per_plane=18, collaboration="II", central_index=100)
    assert g.members[0] == 100 and len(g.members) == 5
