"""Fast, certified versions of the seed 000 Fig. 6 baselines (seed-math B.6-B.7): sensing only,
non-assisted sensing, ZFBF and the communication-centric design (48)-(50), with the machinery of
:mod:`twin.isac.design.fast_design` (factor form R_x = Z Z^H, augmented Lagrangian on log-form SINR rows,
L-BFGS) and a weak-duality certificate of each scheme's own convex problem
(:func:`twin.isac.design.dual_bound.scheme_dual_bound`; derivation in docs/isac-fast-design.md).

* :func:`fast_sensing_only` - min tr CRB(R) s.t. per-satellite power (38); R = L L^H, L (NK, 3K),
  every satellite at full power by construction (Z_k = sqrt(P_k) Y_k / ||Y_k||). No rate rows.
* :func:`fast_non_assisted` - FIM from R = L L^H only; beams V still use power and interfere; same
  factor form as :func:`twin.isac.design.fast_design.fast_design` with the CRB evaluated on L.
* :func:`fast_zfbf` - beams sqrt(p_m) u_m with the ZF directions of
  :func:`twin.isac.design.baselines.zf_directions`; log-powers v_m (p_m = p_ref_m e^{v_m}) and R = L L^H
  optimised. The per-satellite powers (38) couple p and L: first the exact-power form (each
  satellite's sensing rows take the power its beams leave), and if that is not certified, the
  power-rows form (the powers in the augmented Lagrangian; iterates scaled onto the power set before
  they are certified).
* :func:`fast_comm_centric` - max-min rate s.t. power and tr CRB <= budget, by bisection on the common
  rate r with :func:`fast_design` at eta = r: r is feasible when the fast design meets the budget,
  proven infeasible when its certificate's lower bound exceeds the budget, else undecided (retried
  with a tighter ``gap_tol``, then recorded).

Every result is a :class:`twin.isac.design.problem.DesignResult` re-evaluated from scratch by
:func:`twin.isac.design.problem.evaluate_design` (scheme names as :mod:`twin.isac.design.baselines` uses), with
``extra["dual_bound_m"]`` (sqrt of a lower bound on the scheme's optimal tr CRB, m),
``extra["dual_gap"]`` (RCRB / dual_bound_m - 1) and ``extra["certificate"]``. Infeasible targets
return the documented fallback (:func:`twin.isac.design.problem.fallback_design`), never raise.
"""

from __future__ import annotations

import time

import numpy as np

from twin.isac.design.alm import augmented_lagrangian, phr_penalty
from twin.isac.design.baselines import zf_directions
from twin.isac.design.dual_bound import optimise_scheme_multipliers, scheme_dual_bound
from twin.isac.design.factor_form import (
    chain,
    factors,
    initial_point,
    rate_log_slack,
    to_complex,
    to_real,
)
from twin.isac.design.fast_design import fast_design
from twin.isac.design.operators import FastOperators, crb_and_gradient
from twin.isac.design.problem import DesignProblem, DesignResult, evaluate_design, fallback_design

__all__ = [
    "fast_sensing_only",
    "fast_non_assisted",
    "fast_zfbf",
    "fast_comm_centric",
]

SOLVER = "alm-lbfgs"


# ---------------------------------------------------------------------------
# parametrisations: x (real vector) -> design, CRB and constraint rows with real gradients


class _NormParam:
    """Z = [V, L] (NK, M + r) with every satellite's rows at full power (fast_design's factor form).
    ``fim`` "L" (FIM of R = L L^H only: non-assisted / sensing only); ``rates`` adds the M log-form
    SINR rows (seed-math B.6 [R]) with targets gamma (M,)."""

    def __init__(self, ops: FastOperators, M: int, r: int, gamma):
        self.ops, self.M, self.r = ops, M, r
        self.shape = (ops.K, ops.N, M + r)
        self.gamma = gamma
        self.n_rows = M

    def z(self, x):
        Y = to_complex(x, self.shape)
        Z, nrm = factors(Y, self.ops.p_max)
        return Y, Z, nrm

    def _grad(self, Y, nrm, Gz):
        return 2.0 * to_real(chain(Y, nrm, Gz.reshape(self.shape), self.ops.p_max))

    def crb(self, x):
        Y, Z, nrm = self.z(x)
        f, gL = crb_and_gradient(self.ops, Z[:, self.M :])
        if not np.isfinite(f):
            return np.inf, None
        Gz = np.zeros_like(Z)
        Gz[:, self.M :] = gL
        return f, self._grad(Y, nrm, Gz)

    def rows(self, x):
        Y, Z, nrm = self.z(x)
        c, g, Cf = rate_log_slack(self.ops, Z, self.gamma)

        def vjp(w):
            return self._grad(Y, nrm, self.ops.Hn.T @ (w[:, None] * Cf * g))

        return c, vjp

    def design(self, x):
        _, Z, _ = self.z(x)
        return Z[:, : self.M], Z[:, self.M :]

    def power_ok(self, x) -> bool:
        return True


