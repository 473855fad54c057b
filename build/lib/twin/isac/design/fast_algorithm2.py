"""Seed 000 Algorithm 2 (eqs. (42)-(47), seed-math B.6) without cvxpy: the same penalty iteration
as :func:`twin.isac.design.algorithm2.algorithm2`, each convex subproblem solved in factor form and certified
by weak duality (docs/isac-algorithm2.md).

* :func:`fast_start` - Algorithm 2 line 1, the problem of :func:`twin.isac.design.algorithm2.power_min_start`
  (maximise the isotropic sensing power sum_k t_k, R^(0) = blockdiag(t_k I_N), s.t. (38) and the
  linear rate constraints (39) with R^(0) interfering), solved in factor form, with a weak-duality
  UPPER bound on its optimum.
* :func:`solve_46` - one subproblem (46): min tr CRB(R_x) / unit + rho sum_X (tr X - v_X^H X v_X)
  s.t. (38), linear (39), X >= 0, in the normalised units of ``design.algorithm2``, with a
  weak-duality LOWER bound on its optimum.
* :func:`algorithm2_fast` - the iteration (same start, subproblems, rho update, stop rule and
  (47) output as ``design.algorithm2``).
* seed 000 Fig. 4 with this engine: ``twin.paper.isac.design_figures.fig4(engine="fast")``
  (``twin paper isac fig4``).

Method for every convex subproblem (a semidefinite program in the matrices X_b, b = beams 1..M
and the sensing covariance):

* Burer-Monteiro factors X_b = Z_b Z_b^H, Z_b (NK, r_b) (``beam_cols``, ``sensing_cols``). The
  objective depends on R_x only through the 4 x 4 FIM (10 numbers), and the rate (M), power (K)
  and penalty terms are linear in the X_b, so an optimum with sum_b rank(X_b)^2 <= 10 + M + K
  exists; the certificate below proves (or refutes) that the factor optimum reached is the
  convex optimum, whatever the number of columns.
* Augmented Lagrangian (Powell-Hestenes-Rockafellar) for the inequality rows: rates in the
  dimensionless log form ln useful_i - ln(gamma_i (interference_i + 1)) >= 0 (the same feasible
  set as the linear (39)) and powers 1 - p_k / P_k >= 0; each inner problem by the L-BFGS of
  :mod:`twin.isac.design.fast_design`, with the analytic CRB gradient ``crb_and_gradient``.
* Certificate: f = tr CRB is convex in R_x, so f(X) >= f(X0) + <G, X - X0> (G its gradient at
  the iterate X0); the penalty adds rho (I - v_b v_b^H) to each block's dual matrix; with
  multipliers (lambda, mu) >= 0 fitted to stationarity (non-negative least squares),
  LB = f0 - <G, X0> + sum lambda_i gamma_i - sum mu_k P_k + P_tot min(0, min_b lambda_min(C_b))
  is <= the (46) optimum (derivation in docs/isac-algorithm2.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import lsq_linear

from twin.isac.design.algorithm2 import algorithm2_result, penalty_step
from twin.isac.design.alm import augmented_lagrangian, phr_penalty
from twin.isac.design.operators import FastOperators, crb_and_gradient, crb_sigma
from twin.isac.design.problem import (
    DesignProblem,
    DesignResult,
    crb_rx,
    default_crb_unit_m2,
    fallback_design,
    sinr_targets,
)
from twin.isac.design.rank_one import extract_47

__all__ = [
    "SubproblemResult",
    "StartResult",
    "fast_start",
    "solve_46",
    "algorithm2_fast",
    "penalty_lower_bound",
]


# ---------------------------------------------------------------------------
# normalised problem data (the units of design.algorithm2: powers / s, s = max P^max, UE noise 1)


class _Norm:
    """Normalised data of one problem: s (W); Gc (M, NK) channels h~_i sqrt(s / sigma_i^2); pk (K,)
    P_k^max / s; unit (m^2) of the CRB term; ops :class:`FastOperators`; K, N, M, NK."""

    def __init__(
        self, problem: DesignProblem, crb_unit_m2: float | None, ops: FastOperators | None = None
    ):
        pb = problem
        self.pb = pb
        self.s = float(np.max(pb.p_max_w))
        self.Gc = pb.H * np.sqrt(self.s / pb.comm_noise)[:, None]
        self.pk = pb.p_max_w / self.s
        self.K, self.N, self.M, self.NK = pb.K, pb.N, pb.M, pb.NK
        self.ops = ops if ops is not None else FastOperators(pb)
        self.unit = default_crb_unit_m2(pb) if crb_unit_m2 is None else float(crb_unit_m2)
        if not self.unit > 0 or not np.isfinite(self.unit):
            raise ValueError(f"crb_unit_m2 must be a finite value > 0 m^2, got {crb_unit_m2}")
        self.sel = np.repeat(np.eye(self.K), self.N, axis=1)  # (K, NK)
        self.ch_blk = np.sum(
            np.abs(self.Gc.reshape(self.M, self.K, self.N)) ** 2, axis=2
        )  # (M, K) ||g_ik||^2


def _to_real(Z):
    return np.concatenate([Z.real.ravel(), Z.imag.ravel()])


def _to_complex(x, shape):
    n = int(np.prod(shape))
    return (x[:n] + 1j * x[n : 2 * n]).reshape(shape)


def _block_power(nd: _Norm, Z) -> np.ndarray:
    """(K,) per-satellite power sum of |Z|^2 over satellite k's rows (normalised)."""
    return np.sum(np.abs(Z.reshape(nd.K, nd.N, -1)) ** 2, axis=(1, 2))


