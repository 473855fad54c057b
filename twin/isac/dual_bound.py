"""Cheap weak-duality lower bound on the SDR optimum of seed 000 (33) (seed-math B.6), for a
given feasible design: the certificate of :func:`twin.isac.fast_design.fast_design` without an SDP
solve (derivation in docs/isac-fast-design.md, "Dual certificate").

For the design X0 = sum_m w_m w_m^H + R (transmit covariance, NK x NK, W):

* f(X) = tr CRB(X) = tr F_p(X)^{-1} is convex in X, so f(X) >= f(X0) + <G, X - X0> for every X,
  with G = grad f(X0) (Hermitian NK x NK, m^2/W; <A, B> = Re tr(A B)).
* For multipliers lambda (M,) >= 0 of the linear SINR constraints
  tr(H_i W_i) >= gamma_i (sum_{m != i} tr(H_i W_m) + tr(H_i R) + sigma_i^2) and mu (K,) >= 0 of the
  per-satellite powers tr(Lambda_k X Lambda_k^T) <= P_k, with
  C_m = G + D_mu - lambda_m H_m + sum_{i != m} lambda_i gamma_i H_i (beam m) and
  C_R = G + D_mu + sum_i lambda_i gamma_i H_i (sensing), D_mu = blockdiag(mu_k I_N):

      SDR optimum >= f(X0) - <G, X0> - sum_k mu_k P_k + sum_i lambda_i gamma_i sigma_i^2
                     + P_tot min(0, min_b lambda_min(C_b)),      P_tot = sum_k P_k.

  (The last term makes it valid for ANY lambda, mu >= 0: sum_b <C_b, X_b> >= min_b lambda_min(C_b)
  * tr X and tr X <= P_tot on the feasible set.)
* Multipliers: the non-negative least-squares solution of the factor stationarity
  C_m w_m = 0, C_R L = 0 at the design (L the sensing factor, R = L L^H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

__all__ = ["DualCertificate", "crb_gradient_matrix", "dual_lower_bound", "optimise_multipliers",
           "stationarity_multipliers"]


@dataclass
class DualCertificate:
    """Result of :func:`dual_lower_bound`.

    bound_m2: lower bound on the SDR optimum tr CRB* (m^2; may be <= 0 for poor multipliers, then
    useless); bound_m = sqrt(max(bound_m2, 0)); crb_m2 f(X0) of the design; gap = sqrt(crb_m2 /
    bound_m2) - 1 (RCRB relative to sqrt(bound), inf when bound <= 0); lam (M,) (1/(W |h|^2) units
    of the SINR rows), mu (K,) m^2/W multipliers; min_eig min_b lambda_min(C_b) (m^2/W);
    parts: dict of the bound's terms (m^2)."""

    bound_m2: float
    crb_m2: float
    lam: np.ndarray
    mu: np.ndarray
    min_eig: float
    parts: dict

    @property
    def bound_m(self) -> float:
        return float(np.sqrt(max(self.bound_m2, 0.0)))

    @property
    def gap(self) -> float:
        return float(np.sqrt(self.crb_m2 / self.bound_m2) - 1.0) if self.bound_m2 > 0 else float("inf")


def crb_gradient_matrix(ops, Z) -> tuple[float, np.ndarray]:
    """(f, G): tr CRB f (m^2) of R_x = Z Z^H and its gradient G = df/dR_x (NK, NK) Hermitian, m^2/W,
    so df = Re tr(G dR_x) (seed 000 eqs. (20), (23) through the Gram of :class:`FastOperators`).
    Z (NK, cols) sqrt(W); ops a :class:`twin.isac.fast_design.FastOperators`. G = E Sigma E^H."""
    from twin.isac.fast_design import crb_sigma

    f, Sig = crb_sigma(ops, ops.gram_factor(Z))
    Eb = ops.E_big
    return f, Eb @ Sig @ Eb.conj().T


def _blocks_mult(K: int, N: int, Z) -> np.ndarray:
    """(K, NK, cols): Lambda_k^T Lambda_k Z (Z restricted to satellite k's rows)."""
    out = np.zeros((K,) + Z.shape, dtype=complex)
    for k in range(K):
        out[k, k * N:(k + 1) * N] = Z[k * N:(k + 1) * N]
    return out