class _ZfParam:
    """x = [v (M), Re L, Im L], L (NK, r) sqrt(W): beams V = U diag(sqrt(p)), p_m = p_ref_m exp(v_m)
    (p_ref_m = gamma_m / |h_m^H u_m|^2, the noise-only power of the target, so the SINR rows are
    nearly linear in v), U the unit ZF directions. Rows: M log-form SINR rows and K power rows
    1 - (b_k + ||L_k||^2) / P_k >= 0, b_k = sum_m p_m ||u_{m,k}||^2 (38). :meth:`repair` maps an
    iterate onto the power set exactly (scale p down if some b_k > P_k, then each L_k down to fit)."""

    def __init__(self, ops: FastOperators, U, r: int, gamma, p_ref):
        self.ops, self.U, self.r, self.gamma, self.p_ref = ops, U, r, gamma, p_ref
        self.M = U.shape[1]
        self.NK = ops.K * ops.N
        self.shape = (self.NK, r)
        self.u2k = np.repeat(np.eye(ops.K), ops.N, axis=1) @ (np.abs(U) ** 2)  # (K, M)
        self.n_rows = self.M + ops.K

    def parts(self, x):
        M = self.M
        p = self.p_ref * np.exp(x[:M])
        L = to_complex(x[M:], self.shape)
        return p, L, np.concatenate([self.U * np.sqrt(p), L], axis=1)

    def _grad(self, p, Gz):
        """Real gradient wrt x from the Wirtinger gradient Gz (NK, M + r) wrt Z*."""
        M = self.M
        gv = np.real(np.sum(Gz[:, :M].conj() * self.U, axis=0)) * np.sqrt(
            p
        )  # dZ_m/dv_m = sqrt(p_m) u_m / 2
        return np.concatenate([gv, 2.0 * to_real(Gz[:, M:])])

    def crb(self, x):
        p, _, Z = self.parts(x)
        f, gZ = crb_and_gradient(self.ops, Z)
        if not np.isfinite(f):
            return np.inf, None
        return f, self._grad(p, gZ)

    def rows(self, x):
        p, L, Z = self.parts(x)
        M, K, N = self.M, self.ops.K, self.ops.N
        c, g, Cf = rate_log_slack(self.ops, Z, self.gamma)
        Lk = L.reshape(K, N, -1)
        cp = 1.0 - (self.u2k @ p + np.sum(np.abs(Lk) ** 2, axis=(1, 2))) / self.ops.p_max

        def vjp(w):
            gr = self._grad(p, self.ops.Hn.T @ (w[:M, None] * Cf * g))
            wp = w[M:] / self.ops.p_max
            gr[:M] -= p * (wp @ self.u2k)
            gr[M:] -= 2.0 * to_real((wp[:, None, None] * Lk).reshape(self.shape))
            return gr

        return np.concatenate([c, cp]), vjp

    def repair(self, x):
        """The nearest-by-scaling point of x meeting (38): p scaled by min(1, min_k P_k / b_k), then
        each L_k scaled by min(1, sqrt(P_k - b_k) / ||L_k||)."""
        M, K, N = self.M, self.ops.K, self.ops.N
        p, L, _ = self.parts(x)
        b = self.u2k @ p
        f = min(1.0, float(np.min(self.ops.p_max / np.maximum(b, 1e-300))))
        b = b * f
        Lk = L.reshape(K, N, -1)
        nL = np.sqrt(np.sum(np.abs(Lk) ** 2, axis=(1, 2)))
        room = np.maximum(self.ops.p_max - b, 0.0)
        sc = np.minimum(1.0, np.sqrt(room) / np.maximum(nL, 1e-300))
        Lk = Lk * sc[:, None, None]
        return np.concatenate([x[:M] + np.log(f), to_real(Lk.reshape(self.shape))])

    def design(self, x):
        _, L, Z = self.parts(self.repair(x))
        return Z[:, : self.M], L

    def power_ok(self, x) -> bool:
        return True  # design() repairs the point onto the power set


