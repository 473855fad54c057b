"""Cheap weak-duality lower bound on the SDR optimum of seed 000 (33) (seed-math B.6), for a
given feasible design: the certificate of :func:`twin.isac.design.fast_design.fast_design` without an SDP
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
from scipy.optimize import lsq_linear, minimize

from twin.isac.design.operators import crb_sigma

__all__ = [
    "DualCertificate",
    "certificate",
    "crb_gradient_matrix",
    "dual_lower_bound",
    "optimise_multipliers",
    "stationarity_multipliers",
    "scheme_dual_bound",
    "optimise_scheme_multipliers",
    "SCHEMES",
]


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
        return (
            float(np.sqrt(self.crb_m2 / self.bound_m2) - 1.0) if self.bound_m2 > 0 else float("inf")
        )


def crb_gradient_matrix(ops, Z) -> tuple[float, np.ndarray]:
    """(f, G): tr CRB f (m^2) of R_x = Z Z^H and its gradient G = df/dR_x (NK, NK) Hermitian, m^2/W,
    so df = Re tr(G dR_x) (seed 000 eqs. (20), (23) through the Gram of :class:`FastOperators`).
    Z (NK, cols) sqrt(W); ops a :class:`twin.isac.design.operators.FastOperators`. G = E Sigma E^H."""
    f, Sig = crb_sigma(ops, ops.gram_factor(Z))
    Eb = ops.E_big
    return f, Eb @ Sig @ Eb.conj().T


def _blocks_mult(K: int, N: int, Z) -> np.ndarray:
    """(K, NK, cols): Lambda_k^T Lambda_k Z (Z restricted to satellite k's rows)."""
    out = np.zeros((K,) + Z.shape, dtype=complex)
    for k in range(K):
        out[k, k * N : (k + 1) * N] = Z[k * N : (k + 1) * N]
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
    Tl = H[:, :, None] * (coef * proj)[:, None, :]  # (M, NK, cols): c_ib h_i (h_i^H z_b)
    Tm = _blocks_mult(K, N, Z)  # (K, NK, cols)
    A = np.concatenate([Tl, Tm], axis=0).reshape(M + K, -1).T  # (NK cols, M + K) complex
    x = nonneg_lstsq(A, -(G @ Z).ravel())
    return x[:M], x[M:]


def nonneg_lstsq(A, b) -> np.ndarray:
    """argmin_{x >= 0} ||A x - b|| for complex A (n, p), b (n,) and real x (p,): the real and
    imaginary parts stacked, columns scaled to unit norm, scipy's bounded-variable least squares."""
    Ar = np.concatenate([A.real, A.imag], axis=0)
    br = np.concatenate([b.real, b.imag])
    nrm = np.linalg.norm(Ar, axis=0)
    nrm = np.where(nrm > 0, nrm, 1.0)
    return lsq_linear(Ar / nrm, br, bounds=(0.0, np.inf), method="bvls", lsmr_tol="auto").x / nrm


def dual_lower_bound(
    ops, H, comm_noise, eta, p_max_w, V, L, *, lam=None, mu=None
) -> DualCertificate:
    """Weak-duality lower bound on the SDR optimum of seed 000 (33) at the design with beams
    V (NK, M) and sensing factor L (NK, r) (R = L L^H), both sqrt(W) (module docstring).

    ops: :class:`twin.isac.design.operators.FastOperators` of the problem; H (M, NK) UE channels;
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
    Cm = (
        base[None] - ((1.0 + gamma) * lam)[:, None, None] * Hh
    )  # -lambda_m H_m - lambda_m gamma_m H_m
    eigs = np.linalg.eigvalsh(np.concatenate([Cm, CR[None]], axis=0))
    min_eig = float(np.min(eigs[:, 0]))
    return certificate(f0, G, Z, lam, mu, gamma, sig2, p_max, min_eig)


def certificate(f0, G, Z, lam, mu, gamma, sig2, p_max, min_eig) -> DualCertificate:
    """The weak-duality bound's terms (module docstring) assembled into a certificate.

    f0 CRB at Z (m^2); G (NK, NK) its gradient matrix; Z (NK, M + r) the factors; lam (M,),
    mu (K,) the multipliers (>= 0); gamma (M,) SINR targets; sig2 (M,) noise; p_max (K,) W;
    min_eig the smallest eigenvalue of the Lagrangian's matrices."""
    lin = float(np.real(np.vdot(Z, G @ Z)))  # <G, X0>
    parts = dict(
        f0=f0,
        linear=-lin,
        power=-float(mu @ p_max),
        rate=float(np.sum(lam * gamma * sig2)),
        eig=float(np.sum(p_max)) * min(0.0, min_eig),
    )
    bound = float(sum(parts.values()))
    return DualCertificate(bound_m2=bound, crb_m2=f0, lam=lam, mu=mu, min_eig=min_eig, parts=parts)


def optimise_multipliers(
    ops,
    H,
    comm_noise,
    eta,
    p_max_w,
    V,
    L,
    *,
    lam0=None,
    mu0=None,
    max_iter: int = 30,
    temperature: float = 0.05,
) -> DualCertificate:
    """Maximise the weak-duality bound of :func:`dual_lower_bound` over (lambda, mu) >= 0 at the fixed
    design (V, L), starting from ``lam0, mu0`` (default: the stationarity multipliers).

    The bound is concave in (lambda, mu) but not smooth (min eigenvalue). It is maximised by
    L-BFGS-B on the smaller, smooth bound obtained by replacing min_b lambda_min(C_b) with the soft
    minimum -tau log sum_j exp(-e_j / tau) over all eigenvalues e_j of all C_b (<= the minimum, so
    every value is still a valid bound), tau = ``temperature`` x the spread of the starting
    eigenvalues' negative part. The result is re-evaluated exactly by :func:`dual_lower_bound`, and
    the better of the start and the optimum is returned. Cost: ~``max_iter`` batches of M + 1 eigh."""
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
        C = np.concatenate(
            [base[None] - ((1.0 + gamma) * lam)[:, None, None] * Hh, base[None]], axis=0
        )
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
    sol = minimize(
        neg_bound,
        u0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * (M + K),
        options=dict(maxiter=int(max_iter)),
    )
    x = sol.x * scale
    best = dual_lower_bound(ops, H, comm_noise, eta, p_max_w, V, L, lam=x[:M], mu=x[M:])
    return best if best.bound_m2 > start.bound_m2 else start


# ---------------------------------------------------------------------------
# certificates of the Fig. 6 baselines (seed-math B.7): the same weak-duality argument for the convex
# problem each baseline solves (derivation in docs/isac-fast-design.md, "Baseline certificates")

SCHEMES = ("joint", "non_assisted", "zfbf", "sensing_only")


class _SchemeDual:
    """The affine maps (lambda, mu) -> dual matrices of one scheme's linearised Lagrangian at a design.

    scheme "joint": problem (33) (= :func:`dual_lower_bound`); "non_assisted": the FIM sees R only, so
    the beam blocks C_m lose G; "zfbf": beams W_m = p_m u_m u_m^H with fixed unit directions u_m and
    p_m >= 0, so each beam block is the scalar c_m = u_m^H C_m u_m; "sensing_only": no beams, no rate
    rows (lambda is empty), only C_R = G + D_mu. Bound (valid for every lambda, mu >= 0):
    LB = f(X0) - <G, X0> - mu.P + sum_i lambda_i gamma_i sigma_i^2 + P_tot min(0, min of the eigenvalues
    of the C_b and of the scalars c_m), X0 = the covariance the FIM sees (R_x, or R when non-assisted)."""

    def __init__(self, ops, H, comm_noise, eta, p_max_w, V, L, scheme, directions):
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.scheme = scheme
        self.K, self.N = ops.K, ops.N
        H = np.asarray(H, dtype=complex)
        if scheme == "sensing_only":
            H = H[:0]
            V = np.zeros((ops.K * ops.N, 0), dtype=complex)
        self.H = H
        self.M = M = H.shape[0]
        self.gamma = (
            2.0 ** np.broadcast_to(np.asarray(eta, dtype=float), (M,)) - 1.0 if M else np.zeros(0)
        )
        self.sig2 = np.broadcast_to(np.asarray(comm_noise, dtype=float), (M,)) if M else np.zeros(0)
        self.p_max = np.broadcast_to(np.asarray(p_max_w, dtype=float), (ops.K,)).astype(float)
        self.p_tot = float(np.sum(self.p_max))
        self.V, self.L = np.asarray(V, dtype=complex), np.asarray(L, dtype=complex)
        Zf = (
            self.L
            if scheme in ("non_assisted", "sensing_only")
            else np.concatenate([self.V, self.L], axis=1)
        )
        self.f0, self.G = crb_gradient_matrix(ops, Zf)
        self.c0 = self.f0 - float(np.real(np.vdot(Zf, self.G @ Zf)))  # f(X0) - <G, X0>
        self.Hh = np.einsum("in,im->inm", H, H.conj())  # (M, NK, NK)
        self.sel = np.repeat(np.eye(ops.K), ops.N, axis=1)  # (K, NK)
        if scheme == "zfbf":
            if directions is None:
                raise ValueError("scheme 'zfbf' needs the unit beam directions (NK, M)")
            U = np.asarray(directions, dtype=complex)
            self.U = U / np.linalg.norm(U, axis=0, keepdims=True)
            self.uGu = np.real(np.einsum("nm,nl,lm->m", self.U.conj(), self.G, self.U))  # (M,)
            self.hu2 = np.abs(H.conj() @ self.U) ** 2  # [i, m] = |h_i^H u_m|^2
            self.u2k = self.sel @ (np.abs(self.U) ** 2)  # [k, m] = ||u_{m,k}||^2

    def blocks(self, lam, mu):
        """(mats (B, NK, NK), owner (B,) = beam index or -1 for C_R, scalars (M,) or None)."""
        base = self.G + np.diag(self.sel.T @ mu)
        if self.M:
            base = base + np.einsum("i,inm->nm", lam * self.gamma, self.Hh)
        if self.scheme == "zfbf":
            c = (
                self.uGu
                + mu @ self.u2k
                + (lam * self.gamma) @ self.hu2
                - (1.0 + self.gamma) * lam * np.diagonal(self.hu2)
            )
            return base[None], np.array([-1]), c
        if self.scheme == "sensing_only":
            return base[None], np.array([-1]), None
        beam_base = base if self.scheme == "joint" else base - self.G
        Cm = beam_base[None] - ((1.0 + self.gamma) * lam)[:, None, None] * self.Hh
        return (
            np.concatenate([Cm, base[None]], axis=0),
            np.concatenate([np.arange(self.M), [-1]]),
            None,
        )

    def value(self, lam, mu, tau=None):
        """(bound m^2, gradient wrt (lam, mu), min eigenvalue). tau None: exact min; else the soft
        minimum -tau log sum exp(-e/tau) (<= the min, so still a valid bound)."""
        mats, owner, scal = self.blocks(lam, mu)
        val = self.c0 - float(mu @ self.p_max) + float(np.sum(lam * self.gamma * self.sig2))
        grad = np.concatenate([self.gamma * self.sig2, -self.p_max])
        if tau is None:
            e = np.linalg.eigvalsh(mats)
            emin = float(np.min(e))
            if scal is not None and scal.size:
                emin = min(emin, float(np.min(scal)))
            return val + self.p_tot * min(0.0, emin), None, emin
        e, Uv = np.linalg.eigh(mats)
        allv = e.ravel() if scal is None else np.concatenate([e.ravel(), scal])
        emin = float(np.min(allv))
        w = np.exp(-(allv - emin) / tau)
        zs = float(np.sum(w))
        smin = emin - tau * np.log(zs)
        if smin >= 0:
            return val, grad, emin
        p = w / zs
        pm = p[: e.size].reshape(e.shape)  # (B, NK)
        absU2 = np.abs(Uv) ** 2  # (B, n, j)
        pw = np.einsum("bj,bnj->bn", pm, absU2)
        d_mu = self.sel @ pw.sum(axis=0)
        d_lam = np.zeros(self.M)
        if self.M:
            hu = np.abs(np.einsum("in,bnj->bij", self.H.conj(), Uv)) ** 2  # (B, M, NK)
            phu = np.einsum("bj,bij->bi", pm, hu)  # (B, M)
            d_lam = self.gamma * phu.sum(axis=0)
            for b, m in enumerate(owner):
                if m >= 0:
                    d_lam[m] -= (1.0 + self.gamma[m]) * phu[b, m]
        if scal is not None and scal.size:
            ps = p[e.size :]
            d_mu = d_mu + self.u2k @ ps
            d_lam = (
                d_lam
                + (self.gamma[:, None] * self.hu2) @ ps
                - (1.0 + self.gamma) * np.diagonal(self.hu2) * ps
            )
        return val + self.p_tot * smin, grad + self.p_tot * np.concatenate([d_lam, d_mu]), emin

    def stationarity(self):
        """Non-negative least-squares (lambda, mu) of the stationarity of the Lagrangian at the design:
        C_m w_m = 0 (matrix beams), c_m s_m = 0 (ZF powers p_m = s_m^2), C_R L = 0."""
        M, K = self.M, self.K
        rows_A, rows_b = [], []
        L = self.L
        # C_R L = 0: base(lam, mu) L
        rows_b.append(-(self.G @ L).ravel())
        cols = [
            (self.gamma[i] * np.outer(self.H[i], self.H[i].conj() @ L)).ravel() for i in range(M)
        ]
        cols += [(self.sel[k][:, None] * L).ravel() for k in range(K)]
        rows_A.append(np.stack(cols, axis=1) if cols else np.zeros((L.size, 0)))
        if self.scheme in ("joint", "non_assisted") and M:
            V = self.V
            G0 = self.G @ V if self.scheme == "joint" else np.zeros_like(V)
            rows_b.append(-G0.ravel())
            proj = self.H.conj() @ V  # (M, M): h_i^H w_m
            coef = np.repeat(self.gamma[:, None], M, axis=1)
            coef[np.arange(M), np.arange(M)] = -1.0
            Tl = self.H[:, :, None] * (coef * proj)[:, None, :]  # (M, NK, M)
            Tm = self.sel[:, :, None] * V[None]  # (K, NK, M)
            rows_A.append(np.concatenate([Tl, Tm], axis=0).reshape(M + K, -1).T)
        elif self.scheme == "zfbf" and M:
            s = np.linalg.norm(self.V, axis=0)  # beam amplitudes
            rows_b.append((-self.uGu * s).astype(complex))
            A = np.zeros((M, M + K))
            A[:, :M] = (self.gamma[:, None] * self.hu2).T  # d c_m / d lam_i
            A[np.arange(M), np.arange(M)] -= (1.0 + self.gamma) * np.diagonal(self.hu2)
            A[:, M:] = self.u2k.T
            rows_A.append((A * s[:, None]).astype(complex))
        A = np.concatenate(rows_A, axis=0)
        x = nonneg_lstsq(A, np.concatenate(rows_b))
        return x[:M], x[M:]

    def certificate(self, lam, mu) -> DualCertificate:
        lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
        mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
        bound, _, emin = self.value(lam, mu)
        parts = dict(
            scheme=self.scheme,
            f0=self.f0,
            linear=self.c0 - self.f0,
            power=-float(mu @ self.p_max),
            rate=float(np.sum(lam * self.gamma * self.sig2)),
            eig=self.p_tot * min(0.0, emin),
        )
        return DualCertificate(
            bound_m2=bound, crb_m2=self.f0, lam=lam, mu=mu, min_eig=emin, parts=parts
        )


def scheme_dual_bound(
    ops,
    H,
    comm_noise,
    eta,
    p_max_w,
    V,
    L,
    *,
    scheme: str = "joint",
    directions=None,
    lam=None,
    mu=None,
) -> DualCertificate:
    """Weak-duality lower bound on the optimum of the convex problem of one Fig. 6 scheme (seed-math B.7)
    at the design with beams V (NK, M) and sensing factor L (NK, r), both sqrt(W) (R = L L^H):

    * "joint": the SDR of (33) (same value as :func:`dual_lower_bound`);
    * "non_assisted": min tr CRB(R) (FIM from R only) s.t. (38), linear (39) over W_m, R >= 0;
    * "zfbf": min tr CRB(sum_m p_m u_m u_m^H + R) over p >= 0, R >= 0 s.t. (38), (39), with the unit
      ZF directions ``directions`` (NK, M) (V = directions * sqrt(p));
    * "sensing_only": min tr CRB(R) s.t. (38) (H, eta, V ignored; lambda is empty).

    Valid for any multipliers lam (M,), mu (K,) >= 0 (default: the stationarity NNLS fit); gamma_i =
    2^eta_i - 1 (no margin). Units as :func:`dual_lower_bound`; ``parts["scheme"]`` names the scheme."""
    sd = _SchemeDual(ops, H, comm_noise, eta, p_max_w, V, L, scheme, directions)
    if lam is None or mu is None:
        l0, m0 = sd.stationarity()
        lam = l0 if lam is None else lam
        mu = m0 if mu is None else mu
    return sd.certificate(lam, mu)


def optimise_scheme_multipliers(
    ops,
    H,
    comm_noise,
    eta,
    p_max_w,
    V,
    L,
    *,
    scheme: str = "joint",
    directions=None,
    lam0=None,
    mu0=None,
    max_iter: int = 30,
    temperature: float = 0.05,
) -> DualCertificate:
    """:func:`scheme_dual_bound` maximised over (lambda, mu) >= 0 by L-BFGS-B on the soft-minimum bound
    (as :func:`optimise_multipliers`), from ``lam0, mu0`` (default the stationarity fit); the exact bound
    of the better of start and optimum is returned."""
    sd = _SchemeDual(ops, H, comm_noise, eta, p_max_w, V, L, scheme, directions)
    if lam0 is None or mu0 is None:
        l0, m0 = sd.stationarity()
        lam0 = l0 if lam0 is None else lam0
        mu0 = m0 if mu0 is None else mu0
    start = sd.certificate(lam0, mu0)
    M = sd.M
    x0 = np.concatenate([start.lam, start.mu])
    scale = np.where(x0 > 0, x0, 0.0)
    scale = np.maximum(scale, 1e-3 * max(float(np.max(scale)) if scale.size else 0.0, 1e-300))
    f0 = max(sd.f0, 1e-300)
    tau = max(temperature * abs(min(start.min_eig, 0.0)), 1e-12 * f0 / sd.p_tot)

    def neg(u):
        x = u * scale
        v, g, _ = sd.value(x[:M], x[M:], tau)
        return -v / f0, -g * scale / f0

    u0 = x0 / scale
    sol = minimize(
        neg,
        u0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * x0.size,
        options=dict(maxiter=int(max_iter)),
    )
    x = sol.x * scale
    best = sd.certificate(x[:M], x[M:])
    return best if best.bound_m2 > start.bound_m2 else start
