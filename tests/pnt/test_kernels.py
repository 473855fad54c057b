"""The compiled PNT engine against the numpy reference (issue 16: every batched/compiled result
equals the per-entity result within a stated tolerance).

Tolerances: verdicts, test counts, statuses, schedules and fixes are compared exactly; SINRs
(and the beams' SINR) within 1e-6 relative: both engines run the same iteration, whose
iterates agree to rounding, and a feasible test returns SINR = γ unless the instance lies in
the ±FEAS_RTOL band, where the returned SINR may sit anywhere in γ(1 − FEAS_RTOL .. 1)
(observed worst on the replay drops: 5.6e-8); the eq. (17) gradient within 1e-10 relative.
"""

from __future__ import annotations

import numpy as np
import pytest

from pnt.test_beamforming_warm import NOISE_W, P_W, _near_boundary_instance, _replay_case, drop
from twin.pnt import beamforming as bf
from twin.pnt import dsta_compiled as dc
from twin.pnt import feasibility as fz
from twin.pnt import kernels
from twin.pnt.crlb import (
    gauss_newton_tdoa,
    gauss_newton_tdoa_each,
    sinr_gradient_from_A,
    tdoa_jacobian,
)
from twin.pnt.scheduling import hbs, similarity_gram

SINR_RTOL = 1e-6


def _instances(seed, n=40):
    """Random fast tests: iid channels (K ≤ r), thresholds from far inside to beyond the
    boundary (scaled by each UT's interference-free SNR), warm states of a nearby solution."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        K = int(rng.integers(2, 9))
        r = int(rng.integers(K, 13))
        Hn = (rng.normal(size=(K, r)) + 1j * rng.normal(size=(K, r))) * rng.uniform(1, 6)
        w = np.sum(np.abs(Hn) ** 2, axis=1) * rng.uniform(0.2, 1.0, size=K)
        ok, _, state, _ = fz.fast_reduced(Hn, 0.02 * w, engine="numpy")
        for t in (0.05, 0.2, 0.5, 0.9):
            out.append((Hn, t * w, state if ok and rng.uniform() < 0.5 else None))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_fast_test_equals_numpy_on_random_instances(seed):
    for Hn, gamma, state in _instances(seed):
        a = fz.fast_reduced(Hn, gamma, state, engine="numpy")
        b = fz.fast_reduced(Hn, gamma, state, engine="compiled")
        assert a[0] == b[0]
        assert abs(a[3] - b[3]) <= max(2, 0.1 * a[3])  # iterations: same up to rounding
        if a[0]:
            np.testing.assert_allclose(
                fz.normalised_sinr(Hn, b[1]), fz.normalised_sinr(Hn, a[1]), rtol=SINR_RTOL
            )
            assert np.all(np.sum(np.abs(b[1]) ** 2, axis=0) <= 1 + 1e-9)


def test_compiled_fast_test_equals_numpy_on_replay_and_near_boundary_cases():
    """The replay's warm case (hundreds of iterations without the restart: the convex
    combination's LP runs between kernel calls) and instances within 0.5 % of the boundary."""
    Hn, gamma, state = _replay_case()
    for f in (0.99, 0.997, 1.003, 1.01):
        a = fz.fast_reduced(Hn, f * gamma, state, engine="numpy", max_iter=2000)
        b = fz.fast_reduced(Hn, f * gamma, state, engine="compiled", max_iter=2000)
        assert a[0] == b[0] and a[3] == b[3]
    for seed in (0, 1):
        Hn, w, t = _near_boundary_instance(seed)
        for f in (0.995, 1.005):
            a = fz.fast_reduced(Hn, f * t * w, engine="numpy")
            b = fz.fast_reduced(Hn, f * t * w, engine="compiled")
            assert a[0] == b[0] == (f < 1)


