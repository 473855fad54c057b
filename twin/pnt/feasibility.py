"""Per-satellite SINR feasibility test of seed 002's DSTA (seed-math A.7).

Question, for one satellite with channels ``H_i`` (Ci, N) (rows ``h_c``; the UT
receives ``h_c^T w``), thresholds ``γ`` (Ci,), per-beam power ``P`` and noise ``ε²``:
is there ``W`` (Ci, N) with

    SINR_c = |h_c^T w_c|² / (Σ_{c'≠c} |h_c^T w_{c'}|² + ε²) ≥ γ_c  and  ‖w_c‖² ≤ P ?

Three methods share one signature, :func:`feasible`:

* ``"sdr"``  — seed 002's eq. (20): SDP relaxation with Hermitian ``Q_c`` in the full
  N-dimensional space (cvxpy), t = 1 feasibility form, rank-one extraction plus 50
  Gaussian randomisations. The paper's reference; slow, small instances only.
* ``"socp"`` — the exact second-order-cone program (Bengtsson–Ottersten,
  Wiesel–Eldar–Shamai): rotate each beam so ``h_c^T w_c`` is real, then
  ``‖[h_c^T w_{c'} (c' ≠ c), ε]‖ ≤ Re(h_c^T w_c)/√γ_c``, ``‖w_c‖ ≤ √P``; objective: minimum
  total power. cvxpy with Clarabel, DPP-parameterised (one canonicalisation per shape).
* ``"fast"`` (default) — an exact method without a generic solver: beams restricted to
  the span of the satellite's channels (Ci ≤ 12 dimensions instead of N = 64), then an
  uplink–downlink-duality fixed point that returns either a verified primal solution or a
  verified Farkas (dual) infeasibility certificate; in the rare undecided case it falls
  back to the SOCP. See docs/pnt-physics.md for the derivation.

Every method returns ``(ok, W)``; ``W`` (Ci, N) complex in √W (zeros when not ok).
Problems are normalised internally so that the noise is 1 and the power cap is 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

#: Relative tolerance of the verified solutions (SINR ≥ γ(1−TOL), ‖w‖² ≤ P(1+TOL)).
TOL = 1e-9
#: Feasibility tolerance of the fast method: "feasible" means SINR ≥ γ(1−FEAS_RTOL) is
#: reached with ‖w_c‖² ≤ P (returned beams meet the cap; SINR = γ unless the instance lies
#: within FEAS_RTOL of the boundary); "infeasible" is a proof (Farkas certificate) that
#: γ(1+FEAS_RTOL) cannot be reached. Only instances whose boundary lies within ±FEAS_RTOL
#: of γ can get either verdict.
FEAS_RTOL = 1e-3
#: Tolerance used to accept a cvxpy solution (solver accuracy is ~1e-8 relative).
SOLVER_TOL = 1e-5
#: Maximum fixed-point iterations of the fast method before it falls back to the SOCP.
FAST_MAX_ITER = 400
#: Iterations a warm start (directions and dual weights) gets before the test restarts from the
#: warm directions with uniform dual weights: near the boundary, dual weights carried over from
#: other thresholds can need hundreds of iterations to recover (docs/pnt-physics.md).
WARM_PATIENCE = 30
#: Exponent of the multiplicative dual-weight update μ ← μ (p/mean p)^e.
MU_EXPONENT = 1.0
#: Smallest relative dual weight of a beam whose power exceeds the cap.
MU_FLOOR = 1e-2
#: Iterates kept, and how often (in iterations) their best convex combination is tried.
HISTORY = 40
COMBINE_EVERY = 50
#: Gaussian randomisations of the SDR rank-one extraction (seed-math A.7).
SDR_RANDOMISATIONS = 50

METHODS = ("fast", "socp", "sdr")
#: Implementations of the fast method: "compiled" (numba kernels of :mod:`twin.pnt.kernels`,
#: the default) and "numpy" (the reference, one numpy call per step).
ENGINES = ("compiled", "numpy")


# ----------------------------------------------------------------------------- helpers
def _check(H_i, gamma, power_w, noise_w):
    H = np.asarray(H_i, dtype=complex)
    g = np.asarray(gamma, dtype=float)
    if H.ndim != 2:
        raise ValueError(f"H_i must have shape (Ci, N), got {H.shape}")
    if g.shape != (H.shape[0],):
        raise ValueError(f"gamma must have shape ({H.shape[0]},), got {g.shape}")
    if np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("gamma must be finite and > 0 (linear SINR thresholds)")
    if not (np.isfinite(power_w) and power_w > 0 and np.isfinite(noise_w) and noise_w > 0):
        raise ValueError(f"power_w and noise_w must be > 0, got {power_w}, {noise_w}")
    return H, g


def reduce_channels(H_i):
    """Orthonormal basis of the span of ``conj(h_c)`` and the reduced channels.

    H_i: (Ci, N). Returns Q (N, r) with orthonormal columns (r = min(Ci, N)) and
    Hr = H_i Q (Ci, r). Any beam component orthogonal to Q's columns is invisible to
    every UT (``h_c^T u = 0``) and only costs power, so restricting ``w_c = Q x_c`` loses
    nothing: the feasibility verdict and the achievable SINRs are unchanged.
    """
    H = np.asarray(H_i, dtype=complex)
    Q, _ = np.linalg.qr(H.conj().T)
    return Q, H @ Q


def normalised_sinr(Hn, X):
    """Eq. (2) with unit noise: Hn (K, r), X (r, K) beams as columns. Returns (K,)."""
    Y = Hn @ X
    G = Y.real**2 + Y.imag**2
    s = G.diagonal().copy()
    return s / (G.sum(axis=1) - s + 1.0)


def _verified(Hn, X, gamma, tol):
    if X is None or not np.all(np.isfinite(X)):
        return False
    ok_sinr = (normalised_sinr(Hn, X) >= gamma * (1 - tol)).all()
    return bool(ok_sinr and ((X.real**2 + X.imag**2).sum(axis=0) <= 1 + tol).all())


# ----------------------------------------------------------------------------- fast
@dataclass
class FastState:
    """Warm start of the fast method: unit beam directions V (r, K) and dual weights mu (K,)."""

    V: np.ndarray
    mu: np.ndarray


@dataclass
class FastStats:
    """Counters of the fast method (for benchmarks and docs)."""

    calls: int = 0
    iterations: int = 0
    fallbacks: int = 0
    single_user_rejections: int = 0
    farkas_checks: int = 0


STATS = FastStats()


def _eigh(S):
    lam, U, info = lapack.zheevd(S)
    if info != 0:  # pragma: no cover - LAPACK failure
        lam, U = np.linalg.eigh(S)
    return np.maximum(lam, 0.0), U


def _farkas_infeasible(lam, B2, q, gamma):
    """Dual certificate of infeasibility with SINR multipliers y = q (unit noise/power).

    The SDP dual of the feasibility problem is feasible with value Σ_c y_c − Σ_c μ_c
    for any y ≥ 0 and μ_c ≥ λ_max(y_c(1+1/γ_c) a_c a_c^H − S(y)), S(y) = Σ y a a^H.
    With S(q) = U diag(lam) U^H and B2 = |U^H A|², the smallest such μ_c ≥ 0 solves the
    secular equation g_c(μ) = Σ_k B2_kc/(lam_k+μ) = 1/ρ_c, ρ_c = q_c(1+1/γ_c).
    1/g_c is concave (g_c is a Stieltjes function), so Newton on 1/g_c from the left
    converges fast and stays left of the root; the result is then bumped up and
    verified (g_c(μ_c) ≤ 1/ρ_c) before it is used. Returns True iff Σ q > Σ μ, which
    proves the primal infeasible.
    """
    rho = q * (1.0 + 1.0 / gamma)
    active = rho > 0
    if not np.any(active):
        return False
    B = B2[:, active]
    tau = 1.0 / rho[active]

    def g_and_dg(m):
        d = lam[:, None] + m[None, :]
        d = np.where(d > 0, d, np.inf)
        return np.sum(B / d, axis=0), np.sum(B / d**2, axis=0)

    # m starts at a lower bound of every root (one term of g_c alone reaches τ_c there) and
    # only grows: once Σm ≥ Σq no certificate can come out of this y = q, so stop early.
    q_sum = q.sum() / (1 + 1e-9)
    m = np.maximum(np.max(B / tau[None, :] - lam[:, None], axis=0), 0.0)
    if m.sum() >= q_sum:
        return False
    g, dg = g_and_dg(m)
    need = g > tau
    for _ in range(50):
        if not np.any(need):
            break
        # Newton on h = 1/g (concave, increasing): m += (1/τ − 1/g) g² / g'
        step = np.where(need, (1.0 / tau - 1.0 / g) * g * g / np.where(dg > 0, dg, np.inf), 0.0)
        m = m + np.maximum(step, 0.0)
        if m.sum() >= q_sum:
            return False
        g, dg = g_and_dg(m)
        need = g > tau
        if np.all(step <= 1e-12 * np.maximum(m, 1e-300)):
            break
    m = np.where(g > tau, m * (1 + 1e-9) + 1e-300, m)
    g, _ = g_and_dg(m)
    if np.any(g > tau):
        return False  # not verified: no certificate this time
    return bool(q.sum() > m.sum() * (1 + 1e-9))


def fast_reduced(
    Hn,
    gamma,
    state: FastState | None = None,
    *,
    max_iter: int = FAST_MAX_ITER,
    engine: str = "compiled",
):
    """Fast exact feasibility on normalised reduced channels (unit noise and power cap).

    Hn: (K, r) reduced channels scaled by √(P/ε²); gamma: (K,) linear thresholds;
    state: warm start (directions and dual weights) or None (zero-forcing start);
    engine: "compiled" (numba, :mod:`twin.pnt.kernels`) or "numpy" (the reference): the
    same iteration, equal up to rounding (tests/pnt/test_kernels.py).
    Returns (verdict, X, state, iterations): verdict True (X (r, K) verified: SINR = γ,
    ‖x_c‖² ≤ 1), False (verified Farkas certificate or single-user bound), or None
    (undecided after max_iter; the caller falls back to the SOCP). A warm start gets
    WARM_PATIENCE iterations; still undecided, it restarts from the warm directions with
    uniform dual weights (μ = 1). A warm start that leads to directions unable to meet γ
    at any power is retried once from cold.

    Each iteration, for unit directions V: downlink powers p solve
    ``(diag(G_cc/γ_c) − offdiag G) p = 1`` (SINR = γ exactly), the dual uplink powers q
    solve the transposed system with noise μ; if ``0 ≤ p ≤ 1`` the primal is verified.
    Otherwise μ ← μ·p/mean(p) (moves weight to beams over the cap) and V ← MMSE
    directions ``(Σ q a a^H + μ_c I)^{-1} a_c`` (uplink–downlink duality with per-beam
    noise μ_c); a Farkas certificate with y = q is tried whenever Σq > Σμ.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    core = _fast_core_numpy if engine == "numpy" else _fast_core_compiled
    if (
        state is not None
        and state.V.shape == (Hn.shape[1], Hn.shape[0])
        and max_iter > WARM_PATIENCE
    ):
        verdict, X, new_state, n = core(Hn, gamma, state, WARM_PATIENCE)
        if (
            verdict is None and n == WARM_PATIENCE
        ):  # slow: the dual weights, not the directions, are stale
            verdict, X, new_state, m = core(
                Hn, gamma, FastState(state.V, np.ones(len(gamma))), max_iter - n
            )
            n += m
            new_state = new_state if verdict else state
    else:
        verdict, X, new_state, n = core(Hn, gamma, state, max_iter)
    if verdict is None and state is not None and n < max_iter:
        # the warm start led to directions that cannot meet γ at any power: restart cold
        verdict, X, cold_state, m = core(Hn, gamma, None, max_iter - n)
        n += m
        new_state = cold_state if verdict else state
    STATS.iterations += n
    return verdict, X, new_state, n