class _ZfFillParam:
    """ZFBF, exact-power form (tried first): x = [v (M), Re Y, Im Y], Y (K, N, r); p_m = p_ref_m e^{v_m},
    each satellite's sensing rows take the power its beams leave, L_k = sqrt(P_k - b_k) Y_k / ||Y_k||
    (b_k = sum_m p_m ||u_{m,k}||^2), so (38) holds with equality whenever b_k <= P_k. Rows: M SINR rows
    and K rows 1 - b_k / P_k >= 0. Ill-conditioned when a satellite's beams need its whole budget
    (the square root's slope blows up there): then :class:`_ZfParam` takes over (docs)."""

    def __init__(self, ops: FastOperators, U, r: int, gamma, p_ref):
        self.ops, self.U, self.r, self.gamma, self.p_ref = ops, U, r, gamma, p_ref
        self.M = U.shape[1]
        self.shape = (ops.K, ops.N, r)
        self.u2k = np.repeat(np.eye(ops.K), ops.N, axis=1) @ (np.abs(U) ** 2)  # (K, M)
        self.floor = 1e-9 * ops.p_max
        self.v_max = np.log(
            10.0 * float(np.max(ops.p_max)) / p_ref
        )  # p_m <= 10 max P_k (no overflow)
        self.n_rows = self.M + ops.K

    def parts(self, x):
        M = self.M
        v = np.minimum(x[:M], self.v_max)
        p = self.p_ref * np.exp(v)
        Y = to_complex(x[M:], self.shape)
        b = self.u2k @ p
        a2 = np.maximum(self.ops.p_max - b, self.floor)
        L, nrm = factors(Y, a2)
        return p, Y, nrm, b, a2, np.concatenate([self.U * np.sqrt(p), L], axis=1)

    def _grad(self, x, p, Y, nrm, b, a2, Gz):
        """Real gradient wrt x from the Wirtinger gradient Gz (NK, M + r) wrt Z*."""
        M = self.M
        gV, gL = Gz[:, :M], Gz[:, M:].reshape(self.shape)
        gv = np.real(np.sum(gV.conj() * self.U, axis=0)) * np.sqrt(
            p
        )  # dZ_m/dv_m = sqrt(p_m) u_m / 2
        Yh = Y / nrm[:, None, None]
        t = 2.0 * np.real(np.sum(gL.conj() * Yh, axis=(1, 2)))  # d f / d a_k
        free = (self.ops.p_max - b) > self.floor
        da2 = np.where(
            free, t / (2.0 * np.sqrt(a2)), 0.0
        )  # d f / d a_k^2, with d a_k^2 / d v_m = -p_m u2k
        gv = (gv - p * (da2 @ self.u2k)) * (x[:M] < self.v_max)
        return np.concatenate([gv, 2.0 * to_real(chain(Y, nrm, gL, a2))])

    def crb(self, x):
        p, Y, nrm, b, a2, Z = self.parts(x)
        f, gZ = crb_and_gradient(self.ops, Z)
        if not np.isfinite(f):
            return np.inf, None
        return f, self._grad(x, p, Y, nrm, b, a2, gZ)

    def rows(self, x):
        p, Y, nrm, b, a2, Z = self.parts(x)
        M = self.M
        c, g, Cf = rate_log_slack(self.ops, Z, self.gamma)

        def vjp(w):
            gr = self._grad(x, p, Y, nrm, b, a2, self.ops.Hn.T @ (w[:M, None] * Cf * g))
            gr[:M] -= p * ((w[M:] / self.ops.p_max) @ self.u2k) * (x[:M] < self.v_max)
            return gr

        return np.concatenate([c, 1.0 - b / self.ops.p_max]), vjp

    def repair(self, x):
        return x

    def design(self, x):
        Z = self.parts(x)[-1]
        return Z[:, : self.M], Z[:, self.M :]

    def power_ok(self, x) -> bool:
        b = self.parts(x)[3]
        return bool(np.all(b <= self.ops.p_max))

    def failing(self, x) -> bool:
        """True when some satellite's beams take > 95 % of its budget (the ill-conditioned corner)."""
        b = self.parts(x)[3]
        return bool(np.any(b > 0.95 * self.ops.p_max))


# ---------------------------------------------------------------------------
# the augmented-Lagrangian driver (same scheme as fast_design)


def _iso_scale(ops: FastOperators) -> float:
    """1 / tr CRB of the isotropic full-power design (the CRB unit of the inner problems)."""
    K, N = ops.K, ops.N
    Ziso = np.zeros((K * N, K * N), dtype=complex)
    Ziso[np.arange(K * N), np.arange(K * N)] = np.repeat(np.sqrt(ops.p_max / N), N)
    crb0, _ = crb_and_gradient(ops, Ziso)
    return 1.0 / crb0 if np.isfinite(crb0) and crb0 > 0 else 1.0


