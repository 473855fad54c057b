"""Tests of twin.isac.design.fast_design: analytic CRB gradient vs finite differences and location_crb,
the fast design vs the SDR lower bound (twin.isac.design.sdr.sdr_lower_bound) on small instances,
its dual certificate below the SDR optimum, feasibility recomputed independently, infeasible
targets -> fallback, warm starts, bad input. (The certificate itself: tests/isac/test_dual_bound.py.)"""

import numpy as np
import pytest

from twin.isac.design.fast_design import fast_design
from twin.isac.design.operators import crb_and_gradient, fast_operators
from twin.isac.design.sdr import sdr_lower_bound
from twin.isac.physics.crb import location_crb
from twin.paper.isac.problems import random_problem


@pytest.fixture(scope="module")
def small():
    """N = 2x2, K = 3, M = 3 instances (random central satellite, UE drop and target)."""
    return [
        random_problem(np.random.default_rng(s), collaboration="I", nx=2, nz=2, n_ue=3)
        for s in (11, 12)
    ]


def _independent_rates_powers(pb, W, R):
    """Rates (eq. (8)) and per-satellite powers (eq. (2)) by direct numpy, not via the package."""
    H = pb.H
    S = np.abs(H.conj() @ W) ** 2
    sens = np.real(np.einsum("in,nm,im->i", H.conj(), R, H))
    sinr = np.diag(S) / (S.sum(axis=1) - np.diag(S) + sens + pb.comm_noise)
    power = np.array(
        [
            np.sum(np.abs(W[k * pb.N : (k + 1) * pb.N]) ** 2)
            + np.real(np.trace(R[k * pb.N : (k + 1) * pb.N, k * pb.N : (k + 1) * pb.N]))
            for k in range(pb.K)
        ]
    )
    return np.log2(1 + sinr), power


def test_crb_and_gradient_match_location_crb_and_finite_differences(small):
    pb = small[0]
    ops = fast_operators(pb)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((pb.NK, 6)) + 1j * rng.standard_normal((pb.NK, 6))
    f, g = crb_and_gradient(ops, Z)
    ref = np.trace(location_crb(pb.sat_pos, pb.target, Z @ Z.conj().T, pb.beta, **pb.crb_kwargs()))
    assert f == pytest.approx(ref, rel=1e-9)
    for _ in range(3):
        dZ = rng.standard_normal(Z.shape) + 1j * rng.standard_normal(Z.shape)
        h = 1e-6
        fd = (crb_and_gradient(ops, Z + h * dZ)[0] - crb_and_gradient(ops, Z - h * dZ)[0]) / (2 * h)
        assert 2 * np.real(np.vdot(g, dZ)) == pytest.approx(fd, rel=1e-5, abs=1e-12 * abs(f))


@pytest.mark.parametrize("i", [0, 1])
def test_fast_design_reaches_sdr_bound_and_is_feasible(small, i):
    pb = small[i]
    bound = sdr_lower_bound(pb, solver="CLARABEL")
    assert bound.status == "optimal"
    res = fast_design(pb)
    assert res.status == "optimal"
    rates, power = _independent_rates_powers(pb, res.W, res.R)
    assert np.all(rates >= pb.eta - 1e-9)
    assert np.all(power <= pb.p_max_w * (1 + 1e-9))
    # feasible => cannot beat the lower bound (beyond solver tolerance); reaches it within 1 %
    assert res.rcrb_m >= bound.bound_m * (1 - 1e-4)
    assert res.rcrb_m <= bound.bound_m * 1.01
    # the design's own weak-duality certificate is below the SDR optimum and proves the stop rule
    assert res.extra["dual_bound_m"] <= bound.bound_m * (1 + 1e-6)
    assert res.extra["dual_gap"] <= 2e-3 + 1e-9
    print(
        f"instance {i}: fast {res.rcrb_m:.6g} m, SDR bound {bound.bound_m:.6g} m, "
        f"gap {100 * (res.rcrb_m / bound.bound_m - 1):.4f} %"
    )


def test_single_stream_sensing_is_rank_one_and_feasible(small):
    pb = small[0]
    res = fast_design(pb, sensing_rank="one")
    assert res.status == "optimal"
    assert res.r is not None and np.linalg.matrix_rank(res.R, tol=1e-9 * np.abs(res.R).max()) == 1
    rates, power = _independent_rates_powers(pb, res.W, res.R)
    assert np.all(rates >= pb.eta - 1e-9) and np.all(power <= pb.p_max_w * (1 + 1e-9))


def test_infeasible_targets_give_fallback_without_raising(small):
    pb = small[0].with_(eta=40.0)  # SINR 2^40: beyond what 1 W can deliver
    res = fast_design(pb, max_iter=5, inner_iter=100)
    assert res.status.startswith("fallback:")
    assert res.cause == "infeasible"
    assert "unmet_design" in res.extra


def test_warm_start_reuses_factors_and_converges_faster(small):
    pb = small[1]
    cold = fast_design(pb)
    warm = fast_design(pb, warm_start=cold)
    assert warm.status == "optimal"
    assert warm.rcrb_m == pytest.approx(cold.rcrb_m, rel=1e-3)
    assert warm.extra["lbfgs_iterations"] < cold.extra["lbfgs_iterations"]


def test_bad_options_raise(small):
    with pytest.raises(ValueError, match="sensing_rank"):
        fast_design(small[0], sensing_rank="two")
    with pytest.raises(ValueError, match="tol"):
        fast_design(small[0], tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        fast_design(small[0], max_iter=0)
    with pytest.raises(ValueError, match="gap_tol"):
        fast_design(small[0], gap_tol=1.5)
    with pytest.raises(ValueError, match="rate_form"):
        fast_design(small[0], rate_form="dc")


def test_linear_rate_rows_reach_the_same_design(small):
    """The previous linear SINR rows (rate_form="linear") and the default log rows give the same CRB."""
    pb = small[0]
    a = fast_design(pb)
    b = fast_design(pb, rate_form="linear", rho0=10.0)
    assert a.status == b.status == "optimal"
    assert a.rcrb_m == pytest.approx(b.rcrb_m, rel=3e-3)
