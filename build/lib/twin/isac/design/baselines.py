"""Seed 000 comparison designs of Fig. 6 in cvxpy: the baselines (seed-math B.7) and the
communication-centric design (48)-(50), solved with the same normalised SDP machinery as
:mod:`twin.isac.design.sdr` (same power (38) and rate (39) constraints, same CRB (20)).

* :func:`zfbf` - zero-forcing beam DIRECTIONS over the stacked channel (u_m from the pseudo-inverse
  of [h~_1 ... h~_M]^H, unit norm), per-UE powers and the sensing covariance R optimised.
* :func:`non_assisted` - the FIM uses R only (communication signals do not help sensing).
* :func:`sensing_only` - no rate constraint (33c): the best CRB the power budget allows.
* :func:`comm_centric` - the communication-centric design (48)-(50), by bisection on the SINR.

The three baselines let R have any rank (a sensing covariance; a lower bound on the rank-one-r~ versions).
Infeasibility returns the fallback of :func:`twin.isac.design.problem.fallback_design`, never raises.
"""

from __future__ import annotations

import time

import numpy as np

from twin.isac.design.problem import (
    DesignProblem,
    DesignResult,
    evaluate_design,
    fallback_design,
    sinr_targets,
)
from twin.isac.design.rank_one import rank_one_beams
from twin.isac.design.sdr import OK, Model, Sdp, choose_solver, failure, sdr_lower_bound

__all__ = ["zf_directions", "zfbf", "non_assisted", "sensing_only", "comm_centric"]


def zf_directions(H) -> np.ndarray:
    """Unit-norm zero-forcing directions over the stacked channel: U = pinv(H^*) (NK, M), so that
    h~_i^H u_m = 0 for i != m (y_i = h~_i^H x), columns scaled to unit norm. H (M, NK), M <= NK."""
    Hc = np.conj(np.asarray(H, dtype=complex))
    if Hc.shape[0] > Hc.shape[1]:
        raise ValueError(f"zero forcing needs M <= NK, got H {Hc.shape}")
    U = np.linalg.pinv(Hc)
    return U / np.linalg.norm(U, axis=0, keepdims=True)


def zfbf(
    problem: DesignProblem,
    *,
    solver: str = "auto",
    rate_margin: float = 1e-6,
    solver_opts: dict | None = None,
) -> DesignResult:
    """ZFBF baseline (seed 000 Fig. 6, seed-math B.7): beams w~_m = sqrt(p_m) u_m with the ZF
    directions of :func:`zf_directions`; p (M,) >= 0 and R (PSD) minimise tr CRB (20) (FIM from
    R_x = sum p_m u_m u_m^H + R) s.t. (38) and the linear rate constraint (39). One SDP."""
    t0 = time.perf_counter()
    slv = choose_solver(problem, solver)
    U = zf_directions(problem.H)
    sdp = Sdp(problem)
    model = Model(sdp, beams="fixed", directions=U)
    model.set_gamma(sinr_targets(problem.eta, rate_margin))
    st, _ = model.solve(slv, solver_opts)
    if st not in OK:
        return failure(problem, "zfbf", st, slv, time.perf_counter() - t0, "ZFBF SDP")
    s = sdp.s
    W = U * np.sqrt(np.maximum(model.pw.value, 0.0) * s)
    R = model.sensing_mat() * s
    return evaluate_design(
        problem,
        W,
        R,
        scheme="zfbf",
        solver=slv,
        solver_status=st,
        iterations=1,
        objective_history=[model.crb_value_m2()],
        rank_residual=0.0,
        solve_time_s=time.perf_counter() - t0,
    )


def non_assisted(
    problem: DesignProblem,
    *,
    solver: str = "auto",
    rate_margin: float = 1e-6,
    solver_opts: dict | None = None,
) -> DesignResult:
    """Non-assisted sensing (seed-math B.7): min tr CRB with the FIM of the sensing signal R alone
    (the W_m still interfere and use power) s.t. (38), (39); SDR, then rank-one beams by
    :func:`twin.isac.design.rank_one.rank_one_beams` (moves W_m - w~_m w~_m^H >= 0 into R: the rates are
    unchanged and the R-only CRB can only improve). Result has sensing_from = "R"."""
    t0 = time.perf_counter()
    slv = choose_solver(problem, solver)
    sdp = Sdp(problem)
    model = Model(sdp, fim_from="R")
    model.set_gamma(sinr_targets(problem.eta, rate_margin))
    st, _ = model.solve(slv, solver_opts)
    if st not in OK:
        return failure(
            problem,
            "non_assisted",
            st,
            slv,
            time.perf_counter() - t0,
            "non-assisted SDP",
            sensing_from="R",
        )
    s = sdp.s
    Ws = model.beam_mats() * s
    Rs = model.sensing_mat() * s
    W, R = rank_one_beams(problem, Ws, Ws.sum(axis=0) + Rs)
    return evaluate_design(
        problem,
        W,
        R,
        scheme="non_assisted",
        sensing_from="R",
        solver=slv,
        solver_status=st,
        iterations=1,
        objective_history=[model.crb_value_m2()],
        rank_residual=0.0,
        solve_time_s=time.perf_counter() - t0,
    )