def stationarity_multipliers(G, H, gamma, V, L, K: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative least-squares (lambda (M,), mu (K,)) of the stationarity conditions
    C_m w_m = 0 (m = 1..M) and C_R L = 0 (see module docstring), i.e.
    min || G Z + sum_k mu_k Lambda_k Z + sum_i lambda_i T_i(Z) ||_F over lambda, mu >= 0 with
    Z = [V, L], T_i(w_m) = c_im h_i h_i^H w_m (c_ii = -1, c_im = gamma_i, c_i,R = gamma_i).
    G (NK, NK) m^2/W; H (M, NK) rows h~_i as in DesignProblem (y_i = h~_i^H x); V (NK, M) sqrt(W);
    L (NK, r) sqrt(W). Columns are scaled to unit norm for the solve. Returns (lambda, mu) >= 0."""
    M = H.shape[0]
    Z = np.concatenate([V, L], axis=1)
    cols = Z.shape[1]
    proj = H.conj() @ Z  # (M, cols): h_i^H z_b
    coef = np.repeat(gamma[:, None], cols, axis=1)
    coef[np.arange(M), np.arange(M)] = -1.0
    Tl = (H[:, :, None] * (coef * proj)[:, None, :])  # (M, NK, cols): c_ib h_i (h_i^H z_b)
    Tm = _blocks_mult(K, N, Z)  # (K, NK, cols)
    A = np.concatenate([Tl, Tm], axis=0).reshape(M + K, -1).T  # (NK cols, M + K) complex
    b = -(G @ Z).ravel()
    Ar = np.concatenate([A.real, A.imag], axis=0)
    br = np.concatenate([b.real, b.imag])
    nrm = np.linalg.norm(Ar, axis=0)
    nrm = np.where(nrm > 0, nrm, 1.0)
    sol = lsq_linear(Ar / nrm, br, bounds=(0.0, np.inf), method="bvls", lsmr_tol="auto")
    x = sol.x / nrm
    return x[:M], x[M:]


def dual_lower_bound(ops, H, comm_noise, eta, p_max_w, V, L, *, lam=None, mu=None) -> DualCertificate:
    """Weak-duality lower bound on the SDR optimum of seed 000 (33) at the design with beams
    V (NK, M) and sensing factor L (NK, r) (R = L L^H), both sqrt(W) (module docstring).

    ops: :class:`twin.isac.fast_design.FastOperators` of the problem; H (M, NK) UE channels;
    comm_noise (M,) sigma_i^2; eta (M,) rate targets bit/s/Hz (gamma_i = 2^eta_i - 1, no margin:
    the bound is on the SDR of the true targets); p_max_w (K,) W. lam, mu: multipliers (default:
    :func:`stationarity_multipliers`). The design need not be optimal, and the bound is valid for
    any lam, mu >= 0 (negative entries are clipped to 0). Cost: M + 1 Hermitian NK x NK eigvalsh."""
    K, N = ops.K, ops.N
    M = H.shape[0]
    gamma = 2.0 ** np.asarray(eta, dtype=float) - 1.0
    sig2 = np.broadcast_to(np.asarray(comm_noise, dtype=float), (M,))
    p_max = np.broadcast_to(np.asarray(p_max_w, dtype=float), (K,))
    Z = np.concatenate([V, L], axis=1)
    f0, G = crb_gradient_matrix(ops, Z)
    if lam is None or mu is None:
        l0, m0 = stationarity_multipliers(G, H, gamma, V, L, K, N)
        lam = l0 if lam is None else lam
        mu = m0 if mu is None else mu
    lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
    mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
    Hh = np.einsum("in,im->inm", H, H.conj())  # H_i = h_i h_i^H (M, NK, NK)
    base = G + np.diag(np.repeat(mu, N)) + np.einsum("i,inm->nm", lam * gamma, Hh)
    CR = base
    Cm = base[None] - ((1.0 + gamma) * lam)[:, None, None] * Hh  # -lambda_m H_m - lambda_m gamma_m H_m
    eigs = np.linalg.eigvalsh(np.concatenate([Cm, CR[None]], axis=0))
    min_eig = float(np.min(eigs[:, 0]))
    lin = float(np.real(np.vdot(Z, G @ Z)))  # <G, X0>
    parts = dict(f0=f0, linear=-lin, power=-float(mu @ p_max), rate=float(np.sum(lam * gamma * sig2)),
                 eig=float(np.sum(p_max)) * min(0.0, min_eig))
    bound = float(sum(parts.values()))
    return DualCertificate(bound_m2=bound, crb_m2=f0, lam=lam, mu=mu, min_eig=min_eig, parts=parts)


def optimise_multipliers(ops, H, comm_noise, eta, p_max_w, V, L, *, lam0=None, mu0=None, max_iter: int = 30,
                         temperature: float = 0.05) -> DualCertificate:
    """Maximise the weak-duality bound of :func:`dual_lower_bound` over (lambda, mu) >= 0 at the fixed
    design (V, L), starting from ``lam0, mu0`` (default: the stationarity multipliers).

    The bound is concave in (lambda, mu) but not smooth (min eigenvalue). It is maximised by
    L-BFGS-B on the smaller, smooth bound obtained by replacing min_b lambda_min(C_b) with the soft
    minimum -tau log sum_j exp(-e_j / tau) over all eigenvalues e_j of all C_b (<= the minimum, so
    every value is still a valid bound), tau = ``temperature`` x the spread of the starting
    eigenvalues' negative part. The result is re-evaluated exactly by :func:`dual_lower_bound`, and
    the better of the start and the optimum is returned. Cost: ~``max_iter`` batches of M + 1 eigh."""
    from scipy.optimize import minimize

    K, N = ops.K, ops.N
    M = H.shape[0]
    start = dual_lower_bound(ops, H, comm_noise, eta, p_max_w, V, L, lam=lam0, mu=mu0)
    gamma = 2.0 ** np.asarray(eta, dtype=float) - 1.0
    sig2 = np.broadcast_to(np.asarray(comm_noise, dtype=float), (M,))
    p_max = np.broadcast_to(np.asarray(p_max_w, dtype=float), (K,))
    p_tot = float(np.sum(p_max))
    Z = np.concatenate([V, L], axis=1)
    f0, G = crb_gradient_matrix(ops, Z)
    c0 = f0 - float(np.real(np.vdot(Z, G @ Z)))
    Hh = np.einsum("in,im->inm", H, H.conj())
    x0 = np.concatenate([start.lam, start.mu])
    scale = np.where(x0 > 0, x0, 0.0)
    scale = np.maximum(scale, 1e-3 * max(float(np.max(scale)), 1e-300))
    tau = max(temperature * abs(min(start.min_eig, 0.0)), 1e-12 * f0 / p_tot)
    sel = np.repeat(np.eye(K), N, axis=1)  # (K, NK)

    def neg_bound(u):
        x = u * scale
        lam, mu = x[:M], x[M:]
        base = G + np.diag(sel.T @ mu) + np.einsum("i,inm->nm", lam * gamma, Hh)
        C = np.concatenate([base[None] - ((1.0 + gamma) * lam)[:, None, None] * Hh, base[None]], axis=0)
        e, U = np.linalg.eigh(C)  # (M+1, NK), (M+1, NK, NK)
        emin = float(np.min(e))
        w = np.exp(-(e - emin) / tau)
        zs = float(np.sum(w))
        smin = emin - tau * np.log(zs)
        p = w / zs  # d smin / d e_j
        val = c0 - float(mu @ p_max) + float(np.sum(lam * gamma * sig2))
        g = np.concatenate([gamma * sig2, -p_max])
        if smin < 0:
            val += p_tot * smin
            # d e_j / d x = u_j^H (dC / dx) u_j
            absU2 = np.abs(U) ** 2  # (b, n, j)
            pw = np.einsum("bj,bnj->bn", p, absU2)  # weighted |u|^2 per row
            d_mu = sel @ pw.sum(axis=0)
            hu = np.abs(np.einsum("in,bnj->bij", H.conj(), U)) ** 2  # |h_i^H u_bj|^2
            phu = np.einsum("bj,bij->bi", p, hu)  # (b, M)
            d_lam = gamma * phu.sum(axis=0) - (1.0 + gamma) * np.diagonal(phu[:M])
            g = g + p_tot * np.concatenate([d_lam, d_mu])
        return -val / f0, -g * scale / f0

    u0 = np.where(scale > 0, x0 / scale, 0.0)
    sol = minimize(neg_bound, u0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * (M + K),
                   options=dict(maxiter=int(max_iter)))
    x = sol.x * scale
    best = dual_lower_bound(ops, H, comm_noise, eta, p_max_w, V, L, lam=x[:M], mu=x[M:])
    return best if best.bound_m2 > start.bound_m2 else start
