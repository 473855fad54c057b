"""Compiled (numba) kernels of DSTA's fast feasibility test (seed 002, seed-math A.7).

The same fixed point as :func:`twin.pnt.feasibility.fast_reduced` on the reference numpy path
(docs/pnt-physics.md), compiled so that a test of one satellite (K ≤ 12 UTs, r ≤ 12 reduced
dimensions) costs microseconds of arithmetic instead of ~30 numpy calls per iteration:

* :func:`fast_iterations` — the iteration itself: downlink powers ``p`` and dual uplink
  powers ``q`` from one LU of ``diag(G_cc/γ_c) − offdiag G`` (``p`` with ``1``, ``q`` with
  ``μ`` on the transposed system), the verified primal exit, the Farkas certificate
  (:func:`farkas_infeasible`, only when ``Σq > Σμ``), the dual-weight update and the MMSE
  directions ``(Σ q a a^H + μ_c I)^{-1} a_c``;
* the convex-combination certificate needs a small LP (scipy HiGHS), so the kernel stops at
  every COMBINE_EVERY-th iteration (code ``COMBINE``) with its iterate history in ring
  buffers and resumes after it (``resume=True``) if the combination fails.

The arithmetic is the reference's; only the order of floating-point operations differs (own
loops instead of BLAS, Cholesky solves per beam instead of one eigendecomposition when no
certificate is tried), so iterates agree to rounding and the verdicts agree except for an
instance whose boundary lies within rounding of a decision; tests/pnt/test_kernels.py
checks verdicts, iteration counts and solutions against the numpy path.
Shapes: ``Hn`` (K, r) complex, ``V`` (r, K) complex unit columns, ``gamma``/``mu``/``p``/``q``
(K,) float; all in the normalised units of the fast test (unit noise, unit power cap).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Exit codes of :func:`fast_iterations`.
GIVE_UP, FEASIBLE, INFEASIBLE, COMBINE, MAX_ITER, SINGLE_USER = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def verified(Hn, X, gamma, tol):
    """SINR_c ≥ γ_c(1−tol) (eq. (2), unit noise) and ‖x_c‖² ≤ 1+tol for every beam; X (r, K)."""
    K, r = Hn.shape
    for c in range(K):
        pw = 0.0
        for j in range(r):
            pw += X[j, c].real ** 2 + X[j, c].imag ** 2
        if not (pw <= 1 + tol):  # also False for nan
            return False
    for c in range(K):
        if not (normalised_sinr_of(Hn, X, c) >= gamma[c] * (1 - tol)):
            return False
    return True


@njit(cache=True)
def normalised_sinr_of(Hn, X, c):
    """Eq. (2) of UT c with unit noise (``feasibility.normalised_sinr``): Hn (K, r), X (r, K)."""
    K, r = Hn.shape
    tot = 0.0
    sig = 0.0
    for d in range(K):
        y = 0j
        for j in range(r):
            y += Hn[c, j] * X[j, d]
        g = y.real**2 + y.imag**2
        tot += g
        if d == c:
            sig = g
    return sig / (tot - sig + 1.0)


@njit(cache=True)
def lu_factor(M):
    """In-place LU with partial pivoting of M (n, n) (dgetrf's algorithm); (row order, ok)."""
    n = M.shape[0]
    piv = np.arange(n)
    for k in range(n):
        p = k
        big = abs(M[k, k])
        for i in range(k + 1, n):
            if abs(M[i, k]) > big:
                big = abs(M[i, k])
                p = i
        if big == 0.0:
            return piv, False
        if p != k:
            for j in range(n):
                t = M[k, j]
                M[k, j] = M[p, j]
                M[p, j] = t
            t2 = piv[k]
            piv[k] = piv[p]
            piv[p] = t2
        inv = 1.0 / M[k, k]
        for i in range(k + 1, n):
            M[i, k] *= inv
            f = M[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    M[i, j] -= f * M[k, j]
    return piv, True


@njit(cache=True)
def lu_solve(LU, piv, b, x):
    """x = M^{-1} b from :func:`lu_factor`'s factors."""
    n = LU.shape[0]
    for i in range(n):
        x[i] = b[piv[i]]
    for i in range(n):
        s = x[i]
        for j in range(i):
            s -= LU[i, j] * x[j]
        x[i] = s
    for i in range(n - 1, -1, -1):
        s = x[i]
        for j in range(i + 1, n):
            s -= LU[i, j] * x[j]
        x[i] = s / LU[i, i]


@njit(cache=True)
def _lu_solve_t(LU, piv, b, x):
    """x = M^{-T} b from :func:`lu_factor`'s factors (M = P^T L U, so M^T = U^T L^T P)."""
    n = LU.shape[0]
    z = np.empty(n)
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= LU[j, i] * z[j]
        z[i] = s / LU[i, i]
    for i in range(n - 1, -1, -1):
        s = z[i]
        for j in range(i + 1, n):
            s -= LU[j, i] * z[j]
        z[i] = s
    for i in range(n):
        x[piv[i]] = z[i]


@njit(cache=True)
def _secular(lam, B, m, g, dg):
    """g_c(m_c) = Σ_k B_kc/(λ_k+m_c) and its derivative's magnitude (terms with λ+m ≤ 0 dropped)."""
    r, n = B.shape
    for c in range(n):
        s = 0.0
        s2 = 0.0
        for k in range(r):
            d = lam[k] + m[c]
            if d > 0:
                s += B[k, c] / d
                s2 += B[k, c] / (d * d)
        g[c] = s
        dg[c] = s2


@njit(cache=True)
def farkas_infeasible(lam, B2, q, gamma):
    """Compiled :func:`twin.pnt.feasibility._farkas_infeasible` (same steps, same bumps).

    lam (r,) eigenvalues of S(q) clipped at 0; B2 (r, K) = |U^H A|²; q (K,) ≥ 0; gamma (K,).
    True iff the dual point y = q, μ (secular-equation roots, verified) proves infeasibility.
    """
    r, K = B2.shape
    n = 0
    for c in range(K):
        if q[c] * (1.0 + 1.0 / gamma[c]) > 0:
            n += 1
    if n == 0:
        return False
    B = np.empty((r, n))
    tau = np.empty(n)
    j = 0
    for c in range(K):
        rho = q[c] * (1.0 + 1.0 / gamma[c])
        if rho > 0:
            tau[j] = 1.0 / rho
            for k in range(r):
                B[k, j] = B2[k, c]
            j += 1
    q_sum = q.sum() / (1 + 1e-9)
    m = np.empty(n)
    for c in range(n):
        best = -np.inf
        for k in range(r):
            best = max(best, B[k, c] / tau[c] - lam[k])
        m[c] = max(best, 0.0)
    if m.sum() >= q_sum:
        return False
    g = np.empty(n)
    dg = np.empty(n)
    step = np.empty(n)
    _secular(lam, B, m, g, dg)
    for _ in range(50):
        need = False
        for c in range(n):
            need = need or g[c] > tau[c]
        if not need:
            break
        for c in range(n):
            step[c] = 0.0
            if g[c] > tau[c]:
                d = dg[c] if dg[c] > 0 else np.inf
                step[c] = (1.0 / tau[c] - 1.0 / g[c]) * g[c] * g[c] / d
            m[c] += max(step[c], 0.0)
        if m.sum() >= q_sum:
            return False
        _secular(lam, B, m, g, dg)
        small = True
        for c in range(n):
            small = small and step[c] <= 1e-12 * max(m[c], 1e-300)
        if small:
            break
    for c in range(n):
        if g[c] > tau[c]:
            m[c] = m[c] * (1 + 1e-9) + 1e-300
    _secular(lam, B, m, g, dg)
    for c in range(n):
        if g[c] > tau[c]:
            return False
    return q.sum() > m.sum() * (1 + 1e-9)


@njit(cache=True, fastmath={"reassoc", "contract", "arcp", "nsz"})
def _shifted_solves(S, A, mu, V):
    """V[:, c] = (S + μ_c I)^{-1} A[:, c] by one Cholesky per beam; S (r, r) Hermitian ⪰ 0.

    In real and imaginary parts (a third faster than complex arithmetic here); fastmath
    without the no-nan/no-inf flags: reassociation only, so results agree to rounding.
    """
    r, K = A.shape
    Sr, Si = S.real.copy(), S.imag.copy()
    Ar, Ai = A.real.copy(), A.imag.copy()
    Lr, Li = np.zeros((r, r)), np.zeros((r, r))
    dinv = np.empty(r)
    yr, yi, xr, xi = np.empty(r), np.empty(r), np.empty(r), np.empty(r)
    for c in range(K):
        for j in range(r):  # S + μ_c I = L L^H
            s = Sr[j, j] + mu[c]
            for k in range(j):
                s -= Lr[j, k] * Lr[j, k] + Li[j, k] * Li[j, k]
            d = np.sqrt(s)
            dinv[j] = 1.0 / d
            for i in range(j + 1, r):
                zr, zi = Sr[i, j], Si[i, j]
                for k in range(j):  # − L[i, k] conj(L[j, k])
                    zr -= Lr[i, k] * Lr[j, k] + Li[i, k] * Li[j, k]
                    zi -= Li[i, k] * Lr[j, k] - Lr[i, k] * Li[j, k]
                Lr[i, j], Li[i, j] = zr / d, zi / d
        for i in range(r):  # L y = a_c
            zr, zi = Ar[i, c], Ai[i, c]
            for k in range(i):
                zr -= Lr[i, k] * yr[k] - Li[i, k] * yi[k]
                zi -= Lr[i, k] * yi[k] + Li[i, k] * yr[k]
            yr[i], yi[i] = zr * dinv[i], zi * dinv[i]
        for i in range(r - 1, -1, -1):  # L^H x = y
            zr, zi = yr[i], yi[i]
            for k in range(i + 1, r):  # − conj(L[k, i]) x[k]
                zr -= Lr[k, i] * xr[k] + Li[k, i] * xi[k]
                zi -= Lr[k, i] * xi[k] - Li[k, i] * xr[k]
            xr[i], xi[i] = zr * dinv[i], zi * dinv[i]
        for i in range(r):
            V[i, c] = complex(xr[i], xi[i])


@njit(cache=True)
def fast_iterations(
    Hn,
    gamma,
    V,
    mu,
    start,
    max_iter,
    hist_V,
    hist_phase,
    hist_p,
    n_hist,
    resume,
    p,
    q,
    feas_rtol,
    history,
    combine_every,
    mu_floor,
):
    """Iterations ``start .. max_iter-1`` of the fast test; V, mu, p, q and the history updated in place.

    Hn (K, r); gamma (K,); V (r, K) unit directions; mu (K,) dual weights; hist_V
    (history, r, K), hist_phase (history, K), hist_p (history, K) ring buffers of the
    iterates (n_hist appended so far); resume: skip the first half of iteration ``start``
    (after a failed combination: p and q hold its powers). Returns
    (code, iterations counted, n_hist, farkas checks, X (r, K)), code one of GIVE_UP (p
    or q left the positive orthant, or a singular system), FEASIBLE (X verified),
    INFEASIBLE (certificate at γ(1+feas_rtol)), COMBINE (iteration ``iterations`` asks for
    the combination certificate), MAX_ITER, SINGLE_USER (some γ_c > ‖h_c‖²).
    """
    K, r = Hn.shape
    X = np.zeros((r, K), dtype=np.complex128)
    for c in range(K):
        nrm2 = 0.0
        for j in range(r):
            nrm2 += Hn[c, j].real ** 2 + Hn[c, j].imag ** 2
        if gamma[c] > nrm2:
            return SINGLE_USER, 0, n_hist, 0, X
    A = np.conj(Hn.T).copy()  # columns a_c
    ones = np.ones(K)
    checks = 0
    M = np.empty((K, K))
    Y = np.empty((K, K), dtype=np.complex128)
    S = np.empty((r, r), dtype=np.complex128)
    cert_gamma = gamma * (1.0 + feas_rtol)
    for it in range(start, max_iter):
        if not resume:
            for c in range(K):
                for d in range(K):
                    y = 0j
                    for j in range(r):
                        y += Hn[c, j] * V[j, d]
                    Y[c, d] = y
                    M[c, d] = -(y.real**2 + y.imag**2)
            for c in range(K):
                M[c, c] = -M[c, c] / gamma[c]
            piv, ok = lu_factor(M)
            if not ok:
                return GIVE_UP, it + 1, n_hist, checks, X
            lu_solve(M, piv, ones, p)
            _lu_solve_t(M, piv, mu, q)
            p_max = p.max()
            p_ok = p.min() > 0
            if p_ok and p_max <= 1.0 + feas_rtol:
                scale = max(1.0, p_max)
                for c in range(K):
                    f = np.sqrt(p[c] / scale)
                    for j in range(r):
                        X[j, c] = V[j, c] * f
                if verified(Hn, X, gamma, feas_rtol):
                    return FEASIBLE, it + 1, n_hist, checks, X
            if not (p_ok and q.min() >= 0):
                return GIVE_UP, it + 1, n_hist, checks, X
            slot = n_hist % history
            hist_V[slot] = V
            for c in range(K):
                hist_phase[slot, c] = np.conj(Y[c, c]) / abs(Y[c, c])
                hist_p[slot, c] = p[c]
            n_hist += 1
            if (it + 1) % combine_every == 0:
                return COMBINE, it + 1, n_hist, checks, X
        resume = False
        for a in range(r):  # S = Σ_c q_c a_c a_c^H
            for b in range(a + 1):
                s = 0j
                for c in range(K):
                    s += A[a, c] * q[c] * Hn[c, b]
                S[a, b] = s
                S[b, a] = np.conj(s)
        certify = q.sum() > mu.sum()
        if certify:
            lam, U = np.linalg.eigh(S)
            for k in range(r):
                lam[k] = max(lam[k], 0.0)
            C = np.conj(U.T) @ A
            checks += 1
            if farkas_infeasible(lam, C.real**2 + C.imag**2, q, cert_gamma):
                return INFEASIBLE, it + 1, n_hist, checks, X
        psum = p.sum()
        for c in range(K):
            mu[c] = mu[c] * (p[c] * (K / psum))  # μ ← μ p/mean(p)
        mu_mean = mu.mean()
        mu_max = mu.max()
        for c in range(K):
            if p[c] > 1.0:
                mu[c] = max(mu[c], mu_floor * mu_mean)
            else:
                mu[c] = max(mu[c], 1e-12 * mu_max)
        total = mu.sum()
        for c in range(K):
            mu[c] *= K / total
        if certify:  # the eigendecomposition is at hand: V = U (C / (λ + μ_c))
            for c in range(K):
                for k in range(r):
                    C[k, c] = C[k, c] / (lam[k] + mu[c])
            V[:, :] = U @ C
        else:
            _shifted_solves(S, A, mu, V)
        for c in range(K):
            nrm = 0.0
            for j in range(r):
                nrm += V[j, c].real ** 2 + V[j, c].imag ** 2
            nrm = np.sqrt(nrm)
            for j in range(r):
                V[j, c] = V[j, c] / nrm
    return MAX_ITER, max_iter, n_hist, checks, X


__all__ = [
    "COMBINE",
    "FEASIBLE",
    "GIVE_UP",
    "INFEASIBLE",
    "MAX_ITER",
    "SINGLE_USER",
    "farkas_infeasible",
    "fast_iterations",
    "lu_factor",
    "lu_solve",
    "verified",
]
