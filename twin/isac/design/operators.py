"""The CRB of seed 000 (33) in factor form: the small precomputed maps of one
:class:`twin.isac.design.problem.DesignProblem` that give tr CRB of R_x = Z Z^H and its analytic
gradient through the 3K x 3K Gram E^H R_x E (seed 000 eqs. (20), (23), (30)-(32), (51)-(57)).

Shared by the fast engines (:mod:`twin.isac.design.fast_design`, :mod:`twin.isac.design.fast_baselines`,
:mod:`twin.isac.design.fast_algorithm2`) and their certificates (:mod:`twin.isac.design.dual_bound`).
"""

from __future__ import annotations

import numpy as np

from twin.isac.design.problem import DesignProblem
from twin.isac.physics.crb import angle_jacobian, fim_operators
from twin.isac.physics.model import angles, steering_derivatives

__all__ = [
    "FastOperators",
    "fast_operators",
    "position_fim",
    "crb_sigma",
    "crb_and_gradient",
]


class FastOperators:
    """Precomputed small maps of one :class:`DesignProblem`.

    The equivalent FIM of (p_x, p_y, p_z, alpha) is Q_ab = c Re tr(D~_a^H D~_b R_x) with
    D~_p = alpha sum_i J_ip D_i (i over Omega, J = dOmega/dp, eqs. (51)-(57)), D~_3 = D_0 and
    c = 2 L / sigma_n^2 (eqs. (30)-(32)). Every D_i is a sum of blocks b c^H with c one of the 3
    vectors a_k, da_k/dtheta, da_k/dphi of satellite k (seed-math B.5), so Q depends on R_x only
    through the 3K x 3K Gram Gamma = E^H R_x E, E = blockdiag([a_k, da_k/dtheta, da_k/dphi])
    (NK x 3K): Q_ab = c Re tr(S_ab Gamma) with S_ab = B_a^H B_b, B_a = D~_a E (E^H E)^+ (exact:
    R_x and E (E^H E)^+ Gamma (E^H E)^+ E^H give the same traces).

    ``structured=True`` builds the same maps from the block structure of the D_i without forming
    them (:meth:`_set_structured`; the compiled engine's set-up). Attributes: E (K, 3, N) steering
    vectors and derivatives; S (4, 4, 3K, 3K); c; Hn (M, NK)
    UE channels divided by sqrt(sigma_i^2) (unit noise); K, N, M; p_max (K,) W.
    """

    def __init__(self, problem: DesignProblem, *, structured: bool = False):
        pb = problem
        if structured:
            self._set_structured(pb)
            return
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

    def _set_structured(self, pb: DesignProblem) -> None:
        """The same maps without the dense NK x NK operators: with F = E (E^H E)^+ (NK, 3K), the
        products D_i F follow from the block structure of D_i (seed-math B.5, as in
        :func:`twin.isac.physics.crb.angle_derivative_matrices`): for Omega_i = theta_s or phi_s
        (derivative vector da_s), (D_i F)[(u, n), :] = delta_su da_s[n] (beta^T G0)[u]
        + a_u[n] beta[s, u] Gd[s], with G0[k] = a_k^H F_k and Gd[s] = da_s^H F_s (F_k: the rows
        of satellite k); (D_0 F)[(u, n), :] = a_u[n] (beta^T G0)[u]. O(K^2 N K) instead of
        O((NK)^2 K). Equal to the dense construction to rounding (tests/isac/test_fast_many.py)."""
        th, ph = angles(pb.sat_pos, pb.target, pb.frames)
        a, dth, dph = steering_derivatives(th, ph, pb.nx, pb.nz, pb.spacing_wl)  # (K, N) each
        K, N = pb.K, pb.N
        self.E = np.stack([a, dth, dph], axis=1)  # (K, 3, N)
        Ebig = np.zeros((K * N, 3 * K), dtype=complex)
        for k in range(K):
            Ebig[k * N : (k + 1) * N, 3 * k : 3 * k + 3] = self.E[k].T
        F = (Ebig @ np.linalg.pinv(Ebig.conj().T @ Ebig)).reshape(K, N, 3 * K)
        G = np.einsum("ktn,knc->ktc", self.E.conj(), F)  # (K, 3, 3K): [a, dth, dph]_k^H F_k
        beta = np.asarray(pb.beta)
        Z0 = beta.T @ G[:, 0]  # (K, 3K): sum_k' beta[k', u] G0[k']
        J = angle_jacobian(pb.sat_pos, pb.target, pb.frames)  # (2K, 3) rad/m
        Jt, Jp = J[:K], J[K:]  # (K, 3): d theta_s / dp, d phi_s / dp
        # receive part: sum_s J_sp delta_su da_s[n] Z0[u] -> (p, u, n, c)
        recv = (Jt.T[:, :, None, None] * dth[None, :, :, None]) + (
            Jp.T[:, :, None, None] * dph[None, :, :, None]
        )
        recv = recv * Z0[None, :, None, :]
        # transmit part: a_u[n] sum_s beta[s, u] (J_sp^theta Gth[s] + J_sp^phi Gph[s]) -> (p, u, c)
        tx = np.einsum("su,sp,sc->puc", beta, Jt, G[:, 1]) + np.einsum(
            "su,sp,sc->puc", beta, Jp, G[:, 2]
        )
        Bp = pb.alpha * (recv + a[None, :, :, None] * tx[:, :, None, :])  # (3, K, N, 3K)
        B0 = a[:, :, None] * Z0[:, None, :]  # (K, N, 3K)
        B = np.concatenate([Bp, B0[None]], axis=0).reshape(4, K * N, 3 * K)
        self.S = np.einsum("anr,bns->abrs", B.conj(), B)  # (4, 4, 3K, 3K)
        self.S_T = np.ascontiguousarray(self.S.transpose(0, 1, 3, 2).reshape(16, -1))
        self.S_flat = np.ascontiguousarray(self.S.reshape(16, -1))
        self.c = 2.0 * pb.snapshots / pb.sensing_noise_w
        self.Hn = pb.H / np.sqrt(pb.comm_noise)[:, None]
        self.K, self.N, self.M = K, N, pb.M
        self.p_max = pb.p_max_w.copy()
        self.E_big = Ebig

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
