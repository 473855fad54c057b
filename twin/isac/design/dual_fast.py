"""The weak-duality lower bound of :func:`twin.isac.design.dual_bound.dual_lower_bound` (seed-math
B.6; derivation in docs/isac-fast-design.md, "Dual certificate") computed with fewer and smaller
dense operations, for the compiled engine (:mod:`twin.isac.design.fast_many`). Same bound, same
multipliers, same terms; only the linear algebra differs:

* the stationarity multipliers (non-negative least squares over the 2 NK cols real rows) are
  solved on the (M + K) x (M + K) triangular factor of a QR of the scaled rows (the same
  argmin: ||A x - b||^2 = ||R x - Q^T b||^2 + const; Q^T b is the last column of the QR of
  [A, b]) by scipy's NNLS, instead of BVLS on the tall system;
* sum_i lambda_i gamma_i h_i h_i^H is the product H^T diag(lambda gamma) H^*;
* the M + 1 smallest eigenvalues: C_R = U diag(d) U^H once (eigh), and each
  C_m = C_R - rho_m h_m h_m^H (rho_m = (1 + gamma_m) lambda_m >= 0) is a rank-one downdate whose
  smallest eigenvalue is the root in [d_1 - rho_m ||h_m||^2, d_1] of the secular equation
  1 = rho_m sum_j |u_j^H h_m|^2 / (d_j - e) (Golub, SIAM Review 15 (1973), Sec. 5; Golub &
  Van Loan, Matrix Computations, 4th ed., Sec. 8.4.3), found by bisection (or d_1 itself when the
  equation has no root there), instead of M + 1 full eigenvalue problems.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.optimize import nnls

from twin.isac.design.dual_bound import DualCertificate, certificate, crb_gradient_matrix

__all__ = ["fast_lower_bound", "stationarity_multipliers_qr", "downdated_min_eigenvalues"]

#: bisection steps of the secular equation (the bracket shrinks by 2^-64: below float resolution)
BISECTIONS = 64


def stationarity_multipliers_qr(G, H, gamma, V, L, K: int, N: int):
    """(lambda (M,), mu (K,)) >= 0 of dual_bound.stationarity_multipliers (same least-squares
    problem, same column scaling) through a QR of the stacked real rows and NNLS on the
    triangular factor. G (NK, NK); H (M, NK); gamma (M,); V (NK, M); L (NK, r)."""
    M = H.shape[0]
    Z = np.concatenate([V, L], axis=1)
    cols = Z.shape[1]
    proj = H.conj() @ Z  # (M, cols): h_i^H z_b
    coef = np.repeat(gamma[:, None], cols, axis=1)
    coef[np.arange(M), np.arange(M)] = -1.0
    Tl = H[:, :, None] * (coef * proj)[:, None, :]  # (M, NK, cols)
    Tm = np.zeros((K, K * N, cols), dtype=complex)
    for k in range(K):
        Tm[k, k * N : (k + 1) * N] = Z[k * N : (k + 1) * N]
    A = np.concatenate([Tl, Tm], axis=0).reshape(M + K, -1).T  # (NK cols, M + K)
    b = -(G @ Z).ravel()
    Ar = np.concatenate([A.real, A.imag], axis=0)
    br = np.concatenate([b.real, b.imag])
    nrm = np.linalg.norm(Ar, axis=0)
    nrm = np.where(nrm > 0, nrm, 1.0)
    p = M + K
    Rb = np.linalg.qr(np.concatenate([Ar / nrm, br[:, None]], axis=1), mode="r")  # [R, Q^T b]
    x, _ = nnls(Rb[:p, :p], Rb[:p, p])
    x = x / nrm
    return x[:M], x[M:]


def downdated_min_eigenvalues(d, U, Hrows, rho) -> np.ndarray:
    """Smallest eigenvalue (M,) of C_m = U diag(d) U^H - rho_m h_m h_m^H for each row h_m of
    Hrows (M, n), rho (M,) >= 0; d (n,) ascending eigenvalues, U (n, n) eigenvectors (module
    docstring: secular equation, bisection)."""
    w = np.abs(U.conj().T @ Hrows.T).T ** 2  # (M, n): |u_j^H h_m|^2
    d1 = d[0]
    out = np.full(rho.shape, d1, dtype=float)
    on = rho > 0
    if not np.any(on):
        return out
    out[on] = _bisect_secular(d, w[on], rho[on], BISECTIONS)
    return out


@numba.njit(cache=True)
def _bisect_secular(d, w, rho, steps):
    """Roots (M,) of 1 = rho_m sum_j w_mj / (d_j - e) in [d_1 - rho_m sum_j w_mj, d_1] by
    bisection (d_1 itself when there is none below d_1); d (n,) ascending, w (M, n) >= 0."""
    M, n = w.shape
    d1 = d[0]
    out = np.empty(M)
    for m in range(M):
        lo = d1 - rho[m] * np.sum(w[m])  # Weyl: lambda_min >= d_1 - rho ||h||^2
        hi = d1
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            s = 0.0
            for j in range(n):
                s += w[m, j] / (d[j] - mid)
            if 1.0 - rho[m] * s > 0:  # the secular function decreases in e below d_1
                lo = mid
            else:
                hi = mid
        out[m] = 0.5 * (lo + hi)
    return out


def fast_lower_bound(ops, H, comm_noise, eta, p_max_w, V, L) -> DualCertificate:
    """dual_bound.dual_lower_bound(ops, H, comm_noise, eta, p_max_w, V, L) with the stationarity
    multipliers (module docstring for the linear algebra). Shapes and units as there."""
    K, N = ops.K, ops.N
    M = H.shape[0]
    gamma = 2.0 ** np.asarray(eta, dtype=float) - 1.0
    sig2 = np.broadcast_to(np.asarray(comm_noise, dtype=float), (M,))
    p_max = np.broadcast_to(np.asarray(p_max_w, dtype=float), (K,))
    Z = np.concatenate([V, L], axis=1)
    f0, G = crb_gradient_matrix(ops, Z)
    lam, mu = stationarity_multipliers_qr(G, H, gamma, V, L, K, N)
    lam = np.maximum(lam, 0.0)
    mu = np.maximum(mu, 0.0)
    base = G + np.diag(np.repeat(mu, N)) + (H.T * (lam * gamma)) @ H.conj()
    d, U = np.linalg.eigh(base)
    eig_m = downdated_min_eigenvalues(d, U, H, (1.0 + gamma) * lam)
    min_eig = float(min(d[0], np.min(eig_m)))
    return certificate(f0, G, Z, lam, mu, gamma, sig2, p_max, min_eig)