def cold_directions(Hn):
    """Unit start directions (r, K): zero forcing (Hn V = I) when K = r and Hn is invertible,
    else the matched filter conj(h_c)."""
    K, r = Hn.shape
    V = None
    if K == r:
        _, _, V, info = lapack.zgesv(Hn, np.eye(K, dtype=complex))
        if info != 0 or not np.all(np.isfinite(V)):
            V = None
    if V is None:
        V = Hn.conj().T.copy()
    return V / np.linalg.norm(V, axis=0)


def _fast_core_compiled(Hn, gamma, state, max_iter):
    """:func:`_fast_core_numpy` on the compiled kernel (:func:`twin.pnt.kernels.fast_iterations`);
    the combination certificate's LP runs here between two kernel calls."""
    from twin.pnt.kernels import (  # deferred: numba (0.5 s to import) only when a test runs
        COMBINE,
        FEASIBLE,
        INFEASIBLE,
        SINGLE_USER,
        fast_iterations,
    )

    K, r = Hn.shape
    STATS.calls += 1
    Hn = np.ascontiguousarray(Hn, dtype=complex)
    gamma = np.ascontiguousarray(gamma, dtype=float)
    if state is None or state.V.shape != (r, K):
        V, mu = np.ascontiguousarray(cold_directions(Hn)), np.ones(K)
    else:
        V, mu = np.array(state.V, dtype=complex, order="C"), np.array(state.mu, dtype=float)
    hist_V = np.empty((HISTORY, r, K), dtype=complex)
    hist_phase = np.empty((HISTORY, K), dtype=complex)
    hist_p = np.empty((HISTORY, K))
    p, q = np.empty(K), np.empty(K)
    start, n_hist, resume = 0, 0, False
    while True:
        code, n, n_hist, checks, X = fast_iterations(
            Hn, gamma, V, mu, start, max_iter, hist_V, hist_phase, hist_p, n_hist, resume, p, q,
            FEAS_RTOL, HISTORY, COMBINE_EVERY, MU_FLOOR,
        )  # fmt: skip
        STATS.farkas_checks += checks
        if code == FEASIBLE:
            return True, X, FastState(V, mu), n
        if code == SINGLE_USER:
            STATS.single_user_rejections += 1
            return False, None, state, 0
        if code == INFEASIBLE:
            return False, None, state, n
        if code != COMBINE:  # GIVE_UP, MAX_ITER
            return None, None, state, n
        X = combine_ring(Hn, gamma, hist_V, hist_phase, hist_p, n_hist)
        if X is not None:
            return True, X, FastState(V, mu), n
        start, resume = n, True


