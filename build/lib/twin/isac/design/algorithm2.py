"""Seed 000 Algorithm 2 (eqs. (42)-(47), seed-math B.6) with cvxpy: the penalty iteration towards
a rank-one design of (33), its feasible start (power-minimising SDR) and its output step.

* :func:`power_min_start` - line 1, the feasible starting point.
* :func:`algorithm2` - the paper's penalty iteration (43)-(47), each (46) solved by the cvxpy
  :class:`twin.isac.design.sdr.Model`.
* :func:`penalty_step` (lines 5-8) and :func:`algorithm2_result` (the (47) output) are shared with
  the factor-form engine :func:`twin.isac.design.fast_algorithm2.algorithm2_fast`.

Numerics as in :mod:`twin.isac.design.sdr` (powers / max P^max, UE noise 1); the CRB term of (46)
is in units of :func:`twin.isac.design.problem.default_crb_unit_m2`.
"""

from __future__ import annotations

import time

import numpy as np

from twin.isac.design.problem import (
    DesignProblem,
    DesignResult,
    crb_rx,
    default_crb_unit_m2,
    evaluate_design,
    sinr_targets,
)
from twin.isac.design.rank_one import extract_47, rank_one_beams, rank_residual
from twin.isac.design.sdr import OK, Model, Sdp, choose_solver, failure
from twin.isac.physics.transmit import satellite_powers

__all__ = ["power_min_start", "algorithm2", "penalty_step", "algorithm2_result"]


def power_min_start(
    problem: DesignProblem,
    *,
    solver: str = "auto",
    rate_margin: float = 0.0,
    solver_opts: dict | None = None,
):
    """Feasible starting point of Algorithm 2 (seed-math B.6 [D]): beams W_m^(0) from the SDR that
    meets the rate targets (39) with the least communication power, and the leftover power spread
    isotropically per satellite as R^(0) = blockdiag(t_k I_N). Because that isotropic R^(0)
    interferes with the UEs, both are solved together: maximise sum_k t_k s.t. (38) and (39)
    with R = R^(0) (with no sensing interference this is exactly the power-minimising SDR).

    Returns (Ws (M, NK, NK) W, R0 (NK, NK) W, status, seconds, solver); Ws, R0 are None unless
    status is "optimal"/"optimal_inaccurate".
    """
    slv = choose_solver(problem, solver)
    sdp = Sdp(problem)
    model = Model(sdp, sensing="isotropic", fim_from=None, objective="sensing_power")
    model.set_gamma(sinr_targets(problem.eta, rate_margin))
    status, secs = model.solve(slv, solver_opts)
    if status not in OK:
        return None, None, status, secs, slv
    return model.beam_mats() * sdp.s, model.sensing_mat() * sdp.s, status, secs, slv