def _solve(
    par,
    x,
    certify,
    *,
    max_iter: int,
    inner_iter: int,
    check_every: int,
    rho0: float,
    rho_growth: float = 5.0,
    rho_max: float = 1e8,
    tol: float = 1e-6,
    scale: float = 1.0,
    abort=None,
):
    """Minimise scale * tr CRB(x) s.t. par.rows(x) >= 0 by :func:`twin.isac.design.alm.augmented_lagrangian`
    (as fast_design); ``certify(x)`` is called every ``check_every`` L-BFGS iterations and after each
    outer iteration, and ends the run when it returns True; ``abort(x)`` (optional), called after each
    outer iteration, ends it early (a parametrisation that is failing). Returns (x, lam, outer
    iterations, L-BFGS iterations, history of tr CRB (m^2))."""
    count = [0]

    def lagrangian(x, lam, rho):
        f, gf = par.crb(x)
        if not np.isfinite(f):
            return 1e30, np.zeros_like(x)
        val, g = scale * f, scale * gf
        if par.n_rows:
            c, vjp = par.rows(x)
            pen, act = phr_penalty(c, lam, rho)
            val, g = val + pen, g + vjp(-act)
        return val, g

    def measure(x):
        return par.crb(x)[0], (par.rows(x)[0] if par.n_rows else np.zeros(0))

    def scheduled(x):
        count[0] += 1
        return bool(count[0] % int(check_every) == 0 and certify(x))

    def outer_stop(x, f, viol, history):
        if certify(x) or (abort is not None and abort(x)):
            return True
        return len(history) > 1 and abs(history[-2] - f) <= tol * f and viol <= tol

    run = augmented_lagrangian(
        lagrangian,
        measure,
        x,
        np.zeros(par.n_rows),
        rho=float(rho0),
        max_outer=max_iter,
        inner_iter=inner_iter,
        rho_growth=rho_growth,
        rho_max=rho_max,
        inner_stop=scheduled,
        outer_stop=outer_stop,
    )
    return run.x, run.lam, run.outer, run.lbfgs_iterations, run.history


class _Certifier:
    """certify(x): True when x meets the true rate targets and power limits and its dual certificate
    (``scheme``) proves RCRB <= (1 + gap_tol) sqrt(bound); keeps the last certificate."""

    def __init__(self, ops, par, pb: DesignProblem, scheme: str, gap_tol: float, directions=None):
        self.ops, self.par, self.pb, self.scheme, self.gap_tol = ops, par, pb, scheme, gap_tol
        self.directions = directions
        self.cert = None
        self.checks = 0
        self.last_opt = -100
        self.gamma_true = 2.0**pb.eta - 1.0

    def feasible(self, x) -> bool:
        if not self.par.power_ok(x):
            return False
        if self.scheme == "sensing_only":
            return True
        V, L = self.par.design(x)
        c, _, _ = rate_log_slack(self.ops, np.concatenate([V, L], axis=1), self.gamma_true)
        return bool(np.min(c) >= 0)

    def certificate(self, x, optimise: bool = False, lam0=None, mu0=None):
        V, L = self.par.design(x)
        pb = self.pb
        args = (self.ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, V, L)
        kw = dict(scheme=self.scheme, directions=self.directions)
        if optimise:
            return optimise_scheme_multipliers(*args, lam0=lam0, mu0=mu0, **kw)
        return scheme_dual_bound(*args, **kw)

    def __call__(self, x) -> bool:
        if self.gap_tol <= 0 or not self.feasible(x):
            return False
        self.checks += 1
        cert = self.certificate(x)
        if self.gap_tol < cert.gap <= 5.0 * self.gap_tol and self.checks - self.last_opt >= 10:
            self.last_opt = self.checks
            cert = self.certificate(x, optimise=True, lam0=cert.lam, mu0=cert.mu)
        self.cert = cert
        return cert.gap <= self.gap_tol


def _finish(pb, res: DesignResult, cert, **extra) -> DesignResult:
    res.extra.update(
        certificate=cert,
        dual_bound_m=cert.bound_m,
        dual_gap=(res.rcrb_m / cert.bound_m - 1.0) if cert.bound_m > 0 else float("inf"),
        **extra,
    )
    return res


def _check(gap_tol, rate_margin):
    if not 0 <= gap_tol < 1:
        raise ValueError(f"gap_tol must be in [0, 1), got {gap_tol}")
    if not 0 <= rate_margin < 1:
        raise ValueError(f"rate_margin must be in [0, 1), got {rate_margin}")


# ---------------------------------------------------------------------------
# the baselines