def combine_ring(Hn, gamma, hist_V, hist_phase, hist_p, n_hist):
    """:func:`combine_certificate` of the compiled kernel's ring buffers: hist_V (HISTORY, r,
    K) directions, hist_phase (HISTORY, K), hist_p (HISTORY, K) powers, n_hist iterates
    appended so far (the last min(n_hist, HISTORY) are used, oldest first). X (r, K) or None."""
    m = min(n_hist, HISTORY)
    order = [(n_hist - m + j) % HISTORY for j in range(m)]
    return combine_certificate(
        Hn,
        gamma,
        [hist_p[k].copy() for k in order],
        [hist_V[k] * (np.sqrt(hist_p[k]) * hist_phase[k]) for k in order],
    )


def _fast_core_numpy(Hn, gamma, state, max_iter):
    """One run of the fast iteration (see :func:`fast_reduced`); no statistics on iterations."""
    K, r = Hn.shape
    STATS.calls += 1
    norms2 = np.sum(np.abs(Hn) ** 2, axis=1)
    if np.any(gamma > norms2):
        STATS.single_user_rejections += 1
        return False, None, state, 0  # even an interference-free matched filter fails
    A = Hn.conj().T  # columns a_c: signal |a_c^H x|
    if state is None or state.V.shape != (r, K):
        V, mu = cold_directions(Hn), np.ones(K)
    else:
        V, mu = state.V.copy(), state.mu.copy()
    ones = np.ones(K)
    diag = np.diag_indices(K)
    hist_p, hist_V, hist_phase = [], [], []
    for it in range(max_iter):
        Y = Hn @ V  # Y[c, c'] = h_c^T v_c'
        G = Y.real**2 + Y.imag**2
        M = -G
        M[diag] = G.diagonal() / gamma
        lu, piv, p, info = lapack.dgesv(M, ones)
        if info != 0:
            return None, None, state, it + 1
        q = lapack.dgetrs(lu, piv, mu, trans=1)[0]
        p_max = p.max()
        p_ok = p.min() > 0
        if p_ok and p_max <= 1.0 + FEAS_RTOL:
            X = V * np.sqrt(p / max(1.0, p_max))
            if _verified(Hn, X, gamma, FEAS_RTOL):
                return True, X, FastState(V, mu), it + 1
        if not (p_ok and q.min() >= 0):
            return None, None, state, it + 1  # directions not jointly feasible: give up
        # keep the iterate for convex combinations: X_k = V √p, phase-aligned so that
        # h_c^T x_c > 0 (the phase of h_c^T v_c, Y's diagonal); built only when combined
        y = Y.diagonal()
        hist_V.append(V)
        hist_phase.append(y.conj() / np.abs(y))
        hist_p.append(p)
        if len(hist_p) > HISTORY:
            del hist_p[0], hist_V[0], hist_phase[0]
        if (it + 1) % COMBINE_EVERY == 0:
            hist_X = [Vk * (np.sqrt(pk) * ph) for Vk, pk, ph in zip(hist_V, hist_p, hist_phase)]
            X = combine_certificate(Hn, gamma, hist_p, hist_X)
            if X is not None:
                return True, X, FastState(V, mu), it + 1
        S = (A * q) @ Hn  # Σ q_c a_c a_c^H (Hn = A^H)
        lam, U = _eigh(S)
        C = U.conj().T @ A
        if q.sum() > mu.sum():
            STATS.farkas_checks += 1
            # certificate at γ(1+FEAS_RTOL): within the tolerance band either verdict is allowed
            if _farkas_infeasible(lam, C.real**2 + C.imag**2, q, gamma * (1.0 + FEAS_RTOL)):
                return False, None, state, it + 1
        ratio = p * (K / p.sum())  # p / mean(p)
        mu = mu * (ratio if MU_EXPONENT == 1.0 else ratio**MU_EXPONENT)
        # a beam over the cap must be able to regain weight quickly (a multiplicative
        # update alone needs ~log(1/μ_c) iterations when μ_c has decayed to ~0)
        mu = np.where(
            p > 1.0, np.maximum(mu, MU_FLOOR * mu.mean()), np.maximum(mu, 1e-12 * mu.max())
        )
        mu *= K / mu.sum()
        V = U @ (C / (lam[:, None] + mu))
        V = V / np.sqrt((V.real**2 + V.imag**2).sum(axis=0))
    return None, None, state, max_iter