def algorithm2(
    problem: DesignProblem,
    *,
    rho: float = 10.0,
    iota: float = 1.5,
    delta: float = 1e-4,
    max_iter: int = 30,
    rel_tol: float = 1e-4,
    rate_form: str = "linear",
    sensing_rank: str = "one",
    solver: str = "auto",
    rate_margin: float = 1e-3,
    crb_unit_m2: float | None = None,
    solver_opts: dict | None = None,
) -> DesignResult:
    """Seed 000 Algorithm 2: penalty-based rank-one design of (33) via (42)-(47).

    Start (line 1) from :func:`power_min_start`. Iteration j+1 solves (46): min tr(U^{-1}) +
    rho sum_X (tr X - v_X^(j)H X v_X^(j)) s.t. (34), (38), the rate constraint (linear form, or the
    SCA form (41) linearised at iterate j with ``rate_form="sca"``) and PSD (42b), with v_X^(j) the
    principal eigenvector of iterate j (44)-(45). Converged when the relative change of the (46)
    objective is < ``rel_tol``; then if the rank residual sum |tr X - lambda_max(X)| (normalised by
    max P^max) exceeds ``delta``, rho <- iota rho and iterate on (lines 5-8); stop when converged
    with residual <= delta or after ``max_iter`` solves. Output by (47): w~_m, r~ = sqrt(lambda_max) v.

    Numerics (seed-math B.6 [D]): powers / max P^max, UE noise 1, and the CRB term of (46) is
    tr CRB / ``crb_unit_m2`` (default: CRB_UNIT_FRACTION = 0.1 % of tr CRB of the isotropic
    full-power design), so rho weighs normalised power against that unit; objective_history is in
    those units. The paper's units (m^2, W) leave this scale open; with unit = 100 % the penalty
    dominates and the iteration crawls (docs/isac-design.md has the measured comparison). sensing_rank "one" (paper: r~ rank one, R penalised) or "full" (only the
    W_m are penalised; the output uses :func:`rank_one_beams`, keeping R_x). rate_margin: relative
    SINR margin on the targets so the extracted rank-one design still meets them.
    The result's rcrb_history_m[j] is the RCRB of iterate j's R_x (j = 0: the start);
    extra["rcrb_rank_one_history_m"] that of its (47) extraction; extra["rho_history"];
    extra["solver_history"] (cvxpy status, solver iterations, CPU s) per iteration.
    """
    if rate_form not in ("linear", "sca"):
        raise ValueError(f"rate_form must be 'linear' or 'sca', got {rate_form!r}")
    if sensing_rank not in ("full", "one"):
        raise ValueError(f"sensing_rank must be 'full' or 'one', got {sensing_rank!r}")
    if not (rho > 0 and iota >= 1 and delta > 0 and max_iter >= 1 and rel_tol > 0):
        raise ValueError("need rho > 0, iota >= 1, delta > 0, max_iter >= 1, rel_tol > 0")
    scheme = "algorithm2"
    t_start = time.perf_counter()
    Ws0, R0, status, secs, slv = power_min_start(
        problem, solver=solver, rate_margin=rate_margin, solver_opts=solver_opts
    )
    if Ws0 is None:
        return failure(
            problem,
            scheme,
            status,
            slv,
            time.perf_counter() - t_start,
            "starting point (power-min SDR)",
        )
    sdp = Sdp(problem)
    s = sdp.s
    model = Model(
        sdp, rate=rate_form, penalty=True, penalize_sensing=(sensing_rank == "one"), solver=slv
    )
    unit = default_crb_unit_m2(problem) if crb_unit_m2 is None else float(crb_unit_m2)
    if not unit > 0:
        raise ValueError(f"crb_unit_m2 must be > 0 m^2, got {crb_unit_m2}")
    rho_scale = (
        unit / sdp.obj_ref
    )  # (CRB/unit + rho pen) = (obj_ref/unit) (CRB/obj_ref + rho (unit/obj_ref) pen)
    if rate_form == "linear":
        model.set_gamma(sinr_targets(problem.eta, rate_margin))
    Xs, Y = Ws0 / s, R0 / s

    def _rank_one_rcrb(Xs_, Y_):
        W1, r1 = extract_47(Xs_ * s, Y_ * s)
        Rx1 = W1 @ W1.conj().T + (np.outer(r1, r1.conj()) if sensing_rank == "one" else Y_ * s)
        return crb_rx(problem, Rx1)

    rcrb_hist = [sdp.crb_rx(Xs.sum(axis=0) + Y)]
    r1_hist = [_rank_one_rcrb(Xs, Y)]
    obj_hist, rho_hist, res_hist, solver_hist = [], [], [], []
    f_prev = None
    last_status = status
    it = 0
    for it in range(1, max_iter + 1):
        model.set_penalty(rho * rho_scale, Xs, Y)
        if rate_form == "sca":
            model.set_sca(np.log2(1.0 + sinr_targets(problem.eta, rate_margin)), Xs, Y)
        st, _ = model.solve(slv, solver_opts)
        last_status = st
        if st not in OK:
            if it == 1:
                return failure(
                    problem,
                    scheme,
                    st,
                    slv,
                    time.perf_counter() - t_start,
                    "Algorithm 2 iteration 1",
                    iterations=it,
                )
            it -= 1
            break
        Xs, Y = model.beam_mats(), model.sensing_mat()
        f = float(model.prob.value) / rho_scale
        solver_hist.append((st, model.last_iterations, model.last_cpu_s))
        obj_hist.append(f)
        rho_hist.append(rho)
        rcrb_hist.append(sdp.crb_rx(Xs.sum(axis=0) + Y))
        r1_hist.append(_rank_one_rcrb(Xs, Y))
        resid = rank_residual(list(Xs) + ([Y] if sensing_rank == "one" else []))
        res_hist.append(resid)
        stop, rho = penalty_step(f, f_prev, resid, rho, iota=iota, delta=delta, rel_tol=rel_tol)
        f_prev = f
        if stop:
            break
    return algorithm2_result(
        problem,
        Xs * s,
        Y * s,
        sensing_rank,
        scheme=scheme,
        solver=slv,
        solver_status=last_status,
        iterations=it,
        objective_history=obj_hist,
        rcrb_history_m=rcrb_hist,
        rank_one_history_m=r1_hist,
        rho_history=rho_hist,
        rank_residual_history=res_hist,
        t_start=t_start,
        start_solve_s=secs,
        solver_history=solver_hist,
        subspace_dim=sdp.dim,
    )


