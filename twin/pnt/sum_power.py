"""SINR feasibility of one satellite under a total (sum) power constraint (seed 002 reading).

Question, for one satellite with normalised reduced channels ``Hn`` (K, r) (rows ``h_c``,
the UT receives ``h_c^T x``; noise 1 and the per-beam power P scaled to 1, as in
:func:`twin.pnt.feasibility.fast_reduced`) and thresholds ``γ`` (K,): is there ``X``
(r, K) with

    SINR_c = |h_c^T x_c|² / (Σ_{c'≠c} |h_c^T x_{c'}|² + 1) ≥ γ_c  and  Σ_c ‖x_c‖² ≤ budget ?

This is the total-power reading of DSTA's power constraint: seed 002's own ZF baseline
(eq. (33)) normalises the beams of a satellite to a total of ``|C_i| P``
(`twin.pnt.beamforming.zf_beams`), and at 20 dBW its Table III has DSTA below SCBWI, which
per-beam power forbids (SCBWI is then a per-link upper bound; docs/pnt-reproduction.md).

Method (uplink-downlink duality, Rashid-Farrokhi et al. 1998; Schubert & Boche 2004): the
minimum total downlink power that meets ``γ`` equals the minimum total uplink power with
the same unit noise, whose powers ``q`` are the least fixed point of the standard
interference function

    q_c = γ_c / ((1 + γ_c) g_c^H (I + Σ_k q_k g_k g_k^H)^{-1} g_c),   g_c = conj(h_c).

Iterating from q = 0 increases q monotonically towards that fixed point (Yates 1995), so
an iterate with ``Σ q > budget`` proves infeasibility; a converged ``q`` gives the MMSE
directions, and the downlink powers ``p`` solve ``(diag(G_cc/γ_c) − offdiag G) p = 1``
(SINR = γ exactly), with ``Σ p = Σ q``. The returned solution is verified (SINR and
total power) before "feasible" is reported.
"""

from __future__ import annotations

import numpy as np

#: Relative tolerance: "feasible" = SINR ≥ γ(1 − TOL) within budget·(1 + TOL);
#: "infeasible" = the least total power exceeds budget·(1 + TOL).
TOL = 1e-3
#: Fixed-point iterations before giving up (verdict "infeasible", see `sum_power_feasible`).
MAX_ITER = 2000
#: Relative change of q below which the fixed point counts as converged.
CONV_RTOL = 1e-7


#: Check the downlink solution of the current directions every this many iterations.
CHECK_EVERY = 1
#: The contraction ratio ρ of successive steps counts as settled when it changes by less
#: than this between iterations (rising by up to 1e-3, falling by at most 1e-6: a falling
#: ρ makes the geometric limit an overestimate); the limit then decides infeasibility.
RHO_STABLE = 1e-3
RHO_FALL = 1e-6
#: Fixed-point iterations run so far (for benchmarks and docs).
STATS = {"iterations": 0, "extrapolated": 0}


def sum_power_feasible(Hn, gamma, budget: float, *, q0=None, max_iter: int = MAX_ITER):
    """Feasibility of thresholds ``gamma`` under a total power ``budget`` (normalised units).

    Hn: (K, r) complex reduced channels scaled by √(P/ε²) (unit noise, unit per-beam
    power); gamma: (K,) linear thresholds > 0; budget: total power in units of P (e.g. K).
    q0: optional uplink powers (K,) to start from instead of 0; they must lie below the
    least fixed point for `gamma` (e.g. the `q` returned for thresholds <= `gamma`), so
    the iteration still rises monotonically and an infeasible verdict is still a proof.
    Returns (ok, X, q): ok True with X (r, K) beams as columns (SINR_c = γ_c, Σ‖x_c‖² ≤
    budget(1+TOL)) and q the last uplink iterate; ok False with X and q None when the
    least total power exceeds the budget, or when the iteration has not found beams in
    `max_iter` steps (only within a hair of the boundary: the verdict is then
    conservative). Each iteration first checks the downlink beams of the current MMSE
    directions, so a feasible instance usually stops long before convergence.
    """
    Hn = np.asarray(Hn, dtype=complex)
    g = np.asarray(gamma, dtype=float)
    K, r = Hn.shape
    if g.shape != (K,) or np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError(f"gamma must be ({K},) finite and > 0")
    if not budget > 0:
        raise ValueError(f"budget must be > 0, got {budget}")
    Gc = Hn.conj()  # rows g_c^T = conj(h_c)
    eye = np.eye(r)
    q = np.zeros(K) if q0 is None else np.array(q0, dtype=float)
    step_prev, rho_prev = None, -1.0
    for n in range(max_iter):
        S = eye + (Gc.T * q) @ Hn  # I + Σ q_k g_k g_k^H, (r, r) Hermitian
        U = np.linalg.solve(S, Gc.T)  # (r, K): MMSE directions S^{-1} g_c
        d = np.einsum("kr,rk->k", Hn, U).real  # g_c^H S^{-1} g_c
        if n % CHECK_EVERY == 0:
            X = _downlink(Hn, U, g, budget)
            if X is not None:
                STATS["iterations"] += n + 1
                return True, X, q
        q_new = g / ((1.0 + g) * d)
        step = q_new - q
        if step_prev is not None:
            # geometric tail of the monotone iteration: limit ≈ q_new + step ρ/(1 − ρ)
            den = float(step_prev.sum())
            rho = float(step.sum()) / den if den > 0 else 0.0
            # only while ρ does not fall (a falling ρ overestimates the limit)
            if 0.0 < rho < 1.0 and -RHO_FALL < rho - rho_prev < RHO_STABLE:
                limit = q_new.sum() + step.sum() * rho / (1.0 - rho)
                if limit > budget * (1.0 + TOL):
                    STATS["iterations"] += n + 1
                    STATS["extrapolated"] += 1
                    return False, None, None
            rho_prev = rho
        step_prev = step
        if q_new.sum() > budget * (1.0 + TOL):
            STATS["iterations"] += n + 1
            return False, None, None
        if np.all(np.abs(q_new - q) <= CONV_RTOL * q_new):
            q = q_new
            break
        q = q_new
    STATS["iterations"] += n + 1
    S = eye + (Gc.T * q) @ Hn
    X = _downlink(Hn, np.linalg.solve(S, Gc.T), g, budget)
    return (X is not None), X, (q if X is not None else None)


def _downlink(Hn, U, g, budget):
    """Downlink beams (r, K) with SINR = γ along the directions U (r, K), or None when that
    needs negative powers or more than the budget (verified)."""
    K = len(g)
    U = U / np.linalg.norm(U, axis=0, keepdims=True)
    Y = Hn @ U  # Y[c, k] = h_c^T u_k
    G = Y.real**2 + Y.imag**2
    A = -G
    A[np.diag_indices(K)] = G.diagonal() / g
    try:
        p = np.linalg.solve(A, np.ones(K))
    except np.linalg.LinAlgError:
        return None
    if np.any(p < 0) or p.sum() > budget * (1.0 + TOL):
        return None
    X = U * np.sqrt(p)
    Yx = Hn @ X
    Gx = Yx.real**2 + Yx.imag**2
    sig = Gx.diagonal()
    if np.any(sig / (Gx.sum(axis=1) - sig + 1.0) < g * (1.0 - TOL)):
        return None
    return X


__all__ = ["MAX_ITER", "TOL", "sum_power_feasible"]