def _rates_log(nd: _Norm, Z, owner, gamma, iso_t=None):
    """Log-form rate rows c_i = ln useful_i - ln(gamma_i (I_i + 1)) (M,) (seed-math B.6 [R], (39)
    divided by the interference-plus-noise level), useful_i = sum over UE i's beam columns of
    |g_i^H z|^2, I_i = the other columns (+ sum_k t_k ||g_ik||^2 for an isotropic sensing part).
    Returns (c, g = Gc^* Z (M, cols), kappa (M, cols) with dc_i/dZ* = g_i kappa_ic g_ic, useful, I)."""
    M = nd.M
    g = nd.Gc.conj() @ Z
    a2 = np.abs(g) ** 2
    mine = owner[None, :] == np.arange(M)[:, None]  # (M, cols)
    useful = np.maximum(np.sum(a2 * mine, axis=1), 1e-300)
    interf = np.sum(a2 * ~mine, axis=1) + 1.0
    if iso_t is not None:
        interf = interf + nd.ch_blk @ iso_t
    c = np.log(useful) - np.log(gamma * interf)
    kappa = np.where(mine, 1.0 / useful[:, None], -1.0 / interf[:, None])
    return c, g, kappa, useful, interf


# ---------------------------------------------------------------------------
# the augmented Lagrangian driver


def _alm(
    fun_obj,
    fun_cons,
    x0,
    lam0,
    *,
    rho_a: float,
    outer: int,
    inner: int,
    feas_tol: float,
    rel_tol: float,
    growth: float = 5.0,
    rho_max: float = 1e8,
    check=None,
):
    """Minimise fun_obj(x) -> (f, grad) s.t. c(x) >= 0, fun_cons(x) -> (c (m,), vjp) with
    vjp(w) = sum_j w_j grad c_j, by :func:`twin.isac.design.alm.augmented_lagrangian` (L-BFGS ftol 1e-13).
    Stops when max violation <= feas_tol and the objective changed by < rel_tol (relative) over an
    outer step, or when ``check(x)`` returns True (called after each feasible outer step).
    Returns (x, lam, max_violation, outer steps, L-BFGS iterations)."""

    def lagrangian(x, lam, rho):
        f, gf = fun_obj(x)
        c, vjp = fun_cons(x)
        pen, act = phr_penalty(c, lam, rho)
        return f + pen, gf - vjp(act)

    def measure(x):
        return fun_obj(x)[0], fun_cons(x)[0]

    def outer_stop(x, f, viol, history):
        f_prev = history[-2] if len(history) > 1 else None
        done = (
            viol <= feas_tol
            and f_prev is not None
            and abs(f - f_prev) <= rel_tol * max(abs(f), 1e-300)
        )
        return (check is not None and viol <= feas_tol and check(x)) or done

    run = augmented_lagrangian(
        lagrangian,
        measure,
        x0,
        lam0,
        rho=float(rho_a),
        max_outer=outer,
        inner_iter=inner,
        rho_growth=growth,
        rho_max=rho_max,
        ftol=1e-13,
        outer_stop=outer_stop,
    )
    return run.x, run.lam, run.violation, run.outer, run.lbfgs_iterations