def penalty_step(
    f: float,
    f_prev: float | None,
    resid: float,
    rho: float,
    *,
    iota: float,
    delta: float,
    rel_tol: float,
) -> tuple[bool, float]:
    """Algorithm 2 lines 5-8 after one (46) solve: the iteration has converged when the (46)
    objective ``f`` changed by <= ``rel_tol`` relative to ``f_prev`` (None at the first solve);
    then stop if the rank residual ``resid`` <= ``delta``, else raise rho <- iota rho.
    Returns (stop, rho)."""
    converged = f_prev is not None and abs(f - f_prev) <= rel_tol * max(abs(f_prev), 1e-12)
    if converged and resid <= delta:
        return True, rho
    return False, rho * iota if converged else rho


def algorithm2_result(
    problem: DesignProblem,
    Ws,
    Rs,
    sensing_rank: str,
    *,
    scheme: str,
    solver: str,
    solver_status: str,
    iterations: int,
    objective_history,
    rcrb_history_m,
    rank_one_history_m,
    rho_history,
    rank_residual_history,
    t_start: float,
    **extra,
) -> DesignResult:
    """Algorithm 2's output from its last iterate (W_m (M, NK, NK), R (NK, NK), W): (47)
    (``sensing_rank="one"``) or :func:`rank_one_beams` (``"full"``), fitted to the power limits and
    evaluated from scratch; histories and ``extra`` go to ``result.extra``. Shared by
    :func:`algorithm2` and ``twin.isac.design.fast_algorithm2.algorithm2_fast``."""
    if sensing_rank == "one":
        W, R = extract_47(Ws, Rs)
    else:
        W, R = rank_one_beams(problem, Ws, Ws.sum(axis=0) + Rs)
    W, R = _fit_power(problem, W, R)
    res = evaluate_design(
        problem,
        W,
        R,
        scheme=scheme,
        solver=solver,
        solver_status=solver_status,
        iterations=iterations,
        objective_history=objective_history,
        rcrb_history_m=rcrb_history_m,
        rank_residual=rank_residual_history[-1] if rank_residual_history else float("nan"),
        solve_time_s=time.perf_counter() - t_start,
    )
    res.extra.update(
        rcrb_rank_one_history_m=rank_one_history_m,
        rho_history=rho_history,
        rank_residual_history=rank_residual_history,
        **extra,
    )
    if not res.meets(problem, rate_tol=1e-6):
        res.message = (
            "rank-one output misses a rate target by more than 1e-6 bit/s/Hz (raise rate_margin)"
        )
    return res


def _fit_power(problem: DesignProblem, W, R):
    """Scale (W, R) by one factor <= 1 so every satellite meets P_k^max exactly (removes solver
    overshoot of ~1e-6..1e-4; SINRs change only through the noise term)."""
    pw = satellite_powers(W, R, problem.K)
    f = min(1.0, float(np.min(problem.p_max_w / np.maximum(pw, 1e-300))))
    return W * np.sqrt(f), R * f
