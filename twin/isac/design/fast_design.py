"""Fast joint ISAC transmit design for seed 000 problem (33) (seed-math B.6): a first-order
method directly on the beamformers, certified against the SDR lower bound.

Method (docs/isac-fast-design.md):

* The design is parametrised by its factors Z = [V, L] (NK x (M + r)): communication beams
  V = [w~_1 .. w~_M] (rank-one W_m, as (33) requires) and a sensing factor L (NK x r) with
  R = L L^H, so R_x = Z Z^H. ``sensing_rank="full"`` uses r = 3K sensing streams (the FIM sees
  R_x only through the 3 vectors a_k, da_k/dtheta, da_k/dphi per satellite), ``"one"`` uses r = 1
  (the paper's single sensing waveform r~).
* Each satellite's rows Z_k = sqrt(P_k^max) Y_k / ||Y_k||_F: the power constraint (33b) holds with
  equality by construction. (Spending the full budget loses nothing when M < N: leftover power can
  always be put on a sensing direction orthogonal to every UE channel of that satellite, which
  cannot increase the CRB and does not change any SINR.)
* The rate constraints (33c), the SINR form of seed-math B.6 [R] written as
  ln|h_i^H w_i|^2 >= ln(gamma_i (interference_i + noise)) (dimensionless rows), are handled by an
  augmented Lagrangian with a small penalty (:mod:`twin.isac.design.alm`, shared with fast_baselines and
  fast_algorithm2); each inner problem is minimised by its L-BFGS with the analytic gradient: grad_{Z*} CRB = E Sigma E^H Z (Sigma from G = dCRB/dQ,
  Q the 4 x 4 position/alpha FIM).
* Stopping rule: the weak-duality certificate of :mod:`twin.isac.design.dual_bound` (a lower bound on the
  SDR optimum from the gradient of the CRB at the iterate and multipliers fitted to stationarity)
  is evaluated every few dozen iterations; the design is returned as soon as it meets every rate
  target and is proven within ``gap_tol`` of the SDR optimum.
* Warm start: pass the previous epoch's result (its factors and multipliers are reused).

The design returned is re-evaluated from scratch (:func:`twin.isac.design.sdr.evaluate_design`):
RCRB with ``location_crb``, rates with ``sinr_rate``, powers with ``satellite_powers``. If a rate
target is missed the status is the fallback of :mod:`twin.isac.design.sdr` (never raises).
"""

from __future__ import annotations

import time

import numpy as np

from twin.isac.design.alm import augmented_lagrangian, phr_penalty
from twin.isac.design.dual_bound import dual_lower_bound, optimise_multipliers
from twin.isac.design.sdr import DesignProblem, DesignResult, evaluate_design, fallback_design
from twin.isac.physics.crb import angle_jacobian, fim_operators
from twin.isac.physics.model import angles, steering_derivatives

__all__ = [
    "FastOperators",
    "fast_operators",
    "position_fim",
    "crb_sigma",
    "crb_and_gradient",
    "fast_design",
]

SENSING_RANKS = ("full", "one")


