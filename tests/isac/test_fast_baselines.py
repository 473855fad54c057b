"""Tests of twin.isac.design.fast_baselines (the fast, certified Fig. 6 baselines) against the cvxpy SDP
baselines of twin.isac.design.baselines solved by Clarabel (~1e-8) on a small instance
(paper_problem type I, N = 2x2, K = 3, M = 2): RCRB within 0.5 % of the SDP's, certificate <= SDP
value <= fast value, rates and powers recomputed here from (W, R) with plain numpy, the Fig. 6
ordering, analytic gradients against finite differences, and fallbacks instead of exceptions."""

import numpy as np
import pytest

from twin.isac.design import baselines
from twin.isac.design.baselines import comm_centric
from twin.isac.design.dual_bound import scheme_dual_bound
from twin.isac.design.fast_baselines import (
    _NormParam,
    _ZfFillParam,
    _ZfParam,
    fast_comm_centric,
    fast_non_assisted,
    fast_sensing_only,
    fast_zfbf,
)
from twin.isac.design.fast_design import fast_design
from twin.isac.design.operators import FastOperators
from twin.paper.isac.problems import paper_problem

ETAS = (1.0, 3.0)
SOLVER_TOL = 1e-6  # relative: Clarabel's optimum vs the fast design and the certificate


@pytest.fixture(scope="module")
def case():
    """The instance, its operators, the SDP baselines (once) and the fast ones."""
    pb = paper_problem("I", nx=2, nz=2, n_ue=2, seed=3)
    ops = FastOperators(pb)
    sdp = {"sensing_only": {e: baselines.sensing_only(pb, solver="CLARABEL") for e in ETAS[:1]}}
    sdp["sensing_only"][ETAS[1]] = sdp["sensing_only"][ETAS[0]]
    sdp["non_assisted"] = {
        e: baselines.non_assisted(pb.with_(eta=e), solver="CLARABEL") for e in ETAS
    }
    sdp["zfbf"] = {e: baselines.zfbf(pb.with_(eta=e), solver="CLARABEL") for e in ETAS}
    so = fast_sensing_only(pb, ops=ops)
    fast = {
        "sensing_only": {e: so for e in ETAS},
        "non_assisted": {e: fast_non_assisted(pb.with_(eta=e), ops=ops) for e in ETAS},
        "zfbf": {e: fast_zfbf(pb.with_(eta=e), ops=ops) for e in ETAS},
        "proposed": {e: fast_design(pb.with_(eta=e), ops=ops) for e in ETAS},
    }
    return pb, ops, sdp, fast


def _sinr_and_power(pb, W, R):
    """SINR (M,) of eq. (8) and per-satellite power (K,) W of eq. (2), computed here from scratch."""
    g = pb.H.conj() @ W  # [i, m] = h_i^H w_m
    a2 = np.abs(g) ** 2
    useful = np.diag(a2)
    interf = (
        a2.sum(axis=1)
        - useful
        + np.real(np.einsum("in,nm,im->i", pb.H.conj(), R, pb.H))
        + pb.comm_noise
    )
    d = np.sum(np.abs(W) ** 2, axis=1) + np.real(np.diag(R))
    return useful / interf, d.reshape(pb.K, pb.N).sum(axis=1)


@pytest.mark.parametrize("scheme", ["sensing_only", "non_assisted", "zfbf"])
@pytest.mark.parametrize("eta", ETAS)
def test_fast_matches_sdp_and_certificate_brackets_it(case, scheme, eta):
    pb, _, sdp, fast = case
    f, s = fast[scheme][eta], sdp[scheme][eta]
    assert f.status == "optimal" and s.status == "optimal"
    assert f.scheme == s.scheme == scheme
    assert f.rcrb_m == pytest.approx(s.rcrb_m, rel=5e-3)
    bound = f.extra["dual_bound_m"]
    # weak duality: certificate <= the scheme's convex optimum <= the fast design
    assert bound <= s.rcrb_m * (1 + SOLVER_TOL)
    assert s.rcrb_m <= f.rcrb_m * (1 + SOLVER_TOL)
    assert f.extra["dual_gap"] == pytest.approx(f.rcrb_m / bound - 1.0)
    assert (
        -1e-9 <= f.extra["dual_gap"] <= 5e-3
    )  # (sensing only closes to rounding: ~1e-15 either sign)