def _nnls_multipliers(nd: _Norm, Z, owner, gamma, base_grad, iso=None):
    """Non-negative least-squares (lambda (M,), mu (K,)) of the stationarity conditions of the
    linear-(39)/(38) Lagrangian at the factors Z (NK, cols): for every column z of block b,
    base_grad[:, col] + sum_k mu_k Lambda_k z + sum_i lambda_i c_ib g_i g_i^H z = 0 with c_ib = -1
    (b = i, useful) or gamma_i (interference). ``iso`` = (t (K,), d_t (K,)): for an isotropic
    sensing part with objective derivative d_t, the rows d_t[k] + mu_k N + sum_i lambda_i gamma_i
    ||g_ik||^2 = 0 for every k with t_k > 0 are added. Returns (lambda, mu) >= 0."""
    M, K = nd.M, nd.K
    g = nd.Gc.conj() @ Z  # (M, cols)
    mine = owner[None, :] == np.arange(M)[:, None]
    coef = np.where(mine, -1.0, gamma[:, None])
    Tl = nd.Gc[:, :, None] * (coef * g)[:, None, :]  # (M, NK, cols); Gc rows are g_i (not conj)
    Tm = np.zeros((K,) + Z.shape, dtype=complex)
    Zk = Z.reshape(K, nd.N, -1)
    for k in range(K):
        Tm[k, k * nd.N : (k + 1) * nd.N] = Zk[k]
    A = np.concatenate([Tl, Tm], axis=0).reshape(M + K, -1).T
    b = -np.asarray(base_grad).ravel()
    Ar = np.concatenate([A.real, A.imag], axis=0)
    br = np.concatenate([b.real, b.imag])
    if iso is not None:
        t, d_t = iso
        on = t > 1e-9 * max(float(np.max(t)), 1e-300)
        rows = np.concatenate([(gamma[:, None] * nd.ch_blk).T, nd.N * np.eye(K)], axis=1)[on]
        Ar = np.concatenate([Ar, rows], axis=0)
        br = np.concatenate([br, -np.asarray(d_t)[on]])
    nrm = np.linalg.norm(Ar, axis=0)
    nrm = np.where(nrm > 0, nrm, 1.0)
    sol = lsq_linear(Ar / nrm, br, bounds=(0.0, np.inf), method="bvls", lsmr_tol="auto")
    x = sol.x / nrm
    return x[:M], x[M:]


# ---------------------------------------------------------------------------
# the start (Algorithm 2 line 1)


@dataclass
class StartResult:
    """Algorithm 2 line 1 solved by :func:`fast_start`. Ws (M, NK, NK) beam covariances (W);
    R0 (NK, NK) = blockdiag(t_k I_N) (W); t (K,) normalised isotropic sensing power per element;
    value sum_k t_k (normalised by s = max P^max, the objective of power_min_start);
    upper_bound a weak-duality upper bound on the optimum value; gap = upper_bound / value - 1;
    max_violation of the normalised rows (log-rate and 1 - p_k/P_k); factors (NK, cols) sqrt(W);
    status "optimal" or "infeasible"; seconds wall, cpu_s process CPU."""

    Ws: np.ndarray | None
    R0: np.ndarray | None
    t: np.ndarray
    value: float
    upper_bound: float
    max_violation: float
    factors: np.ndarray
    status: str
    seconds: float
    cpu_s: float
    lbfgs_iterations: int = 0

    @property
    def gap(self) -> float:
        return float(self.upper_bound / self.value - 1.0) if self.value > 0 else float("inf")


def _start_upper_bound(nd: _Norm, Zb, owner, t, gamma, lam, mu) -> float:
    """Weak-duality upper bound on max sum_k t_k s.t. (38), linear (39) with R = blockdiag(t_k I_N)
    (normalised): for lambda, mu >= 0, sum_k t_k <= sum mu_k pk_k - sum lambda_i gamma_i
    + sum_k max(0, 1 - N mu_k - sum_i lambda_i gamma_i ||g_ik||^2) pk_k / N
    + P_tot max(0, max_m lambda_max(B_m)), B_m = (1 + gamma_m) lambda_m H_m - sum_i lambda_i gamma_i H_i
    - D_mu (H_i = g_i g_i^H). Valid for any multipliers (docs/isac-algorithm2.md)."""
    Gc = nd.Gc
    Hh = np.einsum("in,im->inm", Gc, Gc.conj())
    common = np.einsum("i,inm->nm", lam * gamma, Hh) + np.diag(nd.sel.T @ mu)
    B = ((1.0 + gamma) * lam)[:, None, None] * Hh - common[None]
    emax = float(np.max(np.linalg.eigvalsh(B)[:, -1]))
    coef_t = 1.0 - nd.N * mu - (lam * gamma) @ nd.ch_blk
    return float(
        mu @ nd.pk
        - np.sum(lam * gamma)
        + np.sum(np.maximum(coef_t, 0.0) * nd.pk / nd.N)
        + np.sum(nd.pk) * max(0.0, emax)
    )