class FastOperators:
    """Precomputed small maps of one :class:`DesignProblem`.

    The equivalent FIM of (p_x, p_y, p_z, alpha) is Q_ab = c Re tr(D~_a^H D~_b R_x) with
    D~_p = alpha sum_i J_ip D_i (i over Omega, J = dOmega/dp, eqs. (51)-(57)), D~_3 = D_0 and
    c = 2 L / sigma_n^2 (eqs. (30)-(32)). Every D_i is a sum of blocks b c^H with c one of the 3
    vectors a_k, da_k/dtheta, da_k/dphi of satellite k (seed-math B.5), so Q depends on R_x only
    through the 3K x 3K Gram Gamma = E^H R_x E, E = blockdiag([a_k, da_k/dtheta, da_k/dphi])
    (NK x 3K): Q_ab = c Re tr(S_ab Gamma) with S_ab = B_a^H B_b, B_a = D~_a E (E^H E)^+ (exact:
    R_x and E (E^H E)^+ Gamma (E^H E)^+ E^H give the same traces).

    Attributes: E (K, 3, N) steering vectors and derivatives; S (4, 4, 3K, 3K); c; Hn (M, NK)
    UE channels divided by sqrt(sigma_i^2) (unit noise); K, N, M; p_max (K,) W.
    """

    def __init__(self, problem: DesignProblem):
        pb = problem
        D0, Ds = fim_operators(
            pb.sat_pos,
            pb.target,
            pb.beta,
            nx=pb.nx,
            nz=pb.nz,
            spacing_wl=pb.spacing_wl,
            frames=pb.frames,
        )
        J = angle_jacobian(pb.sat_pos, pb.target, pb.frames)  # (2K, 3) rad/m
        Dt = np.concatenate(
            [pb.alpha * np.einsum("ip,inm->pnm", J, Ds), D0[None]], axis=0
        )  # (4, NK, NK)
        th, ph = angles(pb.sat_pos, pb.target, pb.frames)
        a, dth, dph = steering_derivatives(th, ph, pb.nx, pb.nz, pb.spacing_wl)
        self.E = np.stack([a, dth, dph], axis=1)  # (K, 3, N)
        K, N = pb.K, pb.N
        Ebig = np.zeros((K * N, 3 * K), dtype=complex)
        for k in range(K):
            Ebig[k * N : (k + 1) * N, 3 * k : 3 * k + 3] = self.E[k].T
        B = Dt @ (Ebig @ np.linalg.pinv(Ebig.conj().T @ Ebig))  # (4, NK, 3K)
        self.S = np.einsum("anr,bns->abrs", B.conj(), B)  # (4, 4, 3K, 3K)
        # Q_ab = c Re sum_rs S_ab[r, s] Gamma[s, r] = c Re (S_T @ vec(Gamma)) with S_T[ab, (s, r)] = S_ab[r, s]
        self.S_T = np.ascontiguousarray(self.S.transpose(0, 1, 3, 2).reshape(16, -1))
        self.S_flat = np.ascontiguousarray(self.S.reshape(16, -1))
        self.c = 2.0 * pb.snapshots / pb.sensing_noise_w
        self.Hn = pb.H / np.sqrt(pb.comm_noise)[:, None]
        self.K, self.N, self.M = K, N, pb.M
        self.p_max = pb.p_max_w.copy()
        self.E_big = Ebig  # (NK, 3K) blockdiag([a_k, da_k/dtheta, da_k/dphi])

    def gram_factor(self, Z) -> np.ndarray:
        """P = E^H Z (3K, cols) for transmit factors Z (NK, cols), so Gamma = P P^H."""
        Zk = np.asarray(Z).reshape(self.K, self.N, -1)
        return np.matmul(self.E.conj(), Zk).reshape(3 * self.K, -1)


def fast_operators(problem: DesignProblem) -> FastOperators:
    """:class:`FastOperators` of ``problem``."""
    return FastOperators(problem)


def position_fim(ops: FastOperators, Z) -> np.ndarray:
    """Q (4, 4): equivalent FIM of (p_x, p_y, p_z, alpha) of R_x = Z Z^H (eqs. (30)-(32) mapped by J),
    Q_ab = c Re tr(S_ab Gamma), Gamma = (E^H Z)(E^H Z)^H. Z (NK, cols) in sqrt(W). Units 1/m^2 (pp)."""
    P = ops.gram_factor(Z)
    Gam = P @ P.conj().T
    Q = ops.c * np.real(np.einsum("abrs,sr->ab", ops.S, Gam))
    return 0.5 * (Q + Q.T)


def crb_sigma(ops: FastOperators, P):
    """tr CRB (m^2) and Sigma (3K, 3K) Hermitian (m^2/W) such that the gradient of tr CRB with
    respect to R_x is E Sigma E^H (m^2/W), for the Gram factor P = E^H Z (3K, cols) (seed 000 eqs.
    (20), (23); see :func:`crb_and_gradient`). Returns (inf, None) if F_p is not positive definite."""
    Gam = P @ P.conj().T
    Q = ops.c * np.real(ops.S_T @ Gam.ravel()).reshape(4, 4)
    Q = 0.5 * (Q + Q.T)
    s = Q[3, 3]
    q = Q[:3, 3]
    if not s > 0:
        return np.inf, None
    Fp = Q[:3, :3] - np.outer(q, q) / s
    try:
        Lc = np.linalg.cholesky(0.5 * (Fp + Fp.T))
    except np.linalg.LinAlgError:
        return np.inf, None
    Li = np.linalg.inv(Lc)
    A = Li.T @ Li
    crb = float(np.trace(A))
    A2 = A @ A
    G = np.empty((4, 4))
    G[:3, :3] = -A2
    G[:3, 3] = G[3, :3] = A2 @ q / s
    G[3, 3] = -float(q @ A2 @ q) / s**2
    n3 = P.shape[0]
    Sig = (ops.c * (G.ravel() @ ops.S_flat)).reshape(n3, n3)
    Sig = 0.5 * (Sig + Sig.conj().T)
    return crb, Sig


