"""The fast joint design of seed 000 (33) for many problems at once, on compiled kernels: the
method of :func:`twin.isac.design.fast_design.fast_design` (factor form, PHR augmented
Lagrangian with log-form SINR rows, L-BFGS, weak-duality certificate stop), with the objective and
the L-BFGS iterations in :mod:`twin.isac.design.compiled` (numba) and the certificates in numpy
(:mod:`twin.isac.design.dual_bound`, unchanged).

:func:`fast_design_many` takes a list of problems (e.g. every target of an epoch) and returns one
certified :class:`DesignResult` per problem; each problem keeps its own iterate, multipliers,
L-BFGS memory and certificate, so the result of a problem does not depend on the others:
``fast_design_many([p])[0]`` is the same design, bit for bit, as its entry in any batch
(tests/isac/test_fast_many.py). Status "optimal" means what it means for ``fast_design``: every
rate target met and the dual certificate proves RCRB <= (1 + gap_tol) sqrt(SDR optimum).

Against ``fast_design`` the engine keeps fewer L-BFGS pairs (memory 10, not 60) and ends an
inner problem earlier (ftol 1e-6, not 1e-12), computes the certificate's linear algebra
differently (:mod:`twin.isac.design.dual_fast`, the same bound to ~1e-14) and its iterates differ
in the last bits anyway (loops, two-loop instead of compact L-BFGS), so the two engines stop at
different points: both certified within (1 + gap_tol) of the same lower bound, so their RCRBs
agree to within a factor (1 + gap_tol) (docs/twin.md, "Areas", Cost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from twin.isac.design import compiled
from twin.isac.design.dual_bound import optimise_multipliers
from twin.isac.design.dual_fast import fast_lower_bound
from twin.isac.design.factor_form import factors, initial_point
from twin.isac.design.fast_design import check_options, fallback_if_unmet
from twin.isac.design.operators import FastOperators, crb_and_gradient
from twin.isac.design.problem import DesignProblem, DesignResult, evaluate_design

__all__ = [
    "Run",
    "fast_design_many",
    "fast_design_compiled",
    "setup_run",
    "DEFAULT_MEMORY",
    "DEFAULT_FTOL",
]

#: L-BFGS memory and inner stall tolerance of the compiled engine (fast_design: 60 and 1e-12).
#: Measured on the 80 designs of the regional scenario (20 targets, 4 epochs; docs/twin.md,
#: "Areas"): memory 60 -> 10 costs 1.7x the iterations (329 -> 555 mean at ftol 1e-12) at ~1/3
#: of the cost per iteration (the two-loop recursion reads 2 x memory vectors of 4,000 reals
#: twice per iteration): 78 -> 56 ms per design; ending an
#: inner problem after 10 iterations each gaining <= ftol relative: mean iterations 555 (1e-12),
#: 280 (1e-7), 224 (1e-6), 200 (3e-6), all 80 certified at the first or second check; from 1e-5
#: on the stationarity multipliers miss the gap more often (3 and 16 of 80 designs needed
#: optimise_multipliers at 1e-5 and 3e-5, each ~0.5-1.5 s), so 1e-6 keeps a factor 10 margin.
DEFAULT_MEMORY = 10
DEFAULT_FTOL = 1e-6
#: close certificate checks in a row before the multipliers are optimised (see _certify)
CLOSE_CHECKS = 3


@dataclass
class Run:
    """One problem's state in a batch: data of the compiled kernels, the iterate and the ALM and
    certificate bookkeeping of fast_design (``state`` there)."""

    pb: DesignProblem
    ops: FastOperators
    args: tuple  # (E, S_T, S_flat, c, Hc, HnT, p_max, gamma, gamma_true, scale, K, N, M, cols)
    shape: tuple
    x: np.ndarray
    lam: np.ndarray
    rho: float
    early: np.ndarray
    t0: float
    cert: object = None
    done: bool = False
    checks: int = 0
    close: int = 0
    history: list = field(default_factory=list)
    n_lbfgs: int = 0
    viol: float = np.inf
    total: int = 0
    evals: int = 0

    def objective(self, x, lam, rho):
        """(L_rho(x, lam), gradient) of this problem by the compiled kernel."""
        E, S_T, S_flat, c, Hc, HnT, p_max, gamma, _, scale, K, N, M, cols = self.args
        return compiled.objective(
            x, lam, rho, E, S_T, S_flat, c, Hc, HnT, p_max, gamma, scale, K, N, M, cols
        )

    def factors(self) -> np.ndarray:
        """The current factors Y (K, N, cols) complex (a copy)."""
        return self.x.view(complex).reshape(self.shape).copy()


def setup_run(
    pb,
    warm_start=None,
    *,
    sensing_rank="full",
    rate_margin=1e-3,
    seed=0,
    rho0=0.01,
    warm_early=(10, 20),
):
    """The start state of one problem (fast_design's set-up: operators, start point, CRB unit)."""
    t0 = time.perf_counter()
    ops = FastOperators(pb, structured=True)
    K, N, M = pb.K, pb.N, pb.M
    r = 3 * K if sensing_rank == "full" else 1
    cols = M + r
    gamma = (2.0**pb.eta - 1.0) * (1.0 + rate_margin)
    gamma_true = 2.0**pb.eta - 1.0
    Y, lam, warm = None, np.zeros(M), False
    if warm_start is not None and "factors" in warm_start.extra:
        Yw = np.asarray(warm_start.extra["factors"])
        if Yw.shape == (K, N, cols):
            Y, warm = Yw.astype(complex), True
            lw = np.asarray(warm_start.extra.get("multipliers", lam))
            lam = lw.astype(float) if lw.shape == (M,) else lam
    if Y is None:
        Y = initial_point(ops, r, np.random.default_rng(seed))
    Ziso = np.zeros((K * N, K * N), dtype=complex)
    Ziso[np.arange(K * N), np.arange(K * N)] = np.repeat(np.sqrt(pb.p_max_w / N), N)
    crb0, _ = crb_and_gradient(ops, Ziso)
    scale = 1.0 / crb0 if np.isfinite(crb0) and crb0 > 0 else 1.0
    args = (
        np.ascontiguousarray(ops.E, dtype=complex),
        ops.S_T,
        ops.S_flat,
        float(ops.c),
        np.ascontiguousarray(ops.Hn.conj(), dtype=complex),
        np.ascontiguousarray(ops.Hn.T, dtype=complex),
        np.asarray(pb.p_max_w, dtype=float),
        np.asarray(gamma, dtype=float),
        np.asarray(gamma_true, dtype=float),
        float(scale),
        K,
        N,
        M,
        cols,
    )
    early = np.array(warm_early if warm else (), dtype=np.int64)
    x = np.ascontiguousarray(Y, dtype=complex).ravel().view(float).copy()
    return Run(pb, ops, args, Y.shape, x, lam.copy(), float(rho0), early, t0)


def _certify(run: Run, gap_tol: float) -> bool:
    """fast_design's certify_point after the rate test passed: the dual certificate of the iterate
    with the stationarity multipliers, stored on the run; True when gap <= gap_tol. Where
    fast_design optimises the multipliers at the first close check (gap_tol < gap <= 5 gap_tol;
    dual_bound.optimise_multipliers, ~30 eigendecompositions of M + 1 matrices: 1.5 s measured
    once on the regional problems, the cost of ~20,000 compiled iterations), this engine iterates
    on and optimises only at the third close check in a row (and, as fast_design, at the end
    when no certificate was reached)."""
    pb, M = run.pb, run.pb.M
    Z, _ = factors(run.factors(), pb.p_max_w)
    run.checks += 1
    cert = fast_lower_bound(run.ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, Z[:, :M], Z[:, M:])
    close = gap_tol < cert.gap <= 5.0 * gap_tol
    run.close = run.close + 1 if close else 0
    if close and run.close >= CLOSE_CHECKS:
        run.close = 0
        cert = optimise_multipliers(
            run.ops,
            pb.H,
            pb.comm_noise,
            pb.eta,
            pb.p_max_w,
            Z[:, :M],
            Z[:, M:],
            lam0=cert.lam,
            mu0=cert.mu,
        )
    run.cert = cert
    run.done = cert.gap <= gap_tol
    return run.done


def _solve(
    run: Run, *, tol, max_iter, inner_iter, gap_tol, check_every, rho_growth, rho_max, memory, ftol
):
    """fast_design's augmented-Lagrangian loop (alm.augmented_lagrangian) on the compiled kernels."""
    E, S_T, S_flat, c, Hc, HnT, p_max, gamma, gamma_true, scale, K, N, M, cols = run.args
    n = run.x.size
    Sb = np.zeros((memory, n))
    Yb = np.zeros((memory, n))
    rhob = np.zeros(memory)
    fg = np.zeros(1)
    istate = np.zeros(7, dtype=np.int64)
    viol_prev = np.inf
    every = int(check_every) if gap_tol > 0 else np.iinfo(np.int64).max
    for _ in range(int(max_iter)):
        istate[:6] = 0
        istate[4] = run.total
        f0, g = run.objective(run.x, run.lam, run.rho)
        fg[0] = f0
        stopped = False
        while True:
            event = compiled.lbfgs_run(
                run.x, fg, g, Sb, Yb, rhob, istate, int(inner_iter), ftol, every, run.early,
                run.lam, run.rho, E, S_T, S_flat, c, Hc, HnT, p_max, gamma, gamma_true, scale,
                K, N, M, cols,
            )  # fmt: skip
            if event == compiled.EVENT_END:
                break
            if _certify(run, gap_tol):
                stopped = True
                break
        run.total = int(istate[4])
        run.n_lbfgs += int(istate[3])
        run.evals = int(istate[6])
        f, cr = compiled.measure(run.x, E, S_T, S_flat, c, Hc, p_max, gamma, K, N, M, cols)
        run.viol = float(np.max(np.maximum(-cr, 0.0))) if cr.size else 0.0
        run.history.append(float(f))
        if stopped:
            break
        run.lam = np.maximum(0.0, run.lam - run.rho * cr)
        if run.viol > 0.25 * viol_prev:
            run.rho = min(run.rho * rho_growth, rho_max)
        viol_prev = run.viol
        # outer stop: the certificate of the multiplier step's point, then the tolerance test
        if gap_tol > 0 and compiled.rates_met(run.x, Hc, p_max, gamma_true, K, N, M, cols):
            if _certify(run, gap_tol):
                break
        h = run.history
        if len(h) > 1 and abs(h[-2] - f) <= tol * f and run.viol <= tol:
            break


def _result(run: Run, sensing_rank: str) -> DesignResult:
    """The DesignResult of a finished run, built as fast_design builds its own."""
    pb, M = run.pb, run.pb.M
    Yf = run.factors()
    Z, _ = factors(Yf, pb.p_max_w)
    W, L = Z[:, :M], Z[:, M:]
    R = L[:, 0] if L.shape[1] == 1 else L @ L.conj().T
    secs = time.perf_counter() - run.t0
    history = run.history
    result = evaluate_design(
        pb,
        W,
        R,
        scheme="fast_design",
        solver="alm-lbfgs-compiled",
        iterations=len(history),
        objective_history=[float(h) for h in history],
        rcrb_history_m=[float(np.sqrt(h)) for h in history],
        solve_time_s=secs,
    )
    cert = run.cert
    if cert is None or not run.done:
        cert = optimise_multipliers(run.ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, W, L)
    result.extra.update(
        factors=Yf,
        max_violation=run.viol,
        lbfgs_iterations=run.n_lbfgs,
        line_search_evaluations=run.evals,
        sensing_rank=sensing_rank,
        multipliers=run.lam,
        certificate=cert,
        dual_bound_m=cert.bound_m,
        dual_gap=(result.rcrb_m / cert.bound_m - 1.0) if cert.bound_m > 0 else float("inf"),
        certificate_checks=run.checks,
        rho=run.rho,
    )
    return fallback_if_unmet(pb, result, solver="alm-lbfgs-compiled", outer_iterations=len(history))


def fast_design_many(
    problems,
    warm_starts=None,
    *,
    sensing_rank: str = "full",
    tol: float = 1e-6,
    max_iter: int = 20,
    inner_iter: int = 1000,
    rate_margin: float = 1e-3,
    seed: int = 0,
    gap_tol: float = 2e-3,
    check_every: int = 50,
    rho0: float = 0.01,
    rho_growth: float = 5.0,
    rho_max: float = 1e8,
    memory: int = DEFAULT_MEMORY,
    ftol: float = DEFAULT_FTOL,
) -> list[DesignResult]:
    """Certified joint designs of seed 000 (33) for every problem of ``problems`` (a sequence of
    :class:`DesignProblem`, any sizes), with ``warm_starts`` (None, or one previous DesignResult or
    None per problem). Options as :func:`twin.isac.design.fast_design.fast_design` (rate_form
    "log"); memory: L-BFGS pairs kept; ftol: an inner L-BFGS problem ends after 10 successive
    iterations each lowering the augmented Lagrangian by <= ftol relative. Returns one DesignResult per problem, in order (scheme
    "fast_design", solver "alm-lbfgs-compiled", the same ``extra`` keys as fast_design)."""
    check_options(sensing_rank, tol, max_iter, rate_margin)
    if not 0 <= gap_tol < 1:
        raise ValueError(f"gap_tol must be in [0, 1), got {gap_tol}")
    if int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every}")
    if int(memory) != memory or memory < 1:
        raise ValueError(f"memory must be a positive integer, got {memory}")
    problems = list(problems)
    warm_starts = [None] * len(problems) if warm_starts is None else list(warm_starts)
    if len(warm_starts) != len(problems):
        raise ValueError(f"{len(warm_starts)} warm starts for {len(problems)} problems")
    results = []
    for pb, ws in zip(problems, warm_starts):
        run = setup_run(
            pb,
            ws,
            sensing_rank=sensing_rank,
            rate_margin=rate_margin,
            seed=seed,
            rho0=rho0,
            warm_early=(10, 20) if gap_tol > 0 else (),
        )
        _solve(
            run,
            tol=tol,
            max_iter=max_iter,
            inner_iter=inner_iter,
            gap_tol=gap_tol,
            check_every=check_every,
            rho_growth=rho_growth,
            rho_max=rho_max,
            memory=int(memory),
            ftol=float(ftol),
        )
        results.append(_result(run, sensing_rank))
    return results


def fast_design_compiled(problem: DesignProblem, *, warm_start=None, **options) -> DesignResult:
    """One problem through :func:`fast_design_many` (the same design as its entry in any batch)."""
    return fast_design_many([problem], [warm_start], **options)[0]