def fast_start(
    problem: DesignProblem,
    *,
    rate_margin: float = 0.0,
    beam_cols: int = 2,
    nd: _Norm | None = None,
    outer: int = 40,
    inner: int = 400,
    feas_tol: float = 1e-7,
    seed: int = 0,
) -> StartResult:
    """Algorithm 2 line 1 (seed-math B.6 [D]), the problem of ``algorithm2.power_min_start``:
    maximise sum_k t_k over beams W_m >= 0 and t >= 0 s.t. per-satellite power (38)
    sum_m tr(Lambda_k W_m) + N t_k <= P_k and the linear rate rows (39) with R^(0) = blockdiag(t_k I_N)
    interfering, SINR targets (2^eta - 1)(1 + rate_margin). Factor form W_m = V_m V_m^H
    (``beam_cols`` columns), t_k = tau_k^2, augmented Lagrangian + L-BFGS; certified by the
    weak-duality upper bound of :func:`_start_upper_bound`. Returns a :class:`StartResult`."""
    t0, c0 = time.perf_counter(), time.process_time()
    nd = nd if nd is not None else _Norm(problem, 1.0)
    K, N, M, NK = nd.K, nd.N, nd.M, nd.NK
    gamma = sinr_targets(problem.eta, rate_margin)
    r = int(beam_cols)
    owner = np.repeat(np.arange(M), r)
    cols = M * r
    rng = np.random.default_rng(seed)
    # initial point: matched-filter beams on 20 % of each satellite's budget, tau on the rest
    V = np.zeros((NK, cols), dtype=complex)
    Gb = nd.Gc.reshape(M, K, N)
    mf = (
        (Gb / np.maximum(np.linalg.norm(Gb, axis=2, keepdims=True), 1e-300)).reshape(M, NK).T
    )  # (NK, M)
    V[:, ::r] = mf * np.sqrt(0.2 * np.repeat(nd.pk, N)[:, None] / M)
    V += 1e-3 * (rng.standard_normal(V.shape) + 1j * rng.standard_normal(V.shape))
    tau = np.sqrt(0.5 * nd.pk / N)
    shape = (NK, cols)
    n_z = 2 * NK * cols
    t_scale = float(np.sum(nd.pk)) / N

    def split(x):
        return _to_complex(x[:n_z], shape), x[n_z:]

    def obj(x):
        _, ta = split(x)
        gr = np.zeros_like(x)
        gr[n_z:] = -2.0 * ta / t_scale
        return -float(ta @ ta) / t_scale, gr

    def cons(x):
        Z, ta = split(x)
        tt = ta**2
        c_r, g, kappa, _, interf = _rates_log(nd, Z, owner, gamma, iso_t=tt)
        pw = _block_power(nd, Z) + N * tt
        c = np.concatenate([c_r, 1.0 - pw / nd.pk])

        def vjp(w):
            wr, wp = w[:M], w[M:]
            Gz = nd.Gc.T @ (wr[:, None] * kappa * g)  # (NK, cols) Wirtinger
            Gz -= (np.repeat(wp / nd.pk, N))[:, None] * Z
            gt = -(wr / interf) @ nd.ch_blk * 2.0 * ta - wp / nd.pk * N * 2.0 * ta
            return np.concatenate([2.0 * _to_real(Gz), gt])

        return c, vjp

    x0 = np.concatenate([_to_real(V), tau])
    x, lam_a, viol, n_out, n_it = _alm(
        obj,
        cons,
        x0,
        np.zeros(M + K),
        rho_a=1.0,
        outer=outer,
        inner=inner,
        feas_tol=feas_tol,
        rel_tol=1e-10,
    )
    Z, ta = split(x)
    t = ta**2
    # restore (38) exactly (ALM leaves ~feas_tol overshoot): scale each satellite's rows
    pw = _block_power(nd, Z) + N * t
    f = np.minimum(1.0, nd.pk / np.maximum(pw, 1e-300))
    Z = Z * np.repeat(np.sqrt(f), N)[:, None]
    t = t * f
    c_r = _rates_log(nd, Z, owner, gamma, iso_t=t)[0]
    viol = max(0.0, float(-np.min(c_r)))
    # certificate: stationarity of -sum t / 1 (objective not scaled) in (lambda, mu) of the linear rows
    lam, mu = _nnls_multipliers(nd, Z, owner, gamma, np.zeros_like(Z), iso=(t, -np.ones(K)))
    ub = _start_upper_bound(nd, Z, owner, t, gamma, lam, mu)
    value = float(np.sum(t))
    status = "optimal" if viol <= 1e-4 else "infeasible"
    Ws = R0 = None
    if status == "optimal":
        Zs = Z * np.sqrt(nd.s)
        Ws = np.stack([Zs[:, owner == m] @ Zs[:, owner == m].conj().T for m in range(M)])
        R0 = np.diag(nd.sel.T @ t * nd.s).astype(complex)
    return StartResult(
        Ws=Ws,
        R0=R0,
        t=t,
        value=value,
        upper_bound=ub,
        max_violation=viol,
        factors=Z * np.sqrt(nd.s),
        status=status,
        seconds=time.perf_counter() - t0,
        cpu_s=time.process_time() - c0,
        lbfgs_iterations=n_it,
    )


# ---------------------------------------------------------------------------
# one subproblem (46)