def crb_and_gradient(ops: FastOperators, Z):
    """tr CRB (m^2) of R_x = Z Z^H (seed 000 eqs. (20), (23)) and its Wirtinger gradient dCRB/dZ*
    (NK, cols), i.e. dCRB = 2 Re tr(grad^H dZ).

    The alpha nuisance is removed by the Schur complement F_p = Q_pp - q q^T / Q_aa (eq. (23)),
    CRB = tr(F_p^{-1}) (inverting the whole 4 x 4 Q loses ~cond(Q) ~ 1e13 in accuracy). With
    A = F_p^{-1}, G = dCRB/dQ: G_pp = -A^2, G_pa = G_ap = A^2 q / Q_aa, G_aa = -q^T A^2 q / Q_aa^2;
    then Sigma = c sum_ab G_ab S_ab (Hermitian, 3K x 3K) and grad = E Sigma E^H Z.
    Returns (crb, grad); crb = inf (grad zeros) if F_p is not positive definite."""
    P = ops.gram_factor(Z)
    crb, Sig = crb_sigma(ops, P)
    if not np.isfinite(crb):
        return np.inf, np.zeros_like(Z)
    gP = (Sig @ P).reshape(ops.K, 3, -1)
    grad = np.matmul(ops.E.transpose(0, 2, 1), gP).reshape(Z.shape)
    return crb, grad


# ---------------------------------------------------------------------------
# parametrisation: Z_k = sqrt(P_k) Y_k / ||Y_k||_F (per-satellite power (33b) met with equality)


def _to_complex(x, shape):
    n = x.size // 2
    return (x[:n] + 1j * x[n:]).reshape(shape)


def _to_real(Y):
    return np.concatenate([Y.real.ravel(), Y.imag.ravel()])


def _factors(Y, p_max):
    """Y (K, N, cols) -> Z (NK, cols) with ||Z_k||_F^2 = P_k^max, plus the norms (K,)."""
    nrm = np.sqrt(np.sum(np.abs(Y) ** 2, axis=(1, 2)))
    nrm = np.maximum(nrm, 1e-300)
    Z = Y * (np.sqrt(p_max) / nrm)[:, None, None]
    return Z.reshape(-1, Y.shape[2]), nrm


def _chain(Y, nrm, Gz, p_max):
    """Wirtinger gradient w.r.t. Y* from the gradient w.r.t. Z* (both (K, N, cols))."""
    Yh = Y / nrm[:, None, None]
    proj = np.real(np.sum(Yh.conj() * Gz, axis=(1, 2)))
    return (np.sqrt(p_max) / nrm)[:, None, None] * (Gz - Yh * proj[:, None, None])


def _sinr_signs(M, cols, gamma):
    """S (M, cols): S[i, i] = 1, S[i, m] = -gamma_i for every other column (interference and sensing)."""
    S = -np.repeat(gamma[:, None], cols, axis=1)
    S[np.arange(M), np.arange(M)] = 1.0
    return S


def _rate_slack(ops, Z, S, gamma):
    """Normalised SINR-constraint slack (M,): (|h_i^H w_i|^2 - gamma_i (interference + sensing + 1)) / (1 + gamma_i)
    (seed-math B.6 [R] linear form of (39), unit noise) and g = H^H Z (M, cols)."""
    g = ops.Hn.conj() @ Z
    c = (np.sum(S * np.abs(g) ** 2, axis=1) - gamma) / (1.0 + gamma)
    return c, g