def fast_sensing_only(
    problem: DesignProblem,
    *,
    ops: FastOperators | None = None,
    gap_tol: float = 2e-3,
    max_iter: int = 5,
    inner_iter: int = 2000,
    check_every: int = 50,
    seed: int = 0,
) -> DesignResult:
    """Location sensing only (seed-math B.7: (33) without the rate constraint (33c)): min tr CRB(R)
    (eq. (20)) over R = L L^H, L (NK, 3K) sqrt(W), s.t. (38), with every satellite at full power by
    construction (tr CRB is non-increasing in R). L-BFGS, stopped when the certificate
    (scheme "sensing_only": C_R = G + D_mu) proves RCRB <= (1 + gap_tol) x the optimum.
    W = 0 (rates 0, as :func:`twin.isac.design.baselines.sensing_only`). Scheme "sensing_only"."""
    _check(gap_tol, 0.0)
    t0 = time.perf_counter()
    pb = problem
    ops = ops if ops is not None else FastOperators(pb)
    r = 3 * pb.K
    par = _NormParam(ops, 0, r, np.zeros(0))
    par.n_rows = 0
    Y0 = initial_point(ops, r, np.random.default_rng(seed))[:, :, pb.M :]
    cer = _Certifier(ops, par, pb, "sensing_only", gap_tol)
    x, _, outer, n_lbfgs, hist = _solve(
        par,
        to_real(Y0),
        cer,
        max_iter=max_iter,
        inner_iter=inner_iter,
        check_every=check_every,
        rho0=1.0,
        scale=_iso_scale(ops),
    )
    _, L = par.design(x)
    secs = time.perf_counter() - t0
    res = evaluate_design(
        pb,
        np.zeros((pb.NK, pb.M), dtype=complex),
        L @ L.conj().T,
        scheme="sensing_only",
        solver=SOLVER,
        iterations=outer,
        objective_history=hist,
        rcrb_history_m=[float(np.sqrt(h)) for h in hist],
        solve_time_s=secs,
    )
    cert = (
        cer.cert
        if (cer.cert is not None and cer.cert.gap <= gap_tol)
        else cer.certificate(x, optimise=True)
    )
    return _finish(
        pb,
        res,
        cert,
        factors=to_complex(x, par.shape),
        lbfgs_iterations=n_lbfgs,
        certificate_checks=cer.checks,
    )


def _with_restarts(once, *, restarts: int, seed: int, rho0: float, gap_tol: float) -> DesignResult:
    """Run ``once(seed=, rho0=)``; while the result is not certified within ``gap_tol`` (the factor form
    is not convex: the augmented Lagrangian can stall at a non-optimal stationary point, which the
    certificate exposes), retry up to ``restarts`` times with seed + j and rho0 x 10^j. Returns the
    first certified result, else the feasible one with the smallest RCRB (else the last);
    extra["attempts"] = number of runs."""
    best = None
    for j in range(int(restarts) + 1):
        res = once(seed=seed + j, rho0=rho0 * 10.0**j)
        res.extra["attempts"] = j + 1
        if res.ok and res.extra.get("dual_gap", np.inf) <= gap_tol:
            return res
        if best is None or (res.ok and (not best.ok or res.rcrb_m < best.rcrb_m)):
            best = res
    best.extra["attempts"] = int(restarts) + 1
    return best


def fast_non_assisted(
    problem: DesignProblem,
    *,
    ops: FastOperators | None = None,
    gap_tol: float = 2e-3,
    rate_margin: float = 1e-3,
    max_iter: int = 20,
    inner_iter: int = 1000,
    check_every: int = 50,
    rho0: float = 0.01,
    seed: int = 0,
    restarts: int = 2,
) -> DesignResult:
    """Non-assisted sensing (seed-math B.7, as :func:`twin.isac.design.baselines.non_assisted`): min tr CRB(R)
    with the FIM of R = L L^H alone (L (NK, 3K)); the beams V (NK, M) use power and interfere. Power
    (38) by construction (full power per satellite), the SINR rows (39) in the augmented Lagrangian
    (log form, targets raised by ``rate_margin``). Certificate scheme "non_assisted" (the beam blocks
    get no CRB gradient). Result: scheme "non_assisted", sensing_from "R"; fallback when a rate target
    is missed. Not certified within ``gap_tol``: up to ``restarts`` reruns (:func:`_with_restarts`)."""
    _check(gap_tol, rate_margin)
    ops = ops if ops is not None else FastOperators(problem)

    def once(seed, rho0):
        return _non_assisted_once(
            problem,
            ops=ops,
            gap_tol=gap_tol,
            rate_margin=rate_margin,
            max_iter=max_iter,
            inner_iter=inner_iter,
            check_every=check_every,
            rho0=rho0,
            seed=seed,
        )

    return _with_restarts(once, restarts=restarts, seed=seed, rho0=rho0, gap_tol=gap_tol)


