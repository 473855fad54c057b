"""Satellite clocks (twin.signal.clocks): Allan deviation and seeding."""

from __future__ import annotations

import numpy as np

from twin.signal.clocks import allan_deviation, clock_offsets


def test_white_fm_walk_has_the_given_allan_deviation():
    sigma_1s = 1e-11
    phase = clock_offsets(
        5, [0, 1, 2, 3], 20000, 1.0, offset_sigma_s=0, drift_sigma=0, allan_1s=sigma_1s
    )
    for m in (1, 10, 100):
        adev = np.mean([allan_deviation(phase[:, k], 1.0, m) for k in range(4)])
        assert abs(adev / (sigma_1s / np.sqrt(m)) - 1) < 0.1, m


def test_allan_deviation_of_a_known_record():
    """A pure frequency step: ADEV = |Δy| / √2 at τ = tau0 for alternating frequencies."""
    y = np.tile([1e-9, -1e-9], 50)
    phase = np.concatenate([[0.0], np.cumsum(y)])
    assert np.isclose(allan_deviation(phase, 1.0, 1), 2e-9 / np.sqrt(2))


def test_offsets_are_seeded_per_satellite():
    kw = dict(offset_sigma_s=1e-8, drift_sigma=1e-12, allan_1s=1e-11)
    both = clock_offsets(3, [7, 9], 50, 10.0, **kw)
    alone = clock_offsets(3, [9], 50, 10.0, **kw)
    shorter = clock_offsets(3, [9], 20, 10.0, **kw)
    assert np.array_equal(both[:, 1], alone[:, 0])
    assert np.array_equal(shorter[:, 0], alone[:20, 0])
    assert not np.array_equal(both[:, 0], both[:, 1])
    assert 1e-10 < np.std(clock_offsets(3, range(400), 1, 10.0, **kw)) < 3e-8