@dataclass
class SubproblemResult:
    """One (46) solve. Z (NK, cols) normalised factors (X_b = Z_b Z_b^H, powers / s); owner (cols,)
    block of each column (0..M-1 beams, M sensing); objective the (46) value tr CRB / unit +
    rho * penalty at Z; crb_m2 tr CRB; lower_bound the weak-duality lower bound on the (46)
    optimum (same units as objective); gap = (objective - lower_bound) / objective;
    max_violation of the normalised rows; lam_alm ALM multipliers (warm start); lbfgs_iterations;
    seconds wall, cpu_s process CPU."""

    Z: np.ndarray
    owner: np.ndarray
    objective: float
    crb_m2: float
    lower_bound: float
    max_violation: float
    lam_alm: np.ndarray
    lbfgs_iterations: int
    outer_steps: int
    seconds: float
    cpu_s: float
    escapes: int = 0
    parts: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return float((self.objective - self.lower_bound) / abs(self.objective))


def _penalty_dirs(nd: _Norm, vs):
    """(cols-independent) penalty directions: list of (NK,) unit vectors or None per block."""
    return [None if v is None else np.asarray(v, dtype=complex) / np.linalg.norm(v) for v in vs]


def _objective_46(nd: _Norm, Z, owner, rho, dirs):
    """(46) objective in algorithm2 units and its Wirtinger gradient d/dZ* (NK, cols):
    tr CRB(s Z Z^H) / unit + rho sum_b (||Z_b||^2 - ||v_b^H Z_b||^2) (blocks with a direction)."""
    crb, gz = crb_and_gradient(nd.ops, Z * np.sqrt(nd.s))
    if not np.isfinite(crb):
        return np.inf, np.zeros_like(Z), np.inf
    val = crb / nd.unit
    grad = gz * (np.sqrt(nd.s) / nd.unit)
    for b, v in enumerate(dirs):
        if v is None:
            continue
        sel = owner == b
        Zb = Z[:, sel]
        p = v.conj() @ Zb
        val += rho * (float(np.sum(np.abs(Zb) ** 2)) - float(np.sum(np.abs(p) ** 2)))
        grad[:, sel] += rho * (Zb - np.outer(v, p))
    return val, grad, crb


def penalty_lower_bound(nd: _Norm, Z, owner, gamma, rho, dirs, lam=None, mu=None):
    """Weak-duality lower bound on the optimum of (46) (normalised units of ``design.algorithm2``)
    at the factors Z (NK, cols) (docs/isac-algorithm2.md): with G = d(tr CRB / unit)/dR_x at
    X0 = Z Z^H, P_b = I - v_b v_b^H (0 for unpenalised blocks), D_mu = blockdiag(mu_k I_N),
    H_i = g_i g_i^H:
    C_b = G + rho P_b + D_mu + sum_i lambda_i gamma_i H_i - [b = beam m] lambda_m (1 + gamma_m) H_m,
    LB = f0 - <G, X0> + sum_i lambda_i gamma_i - sum_k mu_k pk_k + P_tot min(0, min_b lambda_min(C_b)).
    Multipliers by default from :func:`_nnls_multipliers`. Returns (LB, lam, mu, parts)."""
    M, NK = nd.M, nd.NK
    Zs = Z * np.sqrt(nd.s)
    f0, Sig = crb_sigma(nd.ops, nd.ops.gram_factor(Zs))
    Eb = nd.ops.E_big
    G = (Eb @ Sig @ Eb.conj().T) * (nd.s / nd.unit)  # d(f / unit) / dX (normalised X)
    G = 0.5 * (G + G.conj().T)
    blocks = list(range(M + 1))
    P = []
    for b in blocks:
        v = dirs[b] if b < len(dirs) else None
        P.append(np.zeros((NK, NK)) if v is None else np.eye(NK) - np.outer(v, v.conj()))
    if lam is None or mu is None:
        base = np.zeros_like(Z)
        for b in blocks:
            sel = owner == b
            if np.any(sel):
                base[:, sel] = (G + rho * P[b]) @ Z[:, sel]
        l0, m0 = _nnls_multipliers(nd, Z, owner, gamma, base)
        lam = l0 if lam is None else lam
        mu = m0 if mu is None else mu
    lam = np.maximum(np.asarray(lam, float), 0.0)
    mu = np.maximum(np.asarray(mu, float), 0.0)
    Hh = np.einsum("in,im->inm", nd.Gc, nd.Gc.conj())
    common = G + np.diag(nd.sel.T @ mu) + np.einsum("i,inm->nm", lam * gamma, Hh)
    C = np.empty((M + 1, NK, NK), dtype=complex)
    for b in blocks:
        C[b] = common + rho * P[b]
        if b < M:
            C[b] -= lam[b] * (1.0 + gamma[b]) * Hh[b]
    e, U = np.linalg.eigh(C)
    bmin = int(np.argmin(e[:, 0]))
    min_eig = float(e[bmin, 0])
    lin = float(np.real(np.vdot(Z, G @ Z)))
    parts = dict(
        f0=f0 / nd.unit,
        linear=-lin,
        rate=float(np.sum(lam * gamma)),
        power=-float(mu @ nd.pk),
        eig=float(np.sum(nd.pk)) * min(0.0, min_eig),
        min_eig=min_eig,
        min_block=bmin,
        min_vec=U[bmin, :, 0],
    )
    lb = parts["f0"] + parts["linear"] + parts["rate"] + parts["power"] + parts["eig"]
    return lb, lam, mu, parts


