"""Seed 000 joint design with cvxpy (twin.isac.design.sdr, .algorithm2, .baselines, .rank_one,
.problem) on a small instance:
type-I group (K = 3), 2x2 arrays (NK = 12), M = 2 UEs, so every SDP solves in about a second.

Checks are independent of the solvers' own claims: rates from a direct numpy SINR computation,
powers from the block traces, CRBs from twin.isac.physics.crb.location_crb, the SDP's linear FIM map
against crb.trace_products, and the rank-one reconstruction against its defining identities.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from twin.isac.design import baselines
from twin.isac.design.algorithm2 import algorithm2, power_min_start
from twin.isac.design.baselines import comm_centric
from twin.isac.design.fast_design import fast_design
from twin.isac.design.problem import DesignProblem, evaluate_design
from twin.isac.design.rank_one import rank_one_beams
from twin.isac.design.sdr import SDR_FEASIBILITY_TOL, Sdp, sdr_lower_bound, sdr_violation
from twin.isac.physics import crb
from twin.isac.physics.transmit import matched_filter_isotropic
from twin.paper.isac.problems import paper_problem

ETA = 2.0


@pytest.fixture(scope="module")
def problem() -> DesignProblem:
    return paper_problem("I", nx=2, nz=2, n_ue=2, eta_bps_hz=ETA, seed=3)


@pytest.fixture(scope="module")
def sdr(problem):
    return sdr_lower_bound(problem)


@pytest.fixture(scope="module")
def schemes(problem):
    return {
        "zfbf": baselines.zfbf(problem),
        "non_assisted": baselines.non_assisted(problem),
        "sensing_only": baselines.sensing_only(problem),
        "algorithm2": algorithm2(problem, max_iter=8),
    }


def direct_rates(H, W, R, noise):
    """Seed 000 eq. (8) by hand: y_i = h_i^H x."""
    M = H.shape[0]
    out = np.empty(M)
    for i in range(M):
        h = H[i]
        useful = abs(np.vdot(h, W[:, i])) ** 2
        interf = sum(abs(np.vdot(h, W[:, m])) ** 2 for m in range(M) if m != i)
        sens = np.real(np.vdot(h, R @ h))
        out[i] = np.log2(1 + useful / (interf + sens + noise[i]))
    return out


def block_powers(W, R, K):
    Rx = W @ W.conj().T + R
    return np.real(np.diag(Rx)).reshape(K, -1).sum(axis=1)


def rcrb_of(problem, Rx):
    return float(
        np.sqrt(
            np.trace(
                crb.location_crb(
                    problem.sat_pos, problem.target, Rx, problem.beta, **problem.crb_kwargs()
                )
            )
        )
    )


# ---------------------------------------------------------------------------
# linear maps (no solver)


def test_sdp_fim_map_matches_trace_products(problem):
    """Re(A vec(B^H X B)) (the SDP's 4 x 4 FIM, eqs. (34)-(37), in the reduced coordinates) ==
    S [[J^T F_OO J, J^T F_Oa], [., F_aa]] S computed independently by crb.trace_products + fim_* at
    R_x = s X, for a random full-space PSD X (so the subspace reduction keeps every FIM entry)."""
    sdp = Sdp(problem)
    rng = np.random.default_rng(0)
    G = rng.standard_normal((problem.NK, 5)) + 1j * rng.standard_normal((problem.NK, 5))
    X = G @ G.conj().T / problem.NK
    A = (sdp.A @ sdp.to_reduced(X).ravel(order="F")).real.reshape(4, 4)
    Phi = crb.trace_products(
        problem.sat_pos,
        problem.target,
        X * sdp.s,
        problem.beta,
        nx=problem.nx,
        nz=problem.nz,
        frames=problem.frames,
    )
    kw = dict(noise_power=problem.sensing_noise_w, snapshots=problem.snapshots)
    F_oo = crb.fim_angle_angle(Phi, alpha=problem.alpha, **kw)
    F_oa = crb.fim_angle_alpha(Phi, alpha=problem.alpha, **kw)
    F_aa = crb.fim_alpha_alpha(Phi, **kw)
    J = crb.angle_jacobian(problem.sat_pos, problem.target, problem.frames)
    full = np.zeros((4, 4))
    full[:3, :3] = J.T @ F_oo @ J
    full[:3, 3] = full[3, :3] = J.T @ F_oa
    full[3, 3] = F_aa
    expect = full * np.outer(sdp.d, sdp.d)
    np.testing.assert_allclose(A, expect, rtol=1e-9, atol=1e-9 * np.abs(expect).max())
    # and the Schur complement of that matrix is the position FIM whose inverse location_crb gives
    C = crb.location_crb(
        problem.sat_pos, problem.target, X * sdp.s, problem.beta, **problem.crb_kwargs()
    )
    Fp = full[:3, :3] - np.outer(full[:3, 3], full[:3, 3]) / full[3, 3]
    np.testing.assert_allclose(np.linalg.inv(Fp), C, rtol=1e-7)


def test_rank_one_beams_keep_rx_and_sinr(problem):
    """The rank-one reconstruction: R = R_x - sum w w^H is PSD, sum w w^H + R = R_x, and every
    |h_m^H w_m|^2 equals h_m^H W_m h_m (random full-rank W_m, no solver)."""
    rng = np.random.default_rng(1)
    Ws = []
    for _ in range(problem.M):
        G = rng.standard_normal((problem.NK, 3)) + 1j * rng.standard_normal((problem.NK, 3))
        Ws.append(G @ G.conj().T)
    Ws = np.array(Ws)
    G = rng.standard_normal((problem.NK, 2)) + 1j * rng.standard_normal((problem.NK, 2))
    Rx = Ws.sum(axis=0) + G @ G.conj().T
    W, R = rank_one_beams(problem, Ws, Rx)
    np.testing.assert_allclose(W @ W.conj().T + R, Rx, atol=1e-9 * np.abs(Rx).max())
    assert np.linalg.eigvalsh(R).min() > -1e-9 * np.abs(Rx).max()
    for m in range(problem.M):
        h = problem.H[m]
        np.testing.assert_allclose(
            abs(np.vdot(h, W[:, m])) ** 2, np.real(np.vdot(h, Ws[m] @ h)), rtol=1e-10
        )


def test_zf_directions_null_other_ues(problem):
    U = baselines.zf_directions(problem.H)
    S = np.abs(problem.H.conj() @ U)  # [i, m] = |h_i^H u_m|
    off = S[~np.eye(problem.M, dtype=bool)]
    assert off.max() < 1e-10 * S.max()
    np.testing.assert_allclose(np.linalg.norm(U, axis=0), 1.0)


# ---------------------------------------------------------------------------
# the SDR bound


def test_sdr_design_attains_its_bound(problem, sdr):
    """Consistency: the CRB of the returned (rank-one-beam) design recomputed with location_crb
    equals the SDR objective, and the design meets every rate target and power limit."""
    assert sdr.ok, sdr.message
    assert sdr.rcrb_m == pytest.approx(sdr.bound_m, rel=1e-5)
    assert sdr.extra["relaxed_rcrb_m"] == pytest.approx(sdr.bound_m, rel=1e-5)
    assert rcrb_of(problem, sdr.W @ sdr.W.conj().T + sdr.R) == pytest.approx(sdr.rcrb_m, rel=1e-9)
    rates = direct_rates(problem.H, sdr.W, sdr.R, problem.comm_noise)
    assert np.all(rates >= ETA - 1e-5), rates
    assert np.all(block_powers(sdr.W, sdr.R, problem.K) <= problem.p_max_w * (1 + 1e-6))


def test_sdr_bound_below_every_design(problem, sdr, schemes):
    """sensing-only <= SDR bound <= CRB of ZFBF, non-assisted, Algorithm 2's rank-one output and the
    matched-filter stand-in (all evaluated by location_crb on their own R_x)."""
    so = schemes["sensing_only"]
    assert so.ok
    assert so.rcrb_m <= sdr.bound_m * (1 + 1e-6)
    fb = evaluate_design(
        problem,
        *matched_filter_isotropic(problem.H, problem.K, problem.N, problem.p_max_w),
        scheme="mf",
    )
    for name in ("zfbf", "non_assisted", "algorithm2"):
        res = schemes[name]
        assert res.ok, (name, res.message)
        Rx = res.R if res.sensing_from == "R" else res.W @ res.W.conj().T + res.R
        assert rcrb_of(problem, Rx) == pytest.approx(res.rcrb_m, rel=1e-9)
        assert res.rcrb_m >= sdr.bound_m * (1 - 1e-6), name
    assert fb.rcrb_m >= sdr.bound_m


def test_baselines_meet_constraints(problem, schemes):
    for name in ("zfbf", "non_assisted"):
        res = schemes[name]
        rates = direct_rates(problem.H, res.W, res.R, problem.comm_noise)
        assert np.all(rates >= ETA - 1e-5), (name, rates)
        assert np.all(block_powers(res.W, res.R, problem.K) <= problem.p_max_w * (1 + 1e-6)), name
    # non-assisted cannot beat the assisted SDR, and ZF wastes degrees of freedom
    assert schemes["non_assisted"].rcrb_m >= schemes["sensing_only"].rcrb_m


# ---------------------------------------------------------------------------
# Algorithm 2


def test_algorithm2_feasible_rank_one(problem, schemes, sdr):
    res = schemes["algorithm2"]
    assert res.ok, res.message
    rates = direct_rates(problem.H, res.W, res.R, problem.comm_noise)
    np.testing.assert_allclose(rates, res.rates, rtol=1e-9)
    assert np.all(rates >= ETA), rates
    assert np.all(block_powers(res.W, res.R, problem.K) <= problem.p_max_w * (1 + 1e-9))
    assert res.rank_residual <= 1e-4
    assert res.r is not None and np.linalg.matrix_rank(res.R, tol=1e-9 * np.abs(res.R).max()) == 1
    # the (46) objective never increases (paper: F(j+1) <= F(j)) while rho is unchanged
    obj = np.array(res.objective_history)
    rho = np.array(res.extra["rho_history"])
    same = rho[1:] == rho[:-1]
    assert np.all(np.diff(obj)[same] <= 1e-6 * np.abs(obj[:-1][same]))
    # from the isotropic start it improves the RCRB and ends near the SDR bound
    assert res.rcrb_history_m[-1] < res.rcrb_history_m[0]
    assert res.rcrb_m <= 1.05 * sdr.bound_m


def test_power_min_start_is_feasible(problem):
    Ws, R0, status, _, _ = power_min_start(problem)
    assert status in ("optimal", "optimal_inaccurate")
    W, _ = rank_one_beams(problem, Ws, Ws.sum(axis=0) + R0)  # W_m rank one at the start anyway
    powers = np.real(np.diag(Ws.sum(axis=0) + R0)).reshape(problem.K, -1).sum(axis=1)
    assert np.all(powers <= problem.p_max_w * (1 + 1e-6))
    sinr = [
        np.real(np.vdot(h, Ws[i] @ h))
        / (
            sum(np.real(np.vdot(h, Ws[m] @ h)) for m in range(problem.M) if m != i)
            + np.real(np.vdot(h, R0 @ h))
            + 1.0
        )
        for i, h in enumerate(problem.H)
    ]
    assert np.all(np.log2(1 + np.array(sinr)) >= ETA - 1e-5)
    # R0 is isotropic per satellite
    for k in range(problem.K):
        blk = R0[k * problem.N : (k + 1) * problem.N, k * problem.N : (k + 1) * problem.N]
        np.testing.assert_allclose(blk, blk[0, 0] * np.eye(problem.N), atol=1e-9)


@pytest.mark.slow
def test_algorithm2_sca_and_convergence(problem, sdr):
    """Full runs (slow): the default run converges (residual <= delta) at the SDR bound; the SCA
    rate form (39)-(41) also yields a feasible rank-one design."""
    res = algorithm2(problem)
    assert res.ok and res.rank_residual <= 1e-4 and res.iterations < 30
    assert res.rcrb_m == pytest.approx(sdr.bound_m, rel=5e-3)
    sca = algorithm2(problem, rate_form="sca", max_iter=10)
    assert sca.ok
    assert np.all(direct_rates(problem.H, sca.W, sca.R, problem.comm_noise) >= ETA)
    assert sca.rcrb_m >= sdr.bound_m * (1 - 1e-6)


# ---------------------------------------------------------------------------
# communication-centric


def test_comm_centric_meets_budget(problem, schemes):
    so = schemes["sensing_only"]
    res = comm_centric(problem, sensing_only_rcrb_m=so.rcrb_m, tol_bps_hz=0.05)
    assert res.ok, res.message
    budget = res.extra["crb_budget_m2"]
    assert budget == pytest.approx((2 * so.rcrb_m) ** 2)
    assert res.rcrb_m**2 <= budget * (1 + 1e-6)
    r = res.extra["bisection_rate_bps_hz"]
    rates = direct_rates(problem.H, res.W, res.R, problem.comm_noise)
    assert rates.min() == pytest.approx(res.extra["max_min_rate_bps_hz"], abs=1e-9)
    assert rates.min() >= r - 1e-3  # solver accuracy at SINR ~ 500
    # optimality of the bisection: a rate 2 tol higher needs more than the budget
    lo, hi = res.extra["rate_bracket"]
    assert hi - lo <= 0.05
    above = sdr_lower_bound(problem.with_(eta=hi + 1e-3))
    assert not above.ok or above.bound_m**2 > budget


# ---------------------------------------------------------------------------
# infeasibility is data


def test_infeasible_targets_fall_back_without_raising(problem):
    bad = problem.with_(eta=40.0)  # 40 bit/s/Hz: far above any SINR the budget allows
    for fn in (
        sdr_lower_bound,
        baselines.zfbf,
        baselines.non_assisted,
        lambda p: algorithm2(p, max_iter=2),
    ):
        res = fn(bad)
        assert res.status == "fallback:matched_filter_isotropic"
        assert res.cause == "infeasible", (res.scheme, res.solver_status)
        assert not res.ok
        assert res.W.shape == (bad.NK, bad.M) and res.R.shape == (bad.NK, bad.NK)
        assert np.isfinite(res.rcrb_m)
        assert np.all(res.sat_power_w <= bad.p_max_w * (1 + 1e-9))
    cc = comm_centric(problem, crb_budget_m2=1e-12)
    assert cc.status == "fallback:matched_filter_isotropic" and cc.cause == "infeasible"


def test_bad_input_raises(problem):
    with pytest.raises(ValueError, match="H must be"):
        problem.with_(H=problem.H[:, :-1])
    with pytest.raises(ValueError, match="eta"):
        problem.with_(eta=-1.0)
    with pytest.raises(ValueError, match="p_max_w"):
        problem.with_(p_max_w=0.0)
    with pytest.raises(ValueError, match="rate_form"):
        sdr_lower_bound(problem, rate_form="sca")
    with pytest.raises(ValueError, match="solver"):
        sdr_lower_bound(problem, solver="MOSEK")


def test_sdr_violation_flags_an_infeasible_solver_point(problem, sdr):
    """A converged SDR is feasible (violation ~ 0, status kept); the same beams scaled up 10x
    break the power limits and 0.1x break the rate targets, which sdr_violation measures
    independently of the solver (powers and SINRs recomputed from W, R)."""

    assert sdr.status == "optimal"
    assert sdr.extra["feasibility_violation"] <= SDR_FEASIBILITY_TOL
    louder = evaluate_design(problem, sdr.W * np.sqrt(10.0), sdr.R * 10.0, scheme="scaled")
    assert sdr_violation(problem, louder) == pytest.approx(
        np.max(louder.sat_power_w / problem.p_max_w) - 1.0
    )
    assert sdr_violation(problem, louder) > 8.0
    quieter = evaluate_design(problem, sdr.W * np.sqrt(0.1), sdr.R, scheme="scaled")
    sinr = 2.0**quieter.rates - 1.0
    assert sdr_violation(problem, quieter) == pytest.approx(
        max(0.0, np.max(1.0 - sinr / (2.0**ETA - 1.0)))
    )
    assert (
        sdr_violation(problem, quieter) > 0.1
    )  # R still interferes, so SINR falls by less than 10x
    assert sdr_violation(problem, replace(sdr)) == sdr.extra["feasibility_violation"]


# ---------------------------------------------------------------------------
# the exact subspace reduction of the SDP (3x3 arrays, M = 2: S_k has dimension 5 < N = 9)


@pytest.fixture(scope="module")
def problem9() -> DesignProblem:
    return paper_problem("I", nx=3, nz=3, n_ue=2, eta_bps_hz=ETA, seed=4)


def test_subspace_projection_keeps_fim_and_rates(problem9):
    """Projecting a random full-space covariance onto the per-satellite subspaces
    (X -> B B^H X B B^H) keeps the CRB (location_crb, independent of the SDP maps) and every
    h_i^H X h_i, and lowers no satellite's power above the original; B has orthonormal columns."""
    pb = problem9
    sdp = Sdp(pb)
    assert sdp.dim == pb.K * 5 < pb.NK
    np.testing.assert_allclose(sdp.B.conj().T @ sdp.B, np.eye(sdp.dim), atol=1e-12)
    rng = np.random.default_rng(5)
    G = rng.standard_normal((pb.NK, 30)) + 1j * rng.standard_normal((pb.NK, 30))
    X = G @ G.conj().T / pb.NK * 1e-2
    Xp = sdp.to_full(sdp.to_reduced(X))
    assert rcrb_of(pb, Xp) == pytest.approx(rcrb_of(pb, X), rel=1e-9)
    quad = lambda Y: np.real(np.einsum("in,nm,im->i", pb.H.conj(), Y, pb.H))  # noqa: E731
    np.testing.assert_allclose(quad(Xp), quad(X), rtol=1e-10)
    p_full = np.real(np.diag(X)).reshape(pb.K, -1).sum(axis=1)
    p_proj = np.real(np.diag(Xp)).reshape(pb.K, -1).sum(axis=1)
    assert np.all(p_proj <= p_full * (1 + 1e-12)) and np.all(p_proj < p_full)


def test_reduced_sdr_inside_fast_certified_bracket(problem9):
    """The subspace SDR's optimum lies between the fast design's weak-duality bound (a rigorous
    lower bound on the SDR optimum) and the fast design's own RCRB (a feasible design): an
    independent check of the reduced SDP, solved here with Clarabel at NK = 27 (d = 15)."""

    sdr9 = sdr_lower_bound(problem9)
    fast = fast_design(problem9)
    assert sdr9.ok and fast.ok
    assert sdr9.extra["subspace_dim"] == 15 and sdr9.solver == "CLARABEL"
    lo, hi = fast.extra["dual_bound_m"], fast.rcrb_m
    assert lo * (1 - 1e-6) <= sdr9.bound_m <= hi * (1 + 1e-6), (lo, sdr9.bound_m, hi)
    assert sdr9.extra["feasibility_violation"] <= 1e-5