def combine_certificate(Hn, gamma, hist_p, hist_X):
    """Primal certificate from a convex combination of past iterates, or None.

    Every iterate X_k meets SINR = γ with powers p_k and has h_c^T x_c real > 0, so it
    lies in the convex SOCP set {‖[h_c^T x_{c'}]_{c'≠c}, 1‖ ≤ h_c^T x_c/√γ_c}; hence
    Σ θ_k X_k meets SINR ≥ γ with powers ≤ Σ θ_k p_k (Jensen). The weights θ minimise
    max_c (Σ θ_k p_k)_c (a small LP, scipy HiGHS); the result is verified by eq. (2).
    """
    from scipy.optimize import linprog

    Pm = np.array(hist_p).T  # (K, m)
    K, m = Pm.shape
    # the LP's optimum is at least max_c min_k (Pm)_ck (every θ puts beam c at or above its
    # smallest power): skip the LP when that alone fails the test by more than 1e-4, far
    # beyond HiGHS's 1e-7 tolerance (28 of the 32 LPs on 6 replay drops; none succeeded)
    if Pm.min(axis=1).max() > 1.0 + FEAS_RTOL + 1e-4:
        return None
    res = linprog(
        np.r_[np.zeros(m), 1.0],
        A_ub=np.c_[Pm, -np.ones(K)],
        b_ub=np.zeros(K),
        A_eq=np.r_[np.ones(m), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    if res.status != 0 or res.x[-1] > 1.0 + FEAS_RTOL:
        return None
    theta = np.maximum(res.x[:m], 0.0)
    X = np.tensordot(theta / theta.sum(), np.array(hist_X), axes=1)
    # minimal powers for these directions (SINR = γ exactly); they are ≤ the combination's
    V = X / np.linalg.norm(X, axis=0)
    p = _powers_for_directions(Hn, V, gamma)
    if p is None or p.max() > 1.0 + FEAS_RTOL:
        return None
    X = V * np.sqrt(p / max(1.0, p.max()))
    return X if _verified(Hn, X, gamma, FEAS_RTOL) else None


# ----------------------------------------------------------------------------- socp
_SOCP_CACHE: dict = {}


def _socp_problem(K, r):
    import cvxpy as cp

    key = (K, r)
    if key not in _SOCP_CACHE:
        Hp = cp.Parameter((K, r), complex=True)
        Hs = cp.Parameter((K, r), complex=True)  # rows scaled by 1/√γ_c
        X = cp.Variable((r, K), complex=True)
        Y = cp.multiply(Hp @ X, 1.0 - np.eye(K))  # interference terms h_c^T x_c', c' ≠ c
        cons = [
            cp.imag(cp.diag(Hp @ X)) == 0,
            cp.SOC(
                cp.real(cp.diag(Hs @ X)),
                cp.hstack([cp.real(Y), cp.imag(Y), np.ones((K, 1))]),
                axis=1,
            ),
            cp.SOC(np.ones(K), cp.vstack([cp.real(X), cp.imag(X)]), axis=0),
        ]
        prob = cp.Problem(
            cp.Minimize(cp.sum_squares(cp.real(X)) + cp.sum_squares(cp.imag(X))), cons
        )
        _SOCP_CACHE[key] = (prob, Hp, Hs, X)
    return _SOCP_CACHE[key]


def socp_reduced(Hn, gamma):
    """Exact SOCP on normalised reduced channels (unit noise and cap), min total power.

    Returns (ok, X (r, K) or None). Clarabel first, SCS if Clarabel fails; a solution
    counts as feasible only if it meets the constraints within SOLVER_TOL.
    """
    import cvxpy as cp

    K, r = Hn.shape
    prob, Hp, Hs, X = _socp_problem(K, r)
    Hp.value = Hn
    Hs.value = Hn / np.sqrt(gamma)[:, None]
    for solver, opts in (("CLARABEL", {}), ("SCS", {"eps": 1e-8, "max_iters": 20000})):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore", UserWarning
                )  # "solution may be inaccurate": verified below
                prob.solve(solver=solver, **opts)
        except cp.error.SolverError:
            continue
        if prob.status == "infeasible":
            return False, None
        if prob.status in ("optimal", "optimal_inaccurate") and _verified(
            Hn, X.value, gamma, SOLVER_TOL
        ):
            return True, X.value
    return False, None


# ----------------------------------------------------------------------------- sdr
def _powers_for_directions(Hn, V, gamma):
    """Minimal per-beam powers (K,) meeting SINR = γ for unit directions V, or None."""
    G = np.abs(Hn @ V) ** 2
    M = -G
    M[np.diag_indices(len(gamma))] = np.diag(G) / gamma
    try:
        p = np.linalg.solve(M, np.ones(len(gamma)))
    except np.linalg.LinAlgError:
        return None
    return p if np.all(p > 0) else None


def sdr_full(An, gamma, *, power_equality: bool = True, rng=None):
    """Seed 002 eq. (20) at t = 1 on normalised full channels (unit noise and cap).

    An: (K, N) normalised channels (rows h_c √(P/ε²)); gamma (K,).
    Variables Hermitian ``Q_c ⪰ 0`` (N, N); constraints
    ``tr(R_c Q_c)/γ_c − Σ_{c'≠c} tr(R_c Q_c') ≥ 1`` with ``R_c = conj(h_c) h_c^T``, and
    ``tr Q_c = 1`` (``power_equality``) or ``≤ 1``; objective: minimum total leakage
    ``Σ_c Σ_{c'≠c} tr(R_{c'} Q_c)`` (favours rank one). Extraction: principal
    eigenvectors, then SDR_RANDOMISATIONS Gaussian draws ``Q_c^{1/2} ξ``; each candidate set
    of directions gets its minimal powers (SINR = γ) and is accepted if they are ≤ 1.
    Returns (sdp_feasible, ok, X (N, K) or None).
    """
    import cvxpy as cp

    K, N = An.shape
    Rm = [np.outer(An[c].conj(), An[c]) for c in range(K)]
    Qs = [cp.Variable((N, N), hermitian=True) for _ in range(K)]

    def tr(Rc, Qc):
        return cp.real(cp.sum(cp.multiply(Rc.T, Qc)))

    cons = [Q >> 0 for Q in Qs]
    for c in range(K):
        cons.append(
            tr(Rm[c], Qs[c]) / gamma[c] - sum(tr(Rm[c], Qs[j]) for j in range(K) if j != c) >= 1
        )
        cons.append(
            cp.real(cp.trace(Qs[c])) == 1 if power_equality else cp.real(cp.trace(Qs[c])) <= 1
        )
    leak = (
        sum(tr(Rm[j], Qs[c]) for c in range(K) for j in range(K) if j != c)
        if K > 1
        else cp.Constant(0.0)
    )
    prob = cp.Problem(cp.Minimize(leak), cons)
    status = None
    for solver in ("CLARABEL", "SCS"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore", UserWarning
                )  # inaccurate solutions are verified below
                prob.solve(solver=solver)
            status = prob.status
            break
        except (cp.error.SolverError, MemoryError):
            continue
    if status not in ("optimal", "optimal_inaccurate"):
        return False, False, None
    Qv = [0.5 * (Q.value + Q.value.conj().T) for Q in Qs]
    rng = rng if rng is not None else np.random.default_rng(0)
    eig = [np.linalg.eigh(Qc) for Qc in Qv]
    cands = [np.stack([U[:, -1] for _, U in eig], axis=1)]
    roots = [U * np.sqrt(np.maximum(lam, 0.0)) for lam, U in eig]
    for _ in range(SDR_RANDOMISATIONS):
        xi = (rng.normal(size=(K, N)) + 1j * rng.normal(size=(K, N))) / np.sqrt(2)
        cands.append(np.stack([roots[c] @ xi[c] for c in range(K)], axis=1))
    for V in cands:
        nrm = np.linalg.norm(V, axis=0)
        if np.any(nrm == 0):
            continue
        V = V / nrm
        p = _powers_for_directions(An, V, gamma)
        if p is not None and np.all(p <= 1 + 1e-3):
            X = V * np.sqrt(np.minimum(p, 1.0))
            if _verified(An, X, gamma, 1e-3):
                return True, True, X
    return True, False, None


# ----------------------------------------------------------------------------- public
def fill_power(H_i, W_i, power_w):
    """Raise every beam to exactly ‖w_c‖² = P without lowering any SINR (C4's "=" form).

    H_i: (Ci, N); W_i: (Ci, N) with ‖w_c‖² ≤ P; power_w: P in W. The added component of
    beam c lies in the null space of the other UTs' channels (exists when N ≥ Ci), so no
    interference changes; its phase is aligned with UT c's received signal, so UT c's
    signal does not fall. This is the constructive proof that the "≤" and "=" power
    forms give the same feasibility verdict when N ≥ Ci. Returns W (Ci, N).
    """
    H = np.asarray(H_i, dtype=complex)
    W = np.array(W_i, dtype=complex)
    K, N = H.shape
    if N < K:
        raise ValueError(f"fill_power needs N >= Ci (got N={N}, Ci={K})")
    for c in range(K):
        spare = power_w - np.vdot(W[c], W[c]).real
        if spare <= 0:
            continue
        others = np.delete(H, c, axis=0)
        if len(others):
            _, s, vh = np.linalg.svd(others)
            rank = int(np.sum(s > 1e-12 * s.max())) if s.size else 0
            null = vh[rank:].conj().T  # columns u with others @ u = 0
        else:
            null = np.eye(N, dtype=complex)
        own = H[c] @ null  # UT c's response to each null direction
        u = null @ own.conj() if np.linalg.norm(own) > 0 else null[:, 0]
        u = u / np.linalg.norm(u)
        sig = H[c] @ W[c]
        b = H[c] @ u
        phase = np.exp(1j * (np.angle(sig) - np.angle(b))) if abs(b) > 0 and abs(sig) > 0 else 1.0
        u = u * phase
        # solve ‖w + α u‖² = P for α ≥ 0
        bb = np.vdot(W[c], u).real
        alpha = -bb + np.sqrt(bb * bb + spare)
        W[c] = W[c] + alpha * u
    return W


def feasible(
    H_i, gamma, power_w, noise_w, method: str = "fast", *, power_equality: bool = False, rng=None
):
    """Is there W with SINR_c ≥ γ_c (eq. (2)) and ‖w_c‖² ≤ P for one satellite?

    H_i: (Ci, N) complex channels (rows h_c, UT receives h_c^T w); gamma: (Ci,) linear
    thresholds > 0; power_w: per-beam power P in W; noise_w: ε² in W; method: "fast"
    (default), "socp" or "sdr"; power_equality: only for "sdr", use tr Q_c = P (C4's
    equality form, seed-math A.7 [R]) instead of ≤ P; rng: Generator for the SDR
    randomisations. Returns (ok, W_i (Ci, N) complex √W, zeros when not ok). For "fast"
    and "socp" a feasible W meets SINR = γ (within FEAS_RTOL = 1e-3 for "fast", the SOCP's
    minimum-power point within SOLVER_TOL) and ‖w_c‖² ≤ P; use :func:`fill_power` to reach
    ‖w_c‖² = P. "fast" is exact up to the ±FEAS_RTOL band around the boundary.
    """
    H, g = _check(H_i, gamma, power_w, noise_w)
    K, N = H.shape
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    zero = np.zeros((K, N), dtype=complex)
    if K == 0:
        return True, zero
    scale = np.sqrt(power_w / noise_w)
    if method == "sdr":
        _, ok, X = sdr_full(H * scale, g, power_equality=power_equality, rng=rng)
        if not ok:
            return False, zero
        W = (X * np.sqrt(power_w)).T
        return True, fill_power(H, W, power_w) if power_equality else W
    Q, Hr = reduce_channels(H)
    Hn = Hr * scale
    if method == "fast":
        ok, X, _, _ = fast_reduced(Hn, g)
        if ok is None:
            STATS.fallbacks += 1
            ok, X = socp_reduced(Hn, g)
    else:
        ok, X = socp_reduced(Hn, g)
    if not ok:
        return False, zero
    return True, (Q @ X * np.sqrt(power_w)).T


__all__ = [
    "FastState",
    "METHODS",
    "STATS",
    "TOL",
    "ENGINES",
    "cold_directions",
    "combine_certificate",
    "combine_ring",
    "FEAS_RTOL",
    "WARM_PATIENCE",
    "fast_reduced",
    "feasible",
    "fill_power",
    "normalised_sinr",
    "reduce_channels",
    "sdr_full",
    "socp_reduced",
]