def solve_46(
    nd: _Norm,
    Z0,
    owner,
    gamma,
    rho,
    dirs,
    *,
    lam0=None,
    outer: int = 30,
    inner: int = 300,
    feas_tol: float = 1e-8,
    rel_tol: float = 1e-9,
    gap_tol: float = 1e-6,
    rho_a: float = 10.0,
    max_escapes: int = 10,
    escape_power: float = 1e-2,
) -> SubproblemResult:
    """Solve one subproblem (46) (seed 000; normalised units of ``design.algorithm2``) from the
    factors Z0 (NK, cols) (column blocks ``owner``): minimise tr CRB / unit + rho penalty (see
    :func:`_objective_46`) s.t. (38) and (39) (log form, SINR targets ``gamma`` (M,)) by the
    augmented Lagrangian; certified by :func:`penalty_lower_bound` after every outer step, stopping
    when the relative gap is <= ``gap_tol`` (or the ALM stalls). (38) is then restored exactly by
    scaling each satellite's rows (removes the ALM's ~feas_tol overshoot)."""
    t0, c0 = time.perf_counter(), time.process_time()
    K, N, M = nd.K, nd.N, nd.M
    shape = Z0.shape
    x0 = _to_real(Z0)
    f_ref = max(abs(_objective_46(nd, Z0, owner, rho, dirs)[0]), 1e-300)

    def obj(x):
        v, g, _ = _objective_46(nd, _to_complex(x, shape), owner, rho, dirs)
        if not np.isfinite(v):
            return 1e30, np.zeros_like(x)
        return v / f_ref, 2.0 * _to_real(g) / f_ref

    def cons(x):
        Z = _to_complex(x, shape)
        c_r, g, kappa, _, _ = _rates_log(nd, Z, owner, gamma)
        pw = _block_power(nd, Z)
        c = np.concatenate([c_r, 1.0 - pw / nd.pk])

        def vjp(w):
            Gz = nd.Gc.T @ (w[:M, None] * kappa * g)
            Gz -= np.repeat(w[M:] / nd.pk, N)[:, None] * Z
            return 2.0 * _to_real(Gz)

        return c, vjp

    state = {}

    def check(x):
        Z = _to_complex(x, shape)
        val = _objective_46(nd, Z, owner, rho, dirs)[0]
        lb, lam, mu, parts = penalty_lower_bound(nd, Z, owner, gamma, rho, dirs)
        state.update(lb=lb, parts=parts)
        return (val - lb) <= gap_tol * abs(val)

    lam_a = np.zeros(M + K) if lam0 is None else lam0
    x = x0
    n_out = n_it = 0
    escapes = 0
    while True:
        x, lam_a, viol, k_out, k_it = _alm(
            obj,
            cons,
            x,
            lam_a,
            rho_a=rho_a,
            outer=outer,
            inner=inner,
            feas_tol=feas_tol,
            rel_tol=rel_tol,
            check=check,
        )
        n_out += k_out
        n_it += k_it
        check(x)
        parts = state["parts"]
        if escapes >= max_escapes or parts["min_eig"] >= 0:
            break
        Z = _to_complex(x, shape)
        val = _objective_46(nd, Z, owner, rho, dirs)[0]
        if val - state["lb"] <= gap_tol * abs(val):
            break
        # saddle of the factor form: block b's dual matrix C_b has a negative eigenvalue, i.e. adding
        # power along its eigenvector u lowers the Lagrangian; put u into b's weakest column and re-solve
        b, u = parts["min_block"], parts["min_vec"]
        idx = np.flatnonzero(owner == b)
        weakest = idx[np.argmin(np.sum(np.abs(Z[:, idx]) ** 2, axis=0))]
        Z[:, weakest] = u * np.sqrt(escape_power * float(np.min(nd.pk)))
        x = _to_real(Z)
        escapes += 1
        state.clear()
    Z = _to_complex(x, shape)
    pw = _block_power(nd, Z)
    Z = Z * np.repeat(np.sqrt(np.minimum(1.0, nd.pk / np.maximum(pw, 1e-300))), N)[:, None]
    c_r = _rates_log(nd, Z, owner, gamma)[0]
    viol = max(0.0, float(-np.min(c_r)))
    val, _, crb = _objective_46(nd, Z, owner, rho, dirs)
    lb, _, _, parts = penalty_lower_bound(nd, Z, owner, gamma, rho, dirs)
    return SubproblemResult(
        Z=Z,
        owner=owner,
        objective=val,
        crb_m2=crb,
        lower_bound=lb,
        max_violation=viol,
        lam_alm=lam_a,
        lbfgs_iterations=n_it,
        outer_steps=n_out,
        escapes=escapes,
        seconds=time.perf_counter() - t0,
        cpu_s=time.process_time() - c0,
        parts=parts,
    )