def _non_assisted_once(
    problem, *, ops, gap_tol, rate_margin, max_iter, inner_iter, check_every, rho0, seed
):
    t0 = time.perf_counter()
    pb = problem
    M, r = pb.M, 3 * pb.K
    gamma = (2.0**pb.eta - 1.0) * (1.0 + rate_margin)
    par = _NormParam(ops, M, r, gamma)
    Y0 = initial_point(ops, r, np.random.default_rng(seed))
    cer = _Certifier(ops, par, pb, "non_assisted", gap_tol)
    x, lam, outer, n_lbfgs, hist = _solve(
        par,
        to_real(Y0),
        cer,
        max_iter=max_iter,
        inner_iter=inner_iter,
        check_every=check_every,
        rho0=rho0,
        scale=_iso_scale(ops),
    )
    V, L = par.design(x)
    secs = time.perf_counter() - t0
    res = evaluate_design(
        pb,
        V,
        L @ L.conj().T,
        scheme="non_assisted",
        sensing_from="R",
        solver=SOLVER,
        iterations=outer,
        objective_history=hist,
        rcrb_history_m=[float(np.sqrt(h)) for h in hist],
        solve_time_s=secs,
    )
    cert = (
        cer.cert
        if (cer.cert is not None and cer.cert.gap <= gap_tol)
        else cer.certificate(x, optimise=True)
    )
    res = _finish(
        pb,
        res,
        cert,
        factors=to_complex(x, par.shape),
        multipliers=lam,
        lbfgs_iterations=n_lbfgs,
        certificate_checks=cer.checks,
    )
    return _unmet(pb, res, "non_assisted", secs, outer, sensing_from="R")


def fast_zfbf(
    problem: DesignProblem,
    *,
    ops: FastOperators | None = None,
    gap_tol: float = 2e-3,
    rate_margin: float = 1e-3,
    max_iter: int = 20,
    inner_iter: int = 1000,
    check_every: int = 50,
    rho0: float = 0.01,
    seed: int = 0,
    restarts: int = 2,
) -> DesignResult:
    """ZFBF baseline (seed-math B.7, as :func:`twin.isac.design.baselines.zfbf`): beams w~_m = sqrt(p_m) u_m
    with the unit ZF directions u_m of :func:`twin.isac.design.baselines.zf_directions`; p (M,) >= 0 and
    R = L L^H (L (NK, 3K)) minimise tr CRB (20) of R_x = sum p_m u_m u_m^H + R s.t. (38), (39).
    Each satellite's sensing rows take the power its beams leave (so (38) holds with equality); the
    SINR rows and b_k <= P_k are augmented-Lagrangian rows. Certificate scheme "zfbf" (scalar blocks
    c_m = u_m^H C_m u_m). Scheme "zfbf"; fallback when a rate target is missed or M > NK.
    First tries the exact-power form (:class:`_ZfFillParam`: each satellite's sensing block takes
    the power its beams leave; fast, but ill-conditioned when a satellite's beams need its whole
    budget); if that is not certified within ``gap_tol``, the power-rows form (:class:`_ZfParam`) with
    up to ``restarts`` reruns (:func:`_with_restarts`). extra["parametrisation"], extra["attempts"]."""
    _check(gap_tol, rate_margin)
    try:
        U = zf_directions(problem.H)
    except ValueError as exc:
        return fallback_design(
            problem, scheme="zfbf", cause="infeasible", solver=SOLVER, message=str(exc)
        )
    ops = ops if ops is not None else FastOperators(problem)

    def once(seed, rho0):
        return _zfbf_once(
            problem,
            U,
            ops=ops,
            gap_tol=gap_tol,
            rate_margin=rate_margin,
            max_iter=max_iter,
            inner_iter=inner_iter,
            check_every=check_every,
            rho0=rho0,
            seed=seed,
            exact_fill=False,
        )

    first = _zfbf_once(
        problem,
        U,
        ops=ops,
        gap_tol=gap_tol,
        rate_margin=rate_margin,
        max_iter=max_iter,
        inner_iter=inner_iter,
        check_every=check_every,
        rho0=rho0,
        seed=seed,
        exact_fill=True,
    )
    first.extra["parametrisation"] = "exact_fill"
    if first.ok and first.extra.get("dual_gap", np.inf) <= gap_tol:
        first.extra["attempts"] = 1
        return first
    res = _with_restarts(once, restarts=restarts, seed=seed, rho0=rho0, gap_tol=gap_tol)
    res.extra["parametrisation"] = "power_rows"
    res.extra["attempts"] += 1
    if (
        not (res.ok and res.extra.get("dual_gap", np.inf) <= gap_tol)
        and first.ok
        and (not res.ok or first.rcrb_m < res.rcrb_m)
    ):
        return first
    return res