def sensing_only(
    problem: DesignProblem, *, solver: str = "auto", solver_opts: dict | None = None
) -> DesignResult:
    """Location sensing only (seed-math B.7): min tr CRB over the covariance R_x = R s.t. (38) only
    (rate constraint (33c) dropped) - the performance upper bound of Fig. 6. W = 0, so rates are 0."""
    t0 = time.perf_counter()
    slv = choose_solver(problem, solver)
    sdp = Sdp(problem)
    model = Model(sdp, beams=None, rate=None)
    st, _ = model.solve(slv, solver_opts)
    if st not in OK:
        return failure(
            problem, "sensing_only", st, slv, time.perf_counter() - t0, "sensing-only SDP"
        )
    R = model.sensing_mat() * sdp.s
    W = np.zeros((problem.NK, problem.M), dtype=complex)
    return evaluate_design(
        problem,
        W,
        R,
        scheme="sensing_only",
        solver=slv,
        solver_status=st,
        iterations=1,
        objective_history=[model.crb_value_m2()],
        rank_residual=0.0,
        solve_time_s=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------
# communication-centric design (48)-(50)


def comm_centric(
    problem: DesignProblem,
    *,
    crb_budget_m2: float | None = None,
    solver: str = "auto",
    tol_bps_hz: float = 0.02,
    max_steps: int = 30,
    solver_opts: dict | None = None,
    sensing_only_rcrb_m: float | None = None,
) -> DesignResult:
    """Seed 000 communication-centric design (48)-(50): max min_i R_i s.t. (48b) power and (48c)
    tr CRB <= eta~ (``crb_budget_m2``, m^2).

    Seed-math B.6 [D]: bisection on the common rate r (SINR 2^r - 1) with the LINEAR rate
    constraints; each step is the SDR of (33) with eta_i = r (feasible for the budget iff its
    optimum tr CRB*(r) <= eta~, and tr CRB*(r) is non-decreasing in r); the final SDR design is
    made rank one by :func:`rank_one_beams` (same R_x and SINRs: the beams are exactly rank one, the
    sensing covariance may have any rank - instead of the paper's penalty loop). Default budget
    eta~ = (2 RCRB_sensing-only)^2, the sensing-only design :func:`sensing_only`
    (or ``sensing_only_rcrb_m`` if given). The bisection stops when the bracket is narrower than
    ``tol_bps_hz``. The problem's own eta is ignored. Result: extra["max_min_rate_bps_hz"] (achieved, recomputed), extra["bisection_rate_bps_hz"],
    extra["crb_budget_m2"]; fallback with cause "infeasible" when even r = 0 exceeds the budget.
    """
    scheme = "comm_centric"
    t0 = time.perf_counter()
    slv = choose_solver(problem, solver)
    if crb_budget_m2 is None:
        if sensing_only_rcrb_m is None:
            so = sensing_only(problem, solver=solver, solver_opts=solver_opts)
            if not so.ok:
                return failure(
                    problem,
                    scheme,
                    so.solver_status,
                    slv,
                    time.perf_counter() - t0,
                    "sensing-only design",
                )
            sensing_only_rcrb_m = so.rcrb_m
        crb_budget_m2 = (2.0 * sensing_only_rcrb_m) ** 2
    if not crb_budget_m2 > 0:
        raise ValueError(f"crb_budget_m2 must be > 0 m^2, got {crb_budget_m2}")
    sdp = Sdp(problem)
    model = Model(sdp, solver=slv)
    # rate upper bound: UE i alone with every satellite's full power coherently on it (no interference)
    per_sat = np.linalg.norm(problem.H.reshape(problem.M, problem.K, problem.N), axis=2)  # (M, K)
    snr_max = (per_sat @ np.sqrt(problem.p_max_w)) ** 2 / problem.comm_noise
    lo, hi = 0.0, float(np.log2(1.0 + np.min(snr_max)))
    budget_n = crb_budget_m2

    def feasible(r):
        res = sdr_lower_bound(
            problem.with_(eta=r), solver=slv, solver_opts=solver_opts, _model=model
        )
        return res, res.ok and res.bound_m**2 <= budget_n

    best, ok0 = feasible(lo)
    steps = 1
    if not ok0:
        if best.ok:
            msg = f"CRB budget {crb_budget_m2:.3g} m^2 below the sensing-only CRB {best.bound_m**2:.3g} m^2"
            return fallback_design(
                problem,
                scheme=scheme,
                cause="infeasible",
                solver=slv,
                message=msg,
                solve_time_s=time.perf_counter() - t0,
                iterations=steps,
            )
        return failure(
            problem, scheme, best.solver_status, slv, time.perf_counter() - t0, "comm-centric r = 0"
        )
    best_r = lo
    while hi - lo > tol_bps_hz and steps < max_steps:
        mid = 0.5 * (lo + hi)
        res, ok = feasible(mid)
        steps += 1
        if ok:
            lo, best, best_r = mid, res, mid
        else:
            hi = mid
    out = evaluate_design(
        problem,
        best.W,
        best.R,
        scheme=scheme,
        solver=slv,
        solver_status=best.solver_status,
        iterations=steps,
        objective_history=[best.bound_m**2],
        rcrb_history_m=[best.bound_m],
        rank_residual=0.0,
        solve_time_s=time.perf_counter() - t0,
        bound_m=best.bound_m,
    )
    out.extra.update(
        max_min_rate_bps_hz=float(out.rates.min()),
        bisection_rate_bps_hz=best_r,
        crb_budget_m2=crb_budget_m2,
        rate_bracket=(lo, hi),
        sensing_only_rcrb_m=sensing_only_rcrb_m,
    )
    return out
