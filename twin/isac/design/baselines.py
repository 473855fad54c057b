"""Seed 000 baseline designs for Fig. 6 (seed-math B.7), solved with the same normalised SDP
machinery as :mod:`twin.isac.design.sdr` (same power (38) and rate (39) constraints, same CRB (20)).

* :func:`zfbf` - zero-forcing beam DIRECTIONS over the stacked channel (u_m from the pseudo-inverse
  of [h~_1 ... h~_M]^H, unit norm), per-UE powers and the sensing covariance R optimised.
* :func:`non_assisted` - the FIM uses R only (communication signals do not help sensing).
* :func:`sensing_only` - no rate constraint (33c): the best CRB the power budget allows.

All three let R have any rank (a sensing covariance; a lower bound on the rank-one-r~ versions).
Infeasibility returns the fallback of :func:`twin.isac.design.sdr.fallback_design`, never raises.
"""

from __future__ import annotations

import time

import numpy as np

from twin.isac.design.sdr import (
    _OK,
    DesignProblem,
    DesignResult,
    _failure,
    _gamma,
    _Model,
    _Sdp,
    choose_solver,
    evaluate_design,
    rank_one_beams,
)

__all__ = ["zf_directions", "zfbf", "non_assisted", "sensing_only"]


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
    sdp = _Sdp(problem)
    model = _Model(sdp, beams="fixed", directions=U)
    model.set_gamma(_gamma(problem.eta, rate_margin))
    st, _ = model.solve(slv, solver_opts)
    if st not in _OK:
        return _failure(problem, "zfbf", st, slv, time.perf_counter() - t0, "ZFBF SDP")
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
    :func:`twin.isac.design.sdr.rank_one_beams` (moves W_m - w~_m w~_m^H >= 0 into R: the rates are
    unchanged and the R-only CRB can only improve). Result has sensing_from = "R"."""
    t0 = time.perf_counter()
    slv = choose_solver(problem, solver)
    sdp = _Sdp(problem)
    model = _Model(sdp, fim_from="R")
    model.set_gamma(_gamma(problem.eta, rate_margin))
    st, _ = model.solve(slv, solver_opts)
    if st not in _OK:
        return _failure(
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
    sdp = _Sdp(problem)
    model = _Model(sdp, beams=None, rate=None)
    st, _ = model.solve(slv, solver_opts)
    if st not in _OK:
        return _failure(
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