@pytest.mark.parametrize("scheme", ["non_assisted", "zfbf", "proposed"])
@pytest.mark.parametrize("eta", ETAS)
def test_rates_and_powers_recomputed(case, scheme, eta):
    pb, _, _, fast = case
    res = fast[scheme][eta]
    sinr, power = _sinr_and_power(pb, res.W, res.R)
    assert np.all(np.log2(1 + sinr) >= eta - 1e-9)
    assert np.all(power <= pb.p_max_w * (1 + 1e-9))
    np.testing.assert_allclose(np.log2(1 + sinr), res.rates, rtol=1e-9)
    if scheme == "zfbf":  # beams along the ZF directions: no inter-beam interference
        g = pb.H.conj() @ res.W
        off = np.abs(g - np.diag(np.diag(g)))
        assert off.max() <= 1e-9 * np.abs(np.diag(g)).min()
    if scheme == "non_assisted":
        assert res.sensing_from == "R"
        assert res.Rx == pytest.approx(res.R)


def test_sensing_only_uses_full_power(case):
    pb, _, _, fast = case
    res = fast["sensing_only"][ETAS[0]]
    _, power = _sinr_and_power(pb, res.W, res.R)
    np.testing.assert_allclose(power, pb.p_max_w, rtol=1e-9)
    assert np.all(res.W == 0)


@pytest.mark.parametrize("eta", ETAS)
def test_fig6_ordering(case, eta):
    _, _, _, fast = case
    so = fast["sensing_only"][eta].extra["dual_bound_m"]  # sensing-only optimum >= its bound
    prop = fast["proposed"][eta].rcrb_m
    assert so <= prop * (1 + SOLVER_TOL)
    assert prop < fast["zfbf"][eta].extra["dual_bound_m"]  # proven: no ZFBF design beats it
    assert prop < fast["non_assisted"][eta].extra["dual_bound_m"]


@pytest.mark.parametrize("scheme", ["sensing_only", "non_assisted", "zfbf"])
def test_random_multipliers_give_valid_bounds(case, scheme):
    """The bound holds for ANY multipliers >= 0 (not just the fitted ones)."""
    pb, ops, sdp, fast = case
    eta = ETAS[1]
    res = fast[scheme][eta]
    w, Q = np.linalg.eigh(res.R)
    L = Q * np.sqrt(np.maximum(w, 0.0))  # a factor of R: L L^H = R
    rng = np.random.default_rng(0)
    cert0 = res.extra["certificate"]
    U = baselines.zf_directions(pb.H) if scheme == "zfbf" else None
    for _ in range(5):
        lam = cert0.lam * rng.uniform(0, 3, cert0.lam.shape)
        mu = cert0.mu * rng.uniform(0, 3, cert0.mu.shape)
        c = scheme_dual_bound(
            ops,
            pb.H,
            pb.comm_noise,
            eta,
            pb.p_max_w,
            res.W,
            L,
            scheme=scheme,
            directions=U,
            lam=lam,
            mu=mu,
        )
        assert c.bound_m2 <= sdp[scheme][eta].rcrb_m ** 2 * (1 + SOLVER_TOL)


def _fd_check(par, x, rng, n=3):
    """Analytic real gradients of par.crb and of w . par.rows against central differences."""
    f, g = par.crb(x)
    c, vjp = par.rows(x)
    w = rng.standard_normal(c.size)
    gw = vjp(w)
    for _ in range(n):
        d = rng.standard_normal(x.size)
        h = 1e-6 * np.linalg.norm(x) / np.linalg.norm(d)
        fd = (par.crb(x + h * d)[0] - par.crb(x - h * d)[0]) / (2 * h)
        assert g @ d == pytest.approx(fd, rel=1e-5)
        cd = (w @ par.rows(x + h * d)[0] - w @ par.rows(x - h * d)[0]) / (2 * h)
        assert gw @ d == pytest.approx(cd, rel=1e-5, abs=1e-9 * np.abs(gw).sum())


def test_zf_parametrisation_gradients(case):
    pb, ops, _, _ = case
    U = baselines.zf_directions(pb.H)
    rng = np.random.default_rng(4)
    gamma = np.full(pb.M, 3.0)
    par = _ZfParam(ops, U, 3 * pb.K, gamma, p_ref=np.full(pb.M, 0.01))
    x = np.concatenate([rng.standard_normal(pb.M), 0.1 * rng.standard_normal(2 * pb.NK * 3 * pb.K)])
    _fd_check(par, x, rng)


