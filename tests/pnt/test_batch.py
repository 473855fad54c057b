"""Batched feasibility tests across drops (twin.pnt.batch, feasibility.fast_reduced_many)
against the one-at-a-time path.

Tolerance: the batched tests iterate the same equations on stacked arrays (numpy's stacked
LAPACK instead of scipy's single calls), so their iterates differ by rounding only. Stated
and asserted here: identical verdicts, iteration counts and DSTA statuses/test counts; beams
and SINRs within 1e-5 relative (FEAS_RTOL = 1e-3 is the band either verdict may use).
"""

from __future__ import annotations

import numpy as np
import pytest

from pnt.test_beamforming_warm import NOISE_W, P_W, drop
from twin.pnt import beamforming as bf
from twin.pnt import feasibility as fz
from twin.pnt.batch import NOT_BATCHED, run_batched, submit

RTOL = 1e-5


def _requests(seed, n=60):
    """n normalised tests of 2..6 UTs: random channels, thresholds from easy to infeasible,
    a third with the warm state of an easier threshold."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        K = int(rng.integers(2, 7))
        Hn = (rng.normal(size=(K, K)) + 1j * rng.normal(size=(K, K))) * rng.uniform(2, 6)
        gamma = np.full(K, rng.uniform(0.5, 30.0))
        state = None
        if rng.uniform() < 0.35:
            ok, _, warm, _ = fz.fast_reduced(Hn, gamma * 0.5)
            state = warm if ok else None
        out.append((Hn, gamma, state, fz.FAST_MAX_ITER))
    return out


def test_fast_reduced_many_equals_one_at_a_time():
    requests = _requests(1)
    single = [fz.fast_reduced(Hn, g, st, max_iter=mi) for Hn, g, st, mi in requests]
    many = fz.fast_reduced_many(requests)
    verdicts = [s[0] for s in single]
    assert {True, False} <= set(verdicts)  # the set exercises both certificates
    for (v1, X1, _, n1), (v2, X2, _, n2) in zip(single, many):
        assert (v1, n1) == (v2, n2)
        if v1:
            np.testing.assert_allclose(X2, X1, rtol=RTOL, atol=RTOL * np.abs(X1).max())


def test_submit_outside_a_batch_solves_alone():
    assert submit(("anything",)) is NOT_BATCHED


def test_dsta_across_drops_equals_the_per_drop_loop():
    drops = [drop(seed, I=4, C=9) for seed in range(6)]

    def one(d):
        H, delta, ut, sats, ref = d
        return bf.dsta(
            H, delta, ut, sats, ref, power_w=P_W, noise_w=NOISE_W, bandwidth_hz=1e8, ref_var=1e-18
        )

    loop = [one(d) for d in drops]
    batched = run_batched([lambda d=d: one(d) for d in drops], fz.fast_reduced_many)
    for a, b in zip(loop, batched):
        assert list(a.status) == list(b.status)
        np.testing.assert_array_equal(a.n_tests, b.n_tests)
        m = np.isfinite(a.sinr)
        np.testing.assert_allclose(b.sinr[m], a.sinr[m], rtol=RTOL)


def test_an_exception_in_a_task_propagates():
    def bad():
        raise ZeroDivisionError("in a task")

    with pytest.raises(ZeroDivisionError):
        run_batched([bad], fz.fast_reduced_many)