def _rate_log_slack(ops, Z, gamma):
    """Log-form SINR-constraint slack (M,): c_i = ln|h_i^H w_i|^2 - ln(gamma_i (I_i + 1)), with
    I_i = sum_{m != i} |h_i^H w_m|^2 + ||L^H h_i||^2 (unit noise; seed-math B.6 [R] constraint
    divided by its own interference-plus-noise level, so every row is dimensionless and O(1)
    whatever the channel gain), and the coefficient matrix Cf (M, cols) such that
    dc_i/dZ* = h_i (Cf[i] * g[i]) with g = H^H Z (M, cols). Returns (c, g, Cf)."""
    M = ops.M
    g = ops.Hn.conj() @ Z
    a2 = np.abs(g) ** 2
    useful = np.maximum(a2[np.arange(M), np.arange(M)], 1e-300)
    interf = a2.sum(axis=1) - useful + 1.0
    c = np.log(useful) - np.log(gamma * interf)
    Cf = -np.repeat((1.0 / interf)[:, None], Z.shape[1], axis=1)
    Cf[np.arange(M), np.arange(M)] = 1.0 / useful
    return c, g, Cf


def _initial_point(ops: FastOperators, r: int, rng) -> np.ndarray:
    """Y0 (K, N, M + r): matched-filter beams h~_m per satellite block at 10 % of the power,
    sensing streams along the steering vectors and derivatives (r = 3K: one per vector;
    r = 1: the sum of the steering vectors), plus a small random part."""
    K, N, M = ops.K, ops.N, ops.M
    Y = np.zeros((K, N, M + r), dtype=complex)
    Hb = ops.Hn.reshape(M, K, N).transpose(1, 2, 0)  # (K, N, M)
    hn = np.sqrt(np.sum(np.abs(Hb) ** 2, axis=1, keepdims=True))
    Y[:, :, :M] = 0.3 * Hb / np.maximum(hn, 1e-300) / np.sqrt(M)
    E = (ops.E / np.linalg.norm(ops.E, axis=2, keepdims=True)).transpose(0, 2, 1)  # (K, N, 3)
    if r == 1:
        Y[:, :, M] = E[:, :, 0]
    else:
        for t in range(min(3, r // K)):
            Y[np.arange(K), :, M + t * K + np.arange(K)] = E[:, :, t]
    Y += 0.01 * (rng.standard_normal(Y.shape) + 1j * rng.standard_normal(Y.shape))
    return Y


# ---------------------------------------------------------------------------
# the design


def _check_options(sensing_rank, tol, max_iter, rate_margin):
    if sensing_rank not in SENSING_RANKS:
        raise ValueError(f"sensing_rank must be one of {SENSING_RANKS}, got {sensing_rank!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter}")
    if not 0 <= rate_margin < 1:
        raise ValueError(f"rate_margin must be in [0, 1), got {rate_margin}")


def fast_design(
    problem: DesignProblem,
    *,
    warm_start: DesignResult | None = None,
    sensing_rank: str = "full",
    tol: float = 1e-6,
    max_iter: int = 20,
    inner_iter: int = 1000,
    rate_margin: float = 1e-3,
    seed: int = 0,
    ops: FastOperators | None = None,
    gap_tol: float = 2e-3,
    check_every: int = 50,
    rho0: float = 0.01,
    rho_growth: float = 5.0,
    rho_max: float = 1e8,
    rate_form: str = "log",
) -> DesignResult:
    """Joint design of seed 000 (33) by an augmented Lagrangian on the beamformers (module docstring).

    problem: :class:`twin.isac.design.sdr.DesignProblem`. warm_start: a previous result (e.g. the last
    epoch's) whose beams/sensing factors start the iteration (its dimensions must match; else ignored).
    sensing_rank: "full" (r = 3K sensing streams, R of any rank) or "one" (single sensing waveform
    r~, the paper's (33)). tol: stop when the relative CRB change of an outer iteration and the
    largest normalised SINR violation are below it. max_iter: outer (multiplier) iterations;
    inner_iter: L-BFGS iterations per outer iteration. rate_margin: relative SINR margin targeted
    internally so the returned design meets eta despite the finite accuracy. seed: RNG seed of the
    small random part of the cold start. ops: precomputed :func:`fast_operators` (optional).
    gap_tol: stop as soon as the iterate meets every rate target and its dual certificate
    (:func:`twin.isac.design.dual_bound.dual_lower_bound`) proves RCRB <= (1 + gap_tol) sqrt(SDR optimum);
    checked every ``check_every`` L-BFGS iterations, and also after 10 and 20 iterations of a warm
    start (gap_tol = 0 disables the certificate stop).
    rho0: initial augmented-Lagrangian penalty (in units of the CRB normalised by the isotropic
    design's), multiplied by ``rho_growth`` (capped at ``rho_max``) when an outer iteration does not
    cut the rate violation by 4x. A small rho0 keeps the inner problems well conditioned; the
    multiplier updates then enforce the rates (docs/isac-fast-design.md has the measured sweep).
    rate_form: "log" (default) puts the SINR rows in the augmented Lagrangian as
    ln|h_i^H w_i|^2 - ln(gamma_i (I_i + 1)) >= 0 (each row dimensionless: the linear rows are
    O(interference / noise) ~ 10-700 at Table II size, which made the inner problems
    ill-conditioned); "linear" keeps the previous linear rows divided by (1 + gamma_i).

    Returns a :class:`DesignResult` (scheme "fast_design") evaluated from scratch; status "optimal"
    when every rate target and power limit holds, else the fallback of :mod:`twin.isac.design.sdr`
    with cause "infeasible". extra: "max_violation", "lbfgs_iterations", "factors", "multipliers",
    "certificate" (the last :class:`twin.isac.design.dual_bound.DualCertificate`, or None), "dual_bound_m"
    (its sqrt bound, a lower bound on every feasible design's RCRB), "dual_gap" (RCRB / dual_bound_m - 1),
    "certificate_checks", "rho".
    """
    _check_options(sensing_rank, tol, max_iter, rate_margin)
    if rate_form not in ("log", "linear"):
        raise ValueError(f"rate_form must be 'log' or 'linear', got {rate_form!r}")
    if not 0 <= gap_tol < 1:
        raise ValueError(f"gap_tol must be in [0, 1), got {gap_tol}")
    if int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every}")
    t0 = time.perf_counter()
    pb = problem
    ops = ops if ops is not None else FastOperators(pb)
    K, N, M = pb.K, pb.N, pb.M
    r = 3 * K if sensing_rank == "full" else 1
    cols = M + r
    gamma = (2.0**pb.eta - 1.0) * (1.0 + rate_margin)
    S = _sinr_signs(M, cols, gamma)
    p_max = pb.p_max_w
    rng = np.random.default_rng(seed)

    Y = None
    Y_warm = False
    lam = np.zeros(M)
    if warm_start is not None and "factors" in warm_start.extra:
        Yw = np.asarray(warm_start.extra["factors"])
        if Yw.shape == (K, N, cols):
            Y = Yw.copy()
            Y_warm = True
            lw = np.asarray(warm_start.extra.get("multipliers", lam))
            lam = lw.copy() if lw.shape == (M,) else lam
    if Y is None:
        Y = _initial_point(ops, r, rng)
    # CRB unit: the isotropic full-power design
    Ziso = np.zeros((K * N, K * N), dtype=complex)
    Ziso[np.arange(K * N), np.arange(K * N)] = np.repeat(np.sqrt(p_max / N), N)
    crb0, _ = crb_and_gradient(ops, Ziso)
    scale = 1.0 / crb0 if np.isfinite(crb0) and crb0 > 0 else 1.0

    shape = Y.shape

    def unpack(x):
        return _to_complex(x, shape)

    def pack(Yc):
        return _to_real(Yc)

    def phi(x, lam, rho):
        Yc = unpack(x)
        Z, nrm = _factors(Yc, p_max)
        f, gf = crb_and_gradient(ops, Z)
        if not np.isfinite(f):
            return 1e30, np.zeros_like(x)
        if rate_form == "log":
            c, g, Cf = _rate_log_slack(ops, Z, gamma)
        else:
            c, g = _rate_slack(ops, Z, S, gamma)
            Cf = S / (1.0 + gamma)[:, None]
        pen, act = phr_penalty(c, lam, rho)
        val = scale * f + pen
        Gz = scale * gf + ops.Hn.T @ (-act[:, None] * Cf * g)
        Gy = _chain(Yc, nrm, Gz.reshape(shape), p_max)
        return val, 2.0 * _to_real(Gy)

    gamma_true = 2.0**pb.eta - 1.0
    S_true = _sinr_signs(M, cols, gamma_true)
    state = {"cert": None, "done": False, "checks": 0, "last_opt": -100, "it": 0}
    # certificate schedule: every check_every L-BFGS iterations, and early (10, 20) after a warm start
    early = (10, 20) if Y_warm else ()

    def certify_point(x):
        """True when x meets every rate target and its dual gap is <= gap_tol (stores the certificate)."""
        Z, _ = _factors(unpack(x), p_max)
        c_true, _ = _rate_slack(ops, Z, S_true, gamma_true)
        if np.min(c_true) < 0:
            return False
        state["checks"] += 1
        cert = dual_lower_bound(ops, pb.H, pb.comm_noise, pb.eta, p_max, Z[:, :M], Z[:, M:])
        if gap_tol < cert.gap <= 5.0 * gap_tol and state["checks"] - state["last_opt"] >= 10:
            # close: the stationarity multipliers are not the best ones; maximise the bound over them
            state["last_opt"] = state["checks"]
            cert = optimise_multipliers(
                ops,
                pb.H,
                pb.comm_noise,
                pb.eta,
                p_max,
                Z[:, :M],
                Z[:, M:],
                lam0=cert.lam,
                mu0=cert.mu,
            )
        state["cert"] = cert
        state["done"] = cert.gap <= gap_tol
        return state["done"]

    def scheduled(x):
        state["it"] += 1
        if state["it"] % int(check_every) == 0 or state["it"] in early:
            return certify_point(x)
        return False

    def measure(x):
        Z, _ = _factors(unpack(x), p_max)
        c = (
            _rate_log_slack(ops, Z, gamma)[0]
            if rate_form == "log"
            else _rate_slack(ops, Z, S, gamma)[0]
        )
        return crb_and_gradient(ops, Z)[0], c

    def outer_stop(x, f, viol, history):
        if gap_tol > 0 and certify_point(x):
            return True
        return len(history) > 1 and abs(history[-2] - f) <= tol * f and viol <= tol

    run = augmented_lagrangian(
        phi,
        measure,
        pack(Y),
        lam,
        rho=float(rho0),
        max_outer=max_iter,
        inner_iter=inner_iter,
        rho_growth=rho_growth,
        rho_max=rho_max,
        inner_stop=scheduled if gap_tol > 0 else None,
        outer_stop=outer_stop,
    )
    x, lam, rho, viol, history, n_lbfgs = (
        run.x,
        run.lam,
        run.rho,
        run.violation,
        run.history,
        run.lbfgs_iterations,
    )
    Yf = unpack(x)
    Z, _ = _factors(Yf, p_max)
    W, L = Z[:, :M], Z[:, M:]
    R = L[:, 0] if r == 1 else L @ L.conj().T
    secs = time.perf_counter() - t0
    result = evaluate_design(
        pb,
        W,
        R,
        scheme="fast_design",
        solver="alm-lbfgs",
        iterations=len(history),
        objective_history=[float(h) for h in history],
        rcrb_history_m=[float(np.sqrt(h)) for h in history],
        solve_time_s=secs,
    )
    cert = state["cert"]
    if cert is None or not state["done"]:  # certificate of the returned point, best multipliers
        cert = optimise_multipliers(ops, pb.H, pb.comm_noise, pb.eta, p_max, W, L)
    result.extra.update(
        factors=Yf,
        max_violation=viol,
        lbfgs_iterations=n_lbfgs,
        sensing_rank=sensing_rank,
        multipliers=lam,
        certificate=cert,
        dual_bound_m=cert.bound_m,
        dual_gap=(result.rcrb_m / cert.bound_m - 1.0) if cert.bound_m > 0 else float("inf"),
        certificate_checks=state["checks"],
        rho=rho,
    )
    if not result.meets(pb):
        fb = fallback_design(
            pb,
            scheme="fast_design",
            cause="infeasible",
            solver="alm-lbfgs",
            solve_time_s=secs,
            iterations=len(history),
            message=f"rate targets not met after {len(history)} outer iterations "
            f"(worst rate {float(np.min(result.rates - pb.eta)):+.3g} bit/s/Hz from target)",
        )
        fb.extra.update(result.extra)
        fb.extra["unmet_design"] = result
        return fb
    return result


# ---------------------------------------------------------------------------
# random instances and the certification study


def random_problem(
    rng: np.random.Generator,
    *,
    collaboration: str = "II",
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    eta_bps_hz: float = 2.0,
    p_max_dbm: float = 30.0,
    sensing_noise_dbm: float = -110.0,
    central_index: int | None = None,
    max_tries: int = 20,
) -> DesignProblem:
    """A random seed 000 Table I/II instance: Walker 72 x 22 (F = 1) group of type ``collaboration``
    around a random central satellite (``central_index`` or drawn from ``rng``; redrawn if no
    complete group exists), ``n_ue`` UEs uniform in the 15 km service disk at the central's nadir,
    target uniform in the same disk (ground), channels (3)-(5), paper beta with random phases."""
    from twin.isac.physics import channel
    from twin.isac.physics.model import isac_array_frames, paper_beta
    from twin.paper.isac.snapshot import walker_group_snapshot
    from twin.units import dbm_to_w

    g = None
    for _ in range(max_tries):
        idx = int(rng.integers(72 * 22)) if central_index is None else int(central_index)
        try:
            g = walker_group_snapshot(collaboration=collaboration, central_index=idx)
            break
        except ValueError:
            if central_index is not None:
                raise
    if g is None:
        raise ValueError(
            f"no complete type-{collaboration} group found in {max_tries} random draws"
        )
    K = g.sat_pos.shape[0]
    params = channel.IsacParams(
        nx=nx,
        nz=nz,
        K=K,
        M=n_ue,
        p_max_dbm=p_max_dbm,
        rate_target_bps_hz=eta_bps_hz,
        sensing_noise_dbm=sensing_noise_dbm,
    )
    frames = isac_array_frames(g.sat_pos, g.sat_vel)
    target = channel.ue_positions(g.central_nadir_ecef, params.service_radius_m, 1, rng)[0]
    ues = channel.ue_positions(g.central_nadir_ecef, params.service_radius_m, n_ue, rng)
    H = channel.comm_channels(
        g.sat_pos, ues, frames=frames, params=params, rng=rng, center_ecef=g.central_nadir_ecef
    )
    beta = paper_beta(g.sat_pos, target, rng=rng)
    return DesignProblem(
        sat_pos=g.sat_pos,
        target=target,
        beta=beta,
        H=H,
        eta=eta_bps_hz,
        p_max_w=float(dbm_to_w(p_max_dbm)),
        sensing_noise_w=float(dbm_to_w(sensing_noise_dbm)),
        nx=nx,
        nz=nz,
        frames=frames,
        comm_noise=1.0,
    )


def certify(
    n: int,
    *,
    seed: int = 2026,
    collaboration: str = "II",
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    out=None,
    sdr: bool = False,
    single_stream: bool = False,
    sdr_solver: str = "auto",
    file=None,
    **design_kw,
) -> list[dict]:
    """Certify :func:`fast_design` on ``n`` random instances (:func:`random_problem`, instance i from
    SeedSequence(seed).spawn) with the weak-duality bound (:func:`twin.isac.design.dual_bound.optimise_multipliers`
    at the returned design; no SDP solve). Optionally (``sdr=True``) also solves the SDR
    (:func:`twin.isac.design.sdr.sdr_lower_bound`, ~minutes each at Table II size) and
    (``single_stream=True``) the single-sensing-waveform design. Writes one CSV row per instance to
    ``out`` (if given) as it goes and returns the rows: rcrb_m, dual_bound_m, gap_pct =
    100 (rcrb_m / dual_bound_m - 1) (>= the gap to the SDR optimum), min_rate_margin (bit/s/Hz),
    max_power_ratio (P_k / P_k^max), cpu_fast_s (process CPU of fast_design), cpu_cert_s, and
    the optional SDR / single-stream columns. ``design_kw`` go to :func:`fast_design`."""
    import csv
    import sys
    from pathlib import Path

    from twin.isac.design.sdr import sdr_lower_bound

    log = file if file is not None else sys.stdout
    rows = []
    writer = None
    fh = None
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fh = open(out, "w", newline="")
    try:
        for i, ss in enumerate(np.random.SeedSequence(seed).spawn(int(n))):
            pb = random_problem(
                np.random.default_rng(ss), collaboration=collaboration, nx=nx, nz=nz, n_ue=n_ue
            )
            c = time.process_time()
            ops = FastOperators(pb)
            fd = fast_design(pb, ops=ops, **design_kw)
            c_fast = time.process_time() - c
            d = fd.extra.get("unmet_design", fd)
            c = time.process_time()
            Z, _ = _factors(
                d.extra["factors"] if "factors" in d.extra else fd.extra["factors"], pb.p_max_w
            )
            cert = optimise_multipliers(
                ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, Z[:, : pb.M], Z[:, pb.M :]
            )
            c_cert = time.process_time() - c
            row = dict(
                instance=i,
                status=fd.status,
                rcrb_m=d.rcrb_m,
                dual_bound_m=cert.bound_m,
                gap_pct=100.0 * (d.rcrb_m / cert.bound_m - 1.0)
                if cert.bound_m > 0
                else float("inf"),
                min_rate_margin=float(np.min(d.rates - pb.eta)),
                max_power_ratio=float(np.max(d.sat_power_w / pb.p_max_w)),
                cpu_fast_s=c_fast,
                cpu_cert_s=c_cert,
                lbfgs_iterations=fd.extra.get("lbfgs_iterations", 0),
            )
            if single_stream:
                c = time.process_time()
                f1 = fast_design(pb, ops=ops, sensing_rank="one", **design_kw)
                row.update(
                    status_one=f1.status,
                    rcrb_one_m=f1.rcrb_m,
                    cpu_one_s=time.process_time() - c,
                    gap_one_pct=100.0 * (f1.rcrb_m / cert.bound_m - 1.0),
                    min_rate_margin_one=float(np.min(f1.rates - pb.eta)),
                    max_power_ratio_one=float(np.max(f1.sat_power_w / pb.p_max_w)),
                )
            if sdr:
                c = time.process_time()
                b = sdr_lower_bound(pb, solver=sdr_solver)
                row.update(
                    sdr_status=b.status,
                    sdr_bound_m=b.bound_m,
                    cpu_sdr_s=time.process_time() - c,
                    gap_sdr_pct=100.0 * (d.rcrb_m / b.bound_m - 1.0),
                )
            rows.append(row)
            if fh is not None:
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                fh.flush()
            print(
                " ".join(
                    f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                ),
                file=log,
                flush=True,
            )
    finally:
        if fh is not None:
            fh.close()
    return rows


def _main(argv=None) -> None:  # pragma: no cover - thin CLI wrapper
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m twin.isac.design.fast_design",
        description="certify fast_design with the weak-duality bound on random instances",
    )
    ap.add_argument("--certify", type=int, default=50, help="number of random instances")
    ap.add_argument("--out", default="out/certify.csv")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--collaboration", default="II")
    ap.add_argument("--nx", type=int, default=4)
    ap.add_argument("--nz", type=int, default=4)
    ap.add_argument("--ues", type=int, default=10)
    ap.add_argument(
        "--sdr",
        action="store_true",
        help="also solve the cvxpy SDR (minutes each at Table II size)",
    )
    ap.add_argument("--single-stream", action="store_true", help="also run sensing_rank='one'")
    a = ap.parse_args(argv)
    rows = certify(
        a.certify,
        seed=a.seed,
        collaboration=a.collaboration,
        nx=a.nx,
        nz=a.nz,
        n_ue=a.ues,
        out=a.out,
        sdr=a.sdr,
        single_stream=a.single_stream,
    )
    cpu = np.array([r["cpu_fast_s"] for r in rows])
    print(
        f"{len(rows)} instances: {sum(r['status'] == 'optimal' for r in rows)} optimal; worst certified gap "
        f"{max(r['gap_pct'] for r in rows):.4f} % (RCRB / sqrt(dual bound) - 1); min rate margin "
        f"{min(r['min_rate_margin'] for r in rows):+.3g} bit/s/Hz; max power ratio "
        f"{max(r['max_power_ratio'] for r in rows):.9f}; CPU per design median {np.median(cpu):.3g} s, "
        f"max {cpu.max():.3g} s"
    )
    if a.sdr:
        print(
            f"SDR: worst gap to the SDR {max(r['gap_sdr_pct'] for r in rows):.4f} %; dual bound <= SDR bound on "
            f"{sum(r['dual_bound_m'] <= r['sdr_bound_m'] * (1 + 1e-6) for r in rows)}/{len(rows)}"
        )
    if a.single_stream:
        print(f"single stream: worst gap {max(r['gap_one_pct'] for r in rows):.4f} %")


if __name__ == "__main__":  # pragma: no cover
    _main()