def test_zf_exact_fill_parametrisation_gradients(case):
    pb, ops, _, _ = case
    U = baselines.zf_directions(pb.H)
    rng = np.random.default_rng(6)
    par = _ZfFillParam(ops, U, 3 * pb.K, np.full(pb.M, 3.0), p_ref=np.full(pb.M, 0.01))
    x = np.concatenate([0.3 * rng.standard_normal(pb.M), rng.standard_normal(2 * pb.NK * 3 * pb.K)])
    assert np.all(par.parts(x)[3] < pb.p_max_w)  # away from the clipped corner
    _fd_check(par, x, rng)
    p, _, _, _, _, Z = par.parts(x)
    power = (np.abs(Z) ** 2).sum(axis=1).reshape(pb.K, pb.N).sum(axis=1)
    np.testing.assert_allclose(power, pb.p_max_w, rtol=1e-12)  # (38) with equality by construction


def test_non_assisted_parametrisation_gradients(case):
    pb, ops, _, _ = case
    rng = np.random.default_rng(5)
    par = _NormParam(ops, pb.M, 3 * pb.K, np.full(pb.M, 3.0))
    x = rng.standard_normal(2 * pb.NK * (pb.M + 3 * pb.K))
    _fd_check(par, x, rng)


def test_infeasible_targets_fall_back(case):
    pb, ops, _, _ = case
    hard = pb.with_(eta=40.0)  # far above log2(1 + SNR with every satellite's full power)
    for fn in (fast_zfbf, fast_non_assisted):
        res = fn(hard, ops=ops, max_iter=2, inner_iter=200)
        assert res.status.startswith("fallback:") and res.cause == "infeasible"
        assert "unmet_design" in res.extra and not res.extra["unmet_design"].meets(hard)
    # more UEs than antennas: no zero forcing
    many = paper_problem("I", nx=1, nz=2, n_ue=7, seed=3)
    res = fast_zfbf(many)
    assert res.status.startswith("fallback:") and "M <= NK" in res.message


def test_comm_centric_budget_and_bracket(case):
    pb, ops, _, fast = case
    cc = fast_comm_centric(pb, ops=ops, tol_bps_hz=0.1)
    assert cc.status == "optimal" and cc.scheme == "comm_centric"
    so = fast["sensing_only"][ETAS[0]]
    assert cc.extra["crb_budget_m2"] == pytest.approx((2 * so.rcrb_m) ** 2)
    assert cc.rcrb_m**2 <= cc.extra["crb_budget_m2"]
    lo, hi = cc.extra["rate_bracket"]
    assert lo <= cc.extra["max_min_rate_bps_hz"] + 1e-9
    assert hi - lo <= 0.1 + 1e-12 or cc.extra["undecided_rates"]
    sinr, power = _sinr_and_power(pb, cc.W, cc.R)
    assert np.min(np.log2(1 + sinr)) >= lo - 1e-9 and np.all(power <= pb.p_max_w * (1 + 1e-9))
    # a budget below the sensing-only optimum is proven infeasible: fallback, no exception
    fb = fast_comm_centric(pb, ops=ops, crb_budget_m2=0.5 * so.extra["dual_bound_m"] ** 2)
    assert fb.status.startswith("fallback:") and fb.cause == "infeasible" and fb.extra["proven"]


@pytest.mark.slow
def test_comm_centric_matches_sdp_bisection(case):
    pb, ops, _, _ = case
    ref = comm_centric(pb, solver="CLARABEL")
    cc = fast_comm_centric(pb, ops=ops)
    lo, hi = cc.extra["rate_bracket"]
    rlo, _ = ref.extra["rate_bracket"]
    # the SDP bisection's feasible rate cannot exceed the fast path's PROVEN upper end, and the fast
    # path reaches at least the SDP's rate (within the bisection tolerances). (The SDP's own upper end
    # is no proof: a solver failure at a step also counts as "infeasible" there.)
    assert ref.status == "optimal"
    assert rlo <= hi + 1e-6
    assert lo >= rlo - 0.03
    assert ref.rcrb_m**2 <= cc.extra["crb_budget_m2"] * (1 + 1e-3)
