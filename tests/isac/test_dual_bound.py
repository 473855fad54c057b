"""Tests of twin.isac.design.dual_bound: the gradient matrix of tr CRB against finite differences, and the
weak-duality bound against the cvxpy SDR optimum (twin.isac.design.sdr.sdr_lower_bound, Clarabel) on
small instances (N = 2x2, K = 3, M = 3): bound <= SDR optimum <= RCRB of the fast design, for the
fitted multipliers, for random multipliers and for a design that is far from optimal."""

import numpy as np
import pytest

from twin.isac.design.dual_bound import crb_gradient_matrix, dual_lower_bound, optimise_multipliers
from twin.isac.design.factor_form import factors
from twin.isac.design.fast_design import fast_design
from twin.isac.design.operators import fast_operators
from twin.isac.design.sdr import sdr_lower_bound
from twin.isac.physics.crb import location_crb
from twin.paper.isac.problems import random_problem

SEEDS = (11, 12, 13)


@pytest.fixture(scope="module")
def cases():
    """(problem, operators, fast design, SDR bound) for small random instances."""
    out = []
    for s in SEEDS:
        pb = random_problem(np.random.default_rng(s), collaboration="I", nx=2, nz=2, n_ue=3)
        ops = fast_operators(pb)
        out.append((pb, ops, fast_design(pb, ops=ops), sdr_lower_bound(pb, solver="CLARABEL")))
    return out


def _split(pb, res):
    Z, _ = factors(res.extra["factors"], pb.p_max_w)
    return Z[:, : pb.M], Z[:, pb.M :]


def test_gradient_matrix_matches_finite_differences(cases):
    pb, ops, _, _ = cases[0]
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((pb.NK, 5)) + 1j * rng.standard_normal((pb.NK, 5))
    X = Z @ Z.conj().T
    f, G = crb_gradient_matrix(ops, Z)
    assert np.allclose(G, G.conj().T)
    for _ in range(3):
        A = rng.standard_normal((pb.NK, pb.NK)) + 1j * rng.standard_normal((pb.NK, pb.NK))
        dX = A @ A.conj().T  # PSD direction, keeps X + h dX PSD
        h = 1e-6 * np.linalg.norm(X) / np.linalg.norm(dX)

        def tr_crb(Xh):
            return np.trace(location_crb(pb.sat_pos, pb.target, Xh, pb.beta, **pb.crb_kwargs()))

        fd = (tr_crb(X + h * dX) - tr_crb(X - h * dX)) / (2 * h)
        assert np.real(np.trace(G @ dX)) == pytest.approx(fd, rel=1e-5)
    assert np.max(np.linalg.eigvalsh(G)) <= 1e-12 * np.abs(G).max()  # CRB is non-increasing in R_x


@pytest.mark.parametrize("i", range(len(SEEDS)))
def test_bound_below_sdr_and_tight_at_fast_design(cases, i):
    pb, ops, res, sdr = cases[i]
    assert sdr.status == "optimal" and res.status == "optimal"
    V, L = _split(pb, res)
    cert = dual_lower_bound(ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, V, L)
    best = optimise_multipliers(ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, V, L)
    # weak duality (SDR solved by Clarabel to ~1e-8): bound <= SDR optimum <= fast design
    assert cert.bound_m <= sdr.bound_m * (1 + 1e-6)
    assert best.bound_m <= sdr.bound_m * (1 + 1e-6)
    assert sdr.bound_m <= res.rcrb_m * (1 + 1e-6)
    assert best.bound_m2 >= cert.bound_m2
    # tight when the fast design is converged (within 0.1 % in RCRB)
    assert res.rcrb_m / best.bound_m - 1 <= 1e-3
    assert res.extra["dual_gap"] <= 2e-3 + 1e-9
    print(
        f"seed {SEEDS[i]}: fast {res.rcrb_m:.7g} m, SDR {sdr.bound_m:.7g} m, dual (stationarity) "
        f"{cert.bound_m:.7g} m, dual (optimised) {best.bound_m:.7g} m"
    )


def test_bound_valid_for_random_multipliers_and_poor_designs(cases):
    pb, ops, res, sdr = cases[1]
    rng = np.random.default_rng(3)
    V, L = _split(pb, res)
    for _ in range(5):
        lam = rng.uniform(0, 2) * res.extra["certificate"].lam * rng.uniform(0, 2, pb.M)
        mu = rng.uniform(0, 2, pb.K) * res.extra["certificate"].mu
        c = dual_lower_bound(ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, V, L, lam=lam, mu=mu)
        assert c.bound_m2 <= sdr.bound_m**2 * (1 + 1e-6)
    # an arbitrary design (random beams and sensing, full power; rates not necessarily met): still a valid bound
    Y = rng.standard_normal((pb.K, pb.N, pb.M + 2)) + 1j * rng.standard_normal(
        (pb.K, pb.N, pb.M + 2)
    )
    Z, _ = factors(Y, pb.p_max_w)
    c = dual_lower_bound(ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, Z[:, : pb.M], Z[:, pb.M :])
    o = optimise_multipliers(
        ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, Z[:, : pb.M], Z[:, pb.M :]
    )
    assert c.bound_m2 <= sdr.bound_m**2 * (1 + 1e-6)
    assert o.bound_m2 <= sdr.bound_m**2 * (1 + 1e-6)
    assert o.crb_m2 > sdr.bound_m**2  # the poor design is indeed worse than the optimum


def test_bound_invariant_to_channel_and_noise_scaling(cases):
    """(H, sigma^2) -> (a H, a^2 sigma^2) is the same problem (same SINRs): same bound."""
    pb, ops, res, _ = cases[2]
    V, L = _split(pb, res)
    a = 3.7
    c1 = dual_lower_bound(ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, V, L)
    c2 = dual_lower_bound(ops, a * pb.H, a**2 * pb.comm_noise, pb.eta, pb.p_max_w, V, L)
    assert c2.bound_m2 == pytest.approx(c1.bound_m2, rel=1e-9)
    assert np.allclose(c2.lam * a**2, c1.lam, rtol=1e-6, atol=1e-12 * np.max(c1.lam))