# ---------------------------------------------------------------------------
# Algorithm 2


def _top(Zb):
    """(lambda_max, unit principal vector) of Z_b Z_b^H from the factor's SVD."""
    U, sv, _ = np.linalg.svd(Zb, full_matrices=False)
    return float(sv[0] ** 2), U[:, 0]


def _factor_of(X, cols: int):
    """Z (NK, cols) with Z Z^H the best rank-``cols`` PSD approximation of Hermitian X."""
    w, U = np.linalg.eigh(0.5 * (X + X.conj().T))
    w, U = w[::-1][:cols], U[:, ::-1][:, :cols]
    return U * np.sqrt(np.maximum(w, 0.0))


def _principal_mat(X):
    w, V = np.linalg.eigh(0.5 * (X + X.conj().T))
    return V[:, -1]


def algorithm2_fast(
    problem: DesignProblem,
    *,
    rho: float = 10.0,
    iota: float = 1.5,
    delta: float = 1e-4,
    max_iter: int = 30,
    rel_tol: float = 1e-4,
    sensing_rank: str = "one",
    rate_margin: float = 1e-3,
    crb_unit_m2: float | None = None,
    beam_cols: int = 2,
    sensing_cols: int | None = None,
    gap_tol: float = 1e-5,
    start: tuple | None = None,
    inner: int = 300,
    outer: int = 30,
    seed: int = 0,
) -> DesignResult:
    """Seed 000 Algorithm 2 (penalty iteration (42)-(47)) with every convex subproblem solved
    without cvxpy (module docstring); same definitions as :func:`twin.isac.design.algorithm2.algorithm2`:

    * line 1: the start of ``power_min_start`` (:func:`fast_start`; or ``start`` = (Ws (M, NK, NK),
      R0 (NK, NK)) in W, e.g. the cvxpy start, to follow the reference iterate by iterate);
    * iteration j+1: (46) min tr CRB / unit + rho sum_X (tr X - v_X^(j)H X v_X^(j)) s.t. (38), linear
      (39) with SINR targets (2^eta - 1)(1 + rate_margin), X >= 0; v_X^(j) the principal eigenvector
      of iterate j (of the full matrices at j = 0, as the reference); unit = ``crb_unit_m2``
      (default CRB_UNIT_FRACTION of the isotropic full-power tr CRB), powers / max P^max;
    * converged when the (46) objective changes by <= rel_tol (relative); then rho <- iota rho if the
      rank residual sum |tr X - lambda_max(X)| / s > delta, else stop; at most ``max_iter`` solves;
    * output by (47) (``sensing_rank="one"``) or ``rank_one_beams`` ("full"), scaled to meet (38).

    Factor sizes: ``beam_cols`` columns per beam, ``sensing_cols`` (default 3K) for R; the
    certificate (not the column count) is the proof of optimality. ``gap_tol``: relative certified
    gap at which a subproblem solve stops; ``inner``/``outer``: L-BFGS iterations per ALM step and
    ALM steps per solve. Returns a :class:`DesignResult` with the fields of ``algorithm2``
    (objective_history, rcrb_history_m, extra rcrb_rank_one_history_m, rho_history,
    rank_residual_history) plus extra subproblem_gaps (certified relative gaps, (obj - LB) / obj),
    subproblem_lower_bounds, subproblem_objectives, subproblem_violations, subproblem_cpu_s,
    subproblem_wall_s, lbfgs_iterations, start (:class:`StartResult` or "given"), start_gap.
    """
    if sensing_rank not in ("full", "one"):
        raise ValueError(f"sensing_rank must be 'full' or 'one', got {sensing_rank!r}")
    if not (rho > 0 and iota >= 1 and delta > 0 and max_iter >= 1 and rel_tol > 0):
        raise ValueError("need rho > 0, iota >= 1, delta > 0, max_iter >= 1, rel_tol > 0")
    if int(beam_cols) != beam_cols or beam_cols < 1:
        raise ValueError(f"beam_cols must be a positive integer, got {beam_cols}")
    scheme = "algorithm2_fast"
    t_start, c_start = time.perf_counter(), time.process_time()
    pb = problem
    nd = _Norm(pb, crb_unit_m2)
    K, M = nd.K, nd.M
    s = nd.s
    gamma = sinr_targets(pb.eta, rate_margin)
    rs = int(sensing_cols) if sensing_cols is not None else 3 * K
    if rs < 1:
        raise ValueError(f"sensing_cols must be >= 1, got {sensing_cols}")
    rb = int(beam_cols)
    owner = np.concatenate([np.repeat(np.arange(M), rb), np.full(rs, M)])
    if start is None:
        st = fast_start(pb, rate_margin=rate_margin, beam_cols=rb, seed=seed)
        if st.status != "optimal":
            return fallback_design(
                pb,
                scheme=scheme,
                cause="infeasible",
                solver="alm-lbfgs",
                solve_time_s=time.perf_counter() - t_start,
                message=f"starting point: rate targets not met (violation {st.max_violation:.3g})",
            )
        Ws0, R0 = st.Ws, st.R0
        start_info = st
    else:
        Ws0, R0 = (np.asarray(a, dtype=complex) for a in start)
        start_info = "given"
    Xs, Y = Ws0 / s, R0 / s  # full normalised matrices of iterate 0

    def _rank_one_rcrb(Xs_, Y_):
        W1, r1 = extract_47(Xs_ * s, Y_ * s)
        Rx1 = W1 @ W1.conj().T + (np.outer(r1, r1.conj()) if sensing_rank == "one" else Y_ * s)
        return crb_rx(pb, Rx1)

    rcrb_hist = [crb_rx(pb, (Xs.sum(axis=0) + Y) * s)]
    r1_hist = [_rank_one_rcrb(Xs, Y)]
    # penalty directions from iterate 0 (full matrices, as the reference) and the initial factors
    dirs = [_principal_mat(X) for X in Xs] + [_principal_mat(Y) if sensing_rank == "one" else None]
    Z = np.concatenate([_factor_of(X, rb) for X in Xs] + [_factor_of(Y, rs)], axis=1)
    obj_hist, rho_hist, res_hist = [], [], []
    gaps, lbs, viols, cpu_sub, wall_sub, n_lbfgs = [], [], [], [], [], 0
    lam_alm = None
    f_prev = None
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported after the loop)
        sub = solve_46(
            nd, Z, owner, gamma, rho, dirs, lam0=lam_alm, gap_tol=gap_tol, inner=inner, outer=outer
        )
        Z, lam_alm = sub.Z, sub.lam_alm
        f = sub.objective
        obj_hist.append(f)
        rho_hist.append(rho)
        gaps.append(sub.gap)
        lbs.append(sub.lower_bound)
        viols.append(sub.max_violation)
        cpu_sub.append(sub.cpu_s)
        wall_sub.append(sub.seconds)
        n_lbfgs += sub.lbfgs_iterations
        Xs = np.stack([Z[:, owner == m] @ Z[:, owner == m].conj().T for m in range(M)])
        Y = Z[:, owner == M] @ Z[:, owner == M].conj().T
        rcrb_hist.append(crb_rx(pb, (Xs.sum(axis=0) + Y) * s))
        r1_hist.append(_rank_one_rcrb(Xs, Y))
        tops = [_top(Z[:, owner == b]) for b in range(M + 1)]
        pen_blocks = range(M + 1) if sensing_rank == "one" else range(M)
        resid = float(
            sum(abs(float(np.sum(np.abs(Z[:, owner == b]) ** 2)) - tops[b][0]) for b in pen_blocks)
        )
        res_hist.append(resid)
        dirs = [tops[m][1] for m in range(M)] + [tops[M][1] if sensing_rank == "one" else None]
        stop, rho = penalty_step(f, f_prev, resid, rho, iota=iota, delta=delta, rel_tol=rel_tol)
        f_prev = f
        if stop:
            break
    return algorithm2_result(
        pb,
        Xs * s,
        Y * s,
        sensing_rank,
        scheme=scheme,
        solver="alm-lbfgs",
        solver_status="optimal",
        iterations=it,
        objective_history=obj_hist,
        rcrb_history_m=rcrb_hist,
        rank_one_history_m=r1_hist,
        rho_history=rho_hist,
        rank_residual_history=res_hist,
        t_start=t_start,
        subproblem_gaps=gaps,
        subproblem_lower_bounds=lbs,
        subproblem_violations=viols,
        subproblem_cpu_s=cpu_sub,
        subproblem_wall_s=wall_sub,
        lbfgs_iterations=n_lbfgs,
        start=start_info,
        start_gap=(start_info.gap if start_info != "given" else float("nan")),
        cpu_s=time.process_time() - c_start,
        crb_unit_m2=nd.unit,
    )