def _zfbf_once(
    problem,
    U,
    *,
    ops,
    gap_tol,
    rate_margin,
    max_iter,
    inner_iter,
    check_every,
    rho0,
    seed,
    exact_fill,
):
    t0 = time.perf_counter()
    pb = problem
    M, r = pb.M, 3 * pb.K
    gamma = (2.0**pb.eta - 1.0) * (1.0 + rate_margin)
    gain = np.abs(np.sum(ops.Hn.conj().T * U, axis=0)) ** 2  # |h_m^H u_m|^2 (unit noise)
    p_ref = gamma / np.maximum(gain, 1e-300)
    par = _ZfFillParam(ops, U, r, gamma, p_ref) if exact_fill else _ZfParam(ops, U, r, gamma, p_ref)
    # start: each beam at 3x its noise-only power target (capped at half of every satellite's budget),
    # the sensing streams of fast_design's start on the rest
    p0 = 3.0 * p_ref
    b0 = par.u2k @ p0
    p0 = p0 / max(float(np.max(b0 / (0.5 * ops.p_max))), 1.0)
    b0 = par.u2k @ p0
    Y0 = initial_point(ops, r, np.random.default_rng(seed))[:, :, M:]
    if exact_fill:
        x0 = np.concatenate([np.log(p0 / p_ref), to_real(Y0)])
    else:
        L0, _ = factors(Y0, ops.p_max - b0)
        x0 = np.concatenate([np.log(p0 / p_ref), to_real(L0)])
    cer = _Certifier(ops, par, pb, "zfbf", gap_tol, directions=U)
    x, lam, outer, n_lbfgs, hist = _solve(
        par,
        x0,
        cer,
        max_iter=max_iter,
        inner_iter=inner_iter,
        check_every=check_every,
        rho0=rho0,
        scale=_iso_scale(ops),
        abort=par.failing if exact_fill else None,
    )
    x = par.repair(x)
    V, L = par.design(x)
    secs = time.perf_counter() - t0
    res = evaluate_design(
        pb,
        V,
        L @ L.conj().T,
        scheme="zfbf",
        solver=SOLVER,
        iterations=outer,
        objective_history=hist,
        rcrb_history_m=[float(np.sqrt(h)) for h in hist],
        solve_time_s=secs,
    )
    cert = (
        cer.cert
        if (cer.cert is not None and cer.cert.gap <= gap_tol)
        else cer.certificate(x, optimise=True)
    )
    res = _finish(
        pb,
        res,
        cert,
        powers_w=np.sum(np.abs(V) ** 2, axis=0),
        multipliers=lam,
        lbfgs_iterations=n_lbfgs,
        certificate_checks=cer.checks,
    )
    return _unmet(pb, res, "zfbf", secs, outer)


def _unmet(pb, res: DesignResult, scheme: str, secs: float, outer: int, **fields) -> DesignResult:
    """The fallback (cause "infeasible", the unmet design in extra["unmet_design"]) if ``res`` misses a
    rate target or power limit, else ``res``."""
    if res.meets(pb):
        return res
    fb = fallback_design(
        pb,
        scheme=scheme,
        cause="infeasible",
        solver=SOLVER,
        solve_time_s=secs,
        iterations=outer,
        message=f"rate targets not met (worst rate {float(np.min(res.rates - pb.eta)):+.3g} "
        f"bit/s/Hz from target)",
        **fields,
    )
    fb.extra.update(res.extra)
    fb.extra["unmet_design"] = res
    return fb


# ---------------------------------------------------------------------------
# communication-centric (48)-(50)