def test_compiled_fast_test_equals_numpy_through_the_combination_lp(monkeypatch):
    """Without the warm-start restart the replay case runs > 150 iterations, so the combination
    certificate (an LP between kernel calls, resumed after) is tried every COMBINE_EVERY."""
    Hn, gamma, state = _replay_case()
    calls = []
    original = fz.combine_certificate

    def counted(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(fz, "WARM_PATIENCE", 10**9)
    monkeypatch.setattr(fz, "combine_certificate", counted)
    a = fz.fast_reduced(Hn, 0.997 * gamma, state, engine="numpy", max_iter=2000)
    n_numpy = len(calls)
    b = fz.fast_reduced(Hn, 0.997 * gamma, state, engine="compiled", max_iter=2000)
    assert a[0] is True and b[0] is True and a[3] > 150
    # near the boundary the fixed point converges linearly: rounding moves the exit by a few
    # of its ~200 iterations
    assert abs(a[3] - b[3]) <= 0.05 * a[3]
    assert n_numpy >= 3 and len(calls) - n_numpy >= 3
    np.testing.assert_allclose(
        fz.normalised_sinr(Hn, b[1]), fz.normalised_sinr(Hn, a[1]), rtol=SINR_RTOL
    )


def test_farkas_kernel_equals_numpy():
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(300):
        r, K = int(rng.integers(2, 13)), int(rng.integers(2, 13))
        lam = np.sort(rng.uniform(0, 5, r)) * (rng.uniform() < 0.9)
        B2 = rng.uniform(0, 1, (r, K))
        q = rng.uniform(0, 2, K) * (rng.uniform(size=K) < 0.9)
        gamma = rng.uniform(0.05, 3, K)
        a = fz._farkas_infeasible(lam, B2, q, gamma)
        assert kernels.farkas_infeasible(lam, B2, q, gamma) == a
        seen.add(a)
    assert seen == {True, False}


def test_compiled_eq17_gradient_equals_crlb():
    rng = np.random.default_rng(4)
    ut = np.array([6371e3, 0.0, 0.0])
    for L in (3, 4, 6):
        sats = ut + rng.normal(size=(L, 3)) * 5e5 + np.array([6e5, 0, 0])
        ref = ut + np.array([7e5, 1e5, -2e5])
        A = tdoa_jacobian(ut, sats, ref)
        s = rng.uniform(0.5, 50, L)
        out = np.empty(L)
        assert dc.crlb_sinr_gradient(A, s, 4.0 * np.pi**2 * 1e8**2, 1e-18, out)
        np.testing.assert_allclose(out, sinr_gradient_from_A(A, s, 1e8, 1e-18), rtol=1e-10)
    assert not dc.crlb_sinr_gradient(A, np.r_[s[:-1], 0.0], 1.0, 1e-18, out)  # SINR 0: raises


@pytest.mark.parametrize("rule", ["common", "per_ut", "grid"])
@pytest.mark.parametrize("warm_start", [True, False])
def test_compiled_dsta_equals_numpy_dsta(rule, warm_start):
    """Whole DSTA drops: same statuses, test counts, SINRs (1e-6), beams meeting the cap;
    the drops include satellites whose γ' is infeasible (status "lowered"), and at 30x and
    100x the power satellites where a "grid" step below γ' is feasible (fewer tests)."""
    statuses = []
    for seed, gain in [(0, 1.0), (1, 1.0), (2, 1.0), (0, 30.0), (1, 100.0)]:
        H, delta, ut, sats, ref = drop(seed, I=4, C=9, nx=4)
        kw = dict(
            power_w=P_W * gain,
            noise_w=NOISE_W,
            bandwidth_hz=1e8,
            ref_var=1e-18,
            threshold_rule=rule,
            warm_start=warm_start,
        )
        a = bf.dsta(H, delta, ut, sats, ref, engine="numpy", **kw)
        b = bf.dsta(H, delta, ut, sats, ref, engine="compiled", **kw)
        assert list(a.status) == list(b.status)
        statuses += list(a.status)
        np.testing.assert_array_equal(a.n_tests, b.n_tests)
        np.testing.assert_array_equal(np.isnan(a.sinr), np.isnan(b.sinr))
        m = ~np.isnan(a.sinr)
        np.testing.assert_allclose(b.sinr[m], a.sinr[m], rtol=SINR_RTOL)
        # the returned SINRs are eq. (2) of the returned beams
        np.testing.assert_allclose(b.sinr[m], bf.link_sinr(H, b.W, delta, NOISE_W)[m], rtol=1e-9)
        assert np.all(np.sum(np.abs(b.W) ** 2, axis=-1) <= P_W * gain * (1 + 1e-9))
    assert "lowered" in statuses


def test_compiled_dsta_counts_its_tests_in_stats():
    H, delta, ut, sats, ref = drop(0, I=4, C=9, nx=4)
    before = fz.STATS.calls, fz.STATS.iterations
    res = bf.dsta(
        H, delta, ut, sats, ref, power_w=P_W, noise_w=NOISE_W, bandwidth_hz=1e8, ref_var=1e-18
    )
    assert fz.STATS.calls - before[0] >= res.n_tests.sum()
    assert fz.STATS.iterations > before[1]


def test_stacked_fixes_equal_one_by_one():
    """gauss_newton_tdoa_each gives each UT exactly the fix of gauss_newton_tdoa alone, and
    marks a singular system (the one-UT call raises) instead of failing the batch."""
    rng = np.random.default_rng(5)
    T, L = 12, 4
    ut = np.array([6371e3, 0.0, 0.0]) + rng.normal(size=(T, 3)) * 1e4
    sats = np.array([6371e3 + 6e5, 0.0, 0.0]) + rng.normal(size=(T, L, 3)) * 6e5
    ref = np.array([6371e3 + 6e5, 1e5, 1e5])
    from twin.pnt.crlb import tdoa_measurements

    var = rng.uniform(1e-18, 4e-18, size=(T, L))
    cov = 1e-18 * np.ones((T, L, L)) + var[:, :, None] * np.eye(L)
    meas = tdoa_measurements(ut, sats, ref) + rng.normal(size=(T, L)) * 1e-9
    start = ut + rng.normal(size=(T, 3)) * 3e3
    sats[3] = sats[3, :1]  # all of UT 3's satellites at one point: singular normal equations
    fix, ok = gauss_newton_tdoa_each(meas, sats, ref, start, cov)
    for t in range(T):
        try:
            one = gauss_newton_tdoa(meas[t], sats[t], ref, start[t], cov=cov[t])
        except np.linalg.LinAlgError:
            assert not ok[t] and np.all(np.isnan(fix[t]))
            continue
        assert ok[t]
        np.testing.assert_array_equal(fix[t], one)
    assert not ok[3] and ok.sum() == T - 1


def test_similarity_gram_and_hbs_schedules_equal_the_einsum_form(monkeypatch):
    import twin.pnt.scheduling as scheduling

    def einsum_gram(H):
        Hn = H / np.linalg.norm(H, axis=-1, keepdims=True)
        return np.abs(np.einsum("icn,ikn->ick", Hn.conj(), Hn))

    for seed in range(4):
        H, _, ut, sats, ref = drop(seed, I=6, C=9, nx=4)
        np.testing.assert_allclose(similarity_gram(H), einsum_gram(H), rtol=1e-12, atol=1e-15)
        new = hbs(H, ut, sats, ref, i_tdoa=3, max_beams=6, m=3)
        with monkeypatch.context() as m:
            m.setattr(scheduling, "similarity_gram", einsum_gram)
            old = hbs(H, ut, sats, ref, i_tdoa=3, max_beams=6, m=3)
        np.testing.assert_array_equal(new, old)