def fast_comm_centric(
    problem: DesignProblem,
    *,
    crb_budget_m2: float | None = None,
    sensing_only_rcrb_m: float | None = None,
    tol_bps_hz: float = 0.02,
    max_steps: int = 30,
    gap_tol: float = 2e-3,
    retry_gap_tol: float = 1e-4,
    ops: FastOperators | None = None,
    **design_kw,
) -> DesignResult:
    """Seed 000 communication-centric design (48)-(50): max min_i R_i s.t. power (48b) and
    tr CRB <= eta~ (48c), by bisection on the common rate r (seed-math B.6 [D]) with
    :func:`twin.isac.design.fast_design.fast_design` at eta_i = r:

    * r is FEASIBLE when the fast design meets every target and its tr CRB <= eta~ (a design exists);
    * r is PROVEN INFEASIBLE when the design's certificate bound (a lower bound on the SDR optimum
      tr CRB*(r), which is non-decreasing in r) exceeds eta~: no design has common rate >= r;
    * otherwise UNDECIDED: retried with ``gap_tol = retry_gap_tol``; if still undecided, recorded in
      extra["undecided_rates"] and treated as infeasible by the search (the proven bracket keeps it).

    Default budget eta~ = (2 RCRB_sensing-only)^2 with :func:`fast_sensing_only` (or
    ``sensing_only_rcrb_m``). r = 0 is decided with the sensing-only design and its certificate.
    The search starts from [0, log2(1 + min_i SNR_i^max)] (UE i alone with every satellite's full
    power coherently on it: an upper bound on every achievable rate) and stops when narrower than
    ``tol_bps_hz``. Result (scheme "comm_centric"): the last feasible design re-evaluated;
    extra: max_min_rate_bps_hz (achieved, recomputed), bisection_rate_bps_hz, crb_budget_m2,
    rate_bracket (achieved lower end, PROVEN upper end), search_bracket, undecided_rates, steps,
    dual_bound_m / dual_gap (certificate of the returned design at its bisection rate).
    Fallback (cause "infeasible") when the budget is below the sensing-only optimum (proven), or
    undecided at r = 0."""
    if not 0 < tol_bps_hz:
        raise ValueError(f"tol_bps_hz must be > 0, got {tol_bps_hz}")
    t0 = time.perf_counter()
    pb = problem
    scheme = "comm_centric"
    ops = ops if ops is not None else FastOperators(pb)
    so = fast_sensing_only(pb, ops=ops, gap_tol=min(gap_tol, retry_gap_tol))
    if crb_budget_m2 is None:
        crb_budget_m2 = (
            2.0 * (so.rcrb_m if sensing_only_rcrb_m is None else sensing_only_rcrb_m)
        ) ** 2
    if not crb_budget_m2 > 0:
        raise ValueError(f"crb_budget_m2 must be > 0 m^2, got {crb_budget_m2}")
    budget = float(crb_budget_m2)
    if so.rcrb_m**2 > budget:
        proven = so.extra["dual_bound_m"] ** 2 > budget
        msg = (
            f"CRB budget {budget:.4g} m^2 below the sensing-only optimum (>= {so.extra['dual_bound_m'] ** 2:.4g} m^2)"
            if proven
            else f"undecided at r = 0: sensing-only CRB {so.rcrb_m**2:.4g} m^2 > budget {budget:.4g} m^2 "
            f">= its lower bound {so.extra['dual_bound_m'] ** 2:.4g} m^2"
        )
        fb = fallback_design(
            pb,
            scheme=scheme,
            cause="infeasible",
            solver=SOLVER,
            message=msg,
            solve_time_s=time.perf_counter() - t0,
            iterations=1,
        )
        fb.extra.update(crb_budget_m2=budget, proven=proven)
        return fb
    per_sat = np.linalg.norm(pb.H.reshape(pb.M, pb.K, pb.N), axis=2)  # (M, K)
    snr_max = (per_sat @ np.sqrt(pb.p_max_w)) ** 2 / pb.comm_noise
    lo, hi = 0.0, float(np.log2(1.0 + np.min(snr_max)))
    hi_proven = hi
    best, best_r = None, 0.0
    undecided, steps = [], 1
    while hi - lo > tol_bps_hz and steps < max_steps:
        mid = 0.5 * (lo + hi)
        verdict, d = None, None
        for gt in (gap_tol, retry_gap_tol):
            d = fast_design(pb.with_(eta=mid), ops=ops, gap_tol=gt, **design_kw)
            steps += 1
            if d.ok and d.rcrb_m**2 <= budget:
                verdict = "feasible"
            elif d.extra.get("dual_bound_m", 0.0) ** 2 > budget:
                verdict = "infeasible"
            if verdict is not None or not d.ok:
                break  # a missed rate target is not helped by a tighter gap
        if verdict == "feasible":
            lo, best, best_r = mid, d, mid
        else:
            hi = mid
            if verdict == "infeasible":
                hi_proven = min(hi_proven, mid)
            else:
                undecided.append(mid)
    secs = time.perf_counter() - t0
    if best is None:  # only r = 0 is known feasible: the sensing-only design (no beams)
        out = evaluate_design(
            pb, so.W, so.R, scheme=scheme, solver=SOLVER, iterations=steps, solve_time_s=secs
        )
        cert = so.extra["certificate"]
    else:
        out = evaluate_design(
            pb,
            best.W,
            best.R,
            scheme=scheme,
            solver=SOLVER,
            iterations=steps,
            objective_history=[best.rcrb_m**2],
            rcrb_history_m=[best.rcrb_m],
            solve_time_s=secs,
        )
        cert = best.extra["certificate"]
    return _finish(
        pb,
        out,
        cert,
        max_min_rate_bps_hz=float(np.min(out.rates)),
        bisection_rate_bps_hz=best_r,
        crb_budget_m2=budget,
        rate_bracket=(best_r, hi_proven),
        search_bracket=(lo, hi),
        undecided_rates=undecided,
        steps=steps,
        sensing_only_rcrb_m=so.rcrb_m,
        sensing_only_dual_bound_m=so.extra["dual_bound_m"],
    )
