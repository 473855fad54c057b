"""Closed-form Cramer-Rao bound of the target position, seed 000 eqs. (20)-(32).

With the Jacobian of Appendix A, eqs. (51)-(57) (seed-math B.5).

Parameters of the echo model y = alpha D(Omega) x_bar + n (see
:mod:`twin.isac.physics.model`): Omega = [theta_1..theta_K; phi_1..phi_K] (radians, in
each satellite's array frame) and the real reflection coefficient alpha.
beta is held FIXED (known): its dependence on the target position through the
ranges d_k is not part of the model's Fisher information (as in the seed).

R_x = sum_m w_m w_m^H + r r^H (NK, NK) is the transmit covariance in W
(E[x_bar x_bar^H]); passing R only gives the "non-assisted" CRB (seed-math B.7).
With L i.i.d. snapshots every Fisher block is multiplied by L.
"""

from __future__ import annotations

import numpy as np

from twin.isac.physics.model import (
    angles,
    as_positions,
    check_beta,
    check_frames,
    echo_matrix,
    steering_derivatives,
)

__all__ = [
    "angle_derivative_matrices",
    "fim_operators",
    "trace_products",
    "fim_angle_angle",
    "fim_alpha_alpha",
    "fim_angle_alpha",
    "angle_fim",
    "angle_jacobian",
    "location_fim",
    "location_crb",
    "rcrb",
    "echo_snr",
    "isotropic_rcrb_and_snr",
]


# ---------------------------------------------------------------------------
# derivative matrices


def angle_derivative_matrices(
    theta, phi, beta, nx: int, nz: int, spacing_wl: float = 0.5
) -> np.ndarray:
    """D_i = dA/dOmega_i (.) B for Omega = [theta_1..theta_K, phi_1..phi_K] (seed-math B.5 [R]).

    theta_k enters A in block-row k (receive, a(theta_k) a^H(theta_k')) and in
    block-column k (transmit, a(theta_u) a^H(theta_k)), so dA/dtheta_k has
    a'_k a_k'^H in every block (k, k'), a_u a'_k^H in every block (u, k), and both
    in block (k, k); likewise for phi_k. B multiplies block (u, k') by beta[k', u].

    theta, phi: (K,) radians; beta (K, K) [transmitter, receiver].
    Returns complex (2K, NK, NK), entry i = dD/dOmega_i (per radian).
    """
    a, da_th, da_ph = steering_derivatives(theta, phi, nx, nz, spacing_wl)  # (K, N) each
    if a.ndim != 2:
        raise ValueError(f"theta and phi must have shape (K,), got {np.shape(theta)}")
    K, N = a.shape
    b = check_beta(beta, K)
    da = np.stack([da_th, da_ph])  # (2, K, N): [type, satellite k, element]
    eye = np.eye(K)
    # axes: (type, k, u, n, k', m)
    receive = (
        eye[None, :, :, None, None, None]
        * da[:, :, None, :, None, None]
        * np.conj(a)[None, None, None, None, :, :]
    )
    transmit = (
        eye[None, :, None, None, :, None]
        * a[None, None, :, :, None, None]
        * np.conj(da)[:, :, None, None, None, :]
    )
    blocks = (receive + transmit) * b.T[None, None, :, None, :, None]
    return blocks.reshape(2 * K, K * N, K * N)


def fim_operators(sat_pos, target, beta, *, nx: int, nz: int, spacing_wl: float = 0.5, frames=None):
    """Dense matrices in which the Fisher information is linear in R_x (seed 000 eqs. (30)-(32)).

    sat_pos (K, 3), target (3,) Earth-fixed metres; beta (K, K); frames (K, 3, 3) or None.
    Returns ``(D0, Ds)``: D0 = A (.) B (NK, NK) and Ds (2K, NK, NK), Ds[i] = dA/dOmega_i (.) B,
    so that tr(D_i^H D_j R_x) is the (i+1, j+1) entry of :func:`trace_products` (used by the
    joint design to write the FIM as linear in R_x). Memory O(K (NK)^2): small arrays only;
    the CRB itself uses the structured :func:`trace_products`.
    """
    theta, phi = angles(sat_pos, target, frames)
    D0 = echo_matrix(theta, phi, beta, nx, nz, spacing_wl)
    Ds = angle_derivative_matrices(theta, phi, beta, nx, nz, spacing_wl)
    return D0, Ds


def _check_rx(Rx, NK):
    R = np.asarray(Rx, dtype=complex)
    if R.shape != (NK, NK):
        raise ValueError(f"Rx must have shape (NK, NK) = ({NK}, {NK}) in W, got {R.shape}")
    return R


def _check_noise(noise_power, snapshots):
    if not noise_power > 0:
        raise ValueError(f"noise_power must be > 0 W, got {noise_power}")
    if not snapshots > 0:
        raise ValueError(f"snapshots must be > 0, got {snapshots}")


def _operator_coefficients(beta):
    """Coefficient tensors T (2K+1, K, 3, K, 3) writing D_0 and D_i (seed-math B.5) as
    D = sum T[u, r, k, t] E_u b_{u,r} c_{k,t}^H E_k^T with vector types 0 = a, 1 = da/dtheta,
    2 = da/dphi (receive vector b at satellite u, transmit vector c at satellite k)."""
    K = beta.shape[0]
    T = np.zeros((2 * K + 1, K, 3, K, 3), dtype=complex)
    T[0, :, 0, :, 0] = beta.T  # D_0 block (u, k) = beta[k, u] a_u a_k^H
    for t in (1, 2):
        for s in range(K):
            i = 1 + (t - 1) * K + s
            T[i, s, t, :, 0] += beta[:, s]  # receive side: block-row s, d a_s a_k^H
            T[i, :, 0, s, t] += beta[s, :]  # transmit side: block-column s, a_u (d a_s)^H
    return T


def _phi_from_gram(vecs, beta, gram) -> np.ndarray:
    """Phi_ij = tr(D_i^H D_j R_x) from the steering vectors and the transmit Gram matrix.

    vecs (K, 3, N) = [a, da/dtheta, da/dphi] per satellite; gram (K, 3, K, 3) with
    gram[k2, t2, k1, t1] = c_{k2,t2}^H R_{k2 k1} c_{k1,t1} (R_{k2 k1} the N x N block of R_x).
    For rank-one terms, tr((E_u b1 c1^H E_k1^T)^H (E_u' b2 c2^H E_k2^T) R_x)
    = delta_{u u'} (b1^H b2) (c2^H R_{k2 k1} c1). Returns complex (2K+1, 2K+1).
    """
    T = _operator_coefficients(beta)
    recv = np.einsum("urn,usn->urs", np.conj(vecs), vecs)  # (K, 3, 3): b_{u,r}^H b_{u,s}
    # Phi[i, j] = sum conj(T[i,u,r1,k1,t1]) T[j,u,r2,k2,t2] recv[u,r1,r2] gram[k2,t2,k1,t1]
    left = np.einsum("iuakb,uac->iuckb", np.conj(T), recv)  # (I, u, r2, k1, t1)
    right = np.einsum("jucld,ldkb->juckb", T, gram)  # (J, u, r2, k1, t1)
    n = T.shape[0]
    return left.reshape(n, -1) @ right.reshape(n, -1).T


def _steering_stack(theta, phi, nx, nz, spacing_wl):
    a, da_th, da_ph = steering_derivatives(theta, phi, nx, nz, spacing_wl)
    return np.stack([a, da_th, da_ph], axis=-2)  # (K, 3, N)


def trace_products(
    sat_pos, target, Rx, beta, *, nx: int, nz: int, spacing_wl: float = 0.5, frames=None
) -> np.ndarray:
    """Phi (2K+1, 2K+1) complex, Phi_ij = tr(D_i^H D_j R_x) with D_0 = A (.) B first and
    D_i = dA/dOmega_i (.) B (Omega = [theta_1..theta_K, phi_1..phi_K]) next: the traces of
    seed 000 eqs. (30)-(32), computed from the rank-one block structure of D (seed-math B.5)
    without forming any NK x NK derivative matrix (cost O(K^2 N^2) for the Gram of R_x).

    sat_pos (K, 3), target (3,) Earth-fixed metres; Rx (NK, NK) W; beta (K, K); frames or None.
    """
    theta, phi = angles(sat_pos, target, frames)
    vecs = _steering_stack(theta, phi, nx, nz, spacing_wl)
    K, _, N = vecs.shape
    b = check_beta(beta, K)
    R = _check_rx(Rx, K * N).reshape(K, N, K, N)
    # gram[k2, t2, k1, t1] = c_{k2,t2}^H R_{k2 k1} c_{k1,t1}
    Rc = np.einsum("anbm,btm->anbt", R, vecs, optimize=True)  # (K, N, K, 3)
    gram = np.einsum("asn,anbt->asbt", np.conj(vecs), Rc)
    return _phi_from_gram(vecs, b, gram)


# ---------------------------------------------------------------------------
# FIM blocks


def fim_angle_angle(Phi, *, alpha: float, noise_power: float, snapshots: float = 1) -> np.ndarray:
    """F_OmegaOmega, seed 000 eq. (30): [F]_ij = (2 alpha^2 L / sigma_n^2) Re tr(D_i^H D_j R_x).

    Phi from :func:`trace_products`; noise_power sigma_n^2 W; snapshots L.
    Returns real symmetric (2K, 2K), units 1/rad^2.
    """
    _check_noise(noise_power, snapshots)
    F = 2.0 * alpha**2 * snapshots / noise_power * np.asarray(Phi)[1:, 1:].real
    return 0.5 * (F + F.T)


def fim_alpha_alpha(Phi, *, noise_power: float, snapshots: float = 1) -> float:
    """F_alphaalpha, seed 000 eq. (31): (2 L / sigma_n^2) Re tr(D_0^H D_0 R_x). Scalar."""
    _check_noise(noise_power, snapshots)
    return float(2.0 * snapshots / noise_power * np.asarray(Phi)[0, 0].real)


def fim_angle_alpha(Phi, *, alpha: float, noise_power: float, snapshots: float = 1) -> np.ndarray:
    """F_Omegaalpha, seed 000 eq. (32): [F]_i = (2 alpha L / sigma_n^2) Re tr(D_i^H D_0 R_x). (2K,)."""
    _check_noise(noise_power, snapshots)
    return 2.0 * alpha * snapshots / noise_power * np.asarray(Phi)[1:, 0].real


def angle_fim(F_oo, F_oa, F_aa) -> np.ndarray:
    """Equivalent FIM of Omega with alpha as nuisance, seed 000 eq. (23) (Schur complement).

    F_Omega = F_OmegaOmega - F_Omegaalpha F_Omegaalpha^T / F_alphaalpha. Returns (2K, 2K).
    """
    if not F_aa > 0:
        raise ValueError(
            f"F_alphaalpha must be > 0 (no echo energy: Rx = 0 or beta = 0?), got {F_aa}"
        )
    F_oa = np.asarray(F_oa, dtype=float)
    return np.asarray(F_oo, dtype=float) - np.outer(F_oa, F_oa) / F_aa


def angle_jacobian(sat_pos, target, frames=None) -> np.ndarray:
    """J = dOmega/dp, seed 000 Appendix A eqs. (51)-(57) (seed-math B.5). Shape (2K, 3), rad/m.

    With Delta = p - q_k (rotated into the array frame when ``frames`` is given),
    D = |Delta|, rho = sqrt(Delta_x^2 + Delta_y^2):
    dtheta_k/dDelta = [Dx Dz/(D^2 rho), Dy Dz/(D^2 rho), -rho/D^2],
    dphi_k/dDelta = [-Dy/rho^2, Dx/rho^2, 0];
    with frames, J_k <- J_k R_k (chain rule, Delta' = R_k Delta). Rows: theta_1..theta_K, phi_1..phi_K.
    """
    q = as_positions(sat_pos, "sat_pos", lead=1)
    p = as_positions(target, "target", lead=0)
    fr = check_frames(frames, q.shape[0])
    delta = p - q
    if fr is not None:
        delta = np.einsum("kij,kj->ki", fr, delta)
    dx, dy, dz = delta.T
    D2 = np.sum(delta**2, axis=1)
    rho2 = dx**2 + dy**2
    if np.any(rho2 <= 1e-18 * D2):
        raise ValueError("target lies on an array z axis (rho = 0): azimuth phi is undefined there")
    rho = np.sqrt(rho2)
    dtheta = np.stack([dx * dz / (D2 * rho), dy * dz / (D2 * rho), -rho / D2], axis=1)
    dphi = np.stack([-dy / rho2, dx / rho2, np.zeros_like(dx)], axis=1)
    if fr is not None:
        dtheta = np.einsum("ki,kij->kj", dtheta, fr)
        dphi = np.einsum("ki,kij->kj", dphi, fr)
    return np.concatenate([dtheta, dphi], axis=0)


# ---------------------------------------------------------------------------
# CRB


def _position_fim_from_phi(Phi, J, *, alpha, noise_power, snapshots):
    F_oo = fim_angle_angle(Phi, alpha=alpha, noise_power=noise_power, snapshots=snapshots)
    F_aa = fim_alpha_alpha(Phi, noise_power=noise_power, snapshots=snapshots)
    F_oa = fim_angle_alpha(Phi, alpha=alpha, noise_power=noise_power, snapshots=snapshots)
    F_p = J.T @ angle_fim(F_oo, F_oa, F_aa) @ J
    return 0.5 * (F_p + F_p.T)


def _invert_fim(F):
    try:
        C = np.linalg.inv(F)
    except np.linalg.LinAlgError:
        raise ValueError(
            "position Fisher information is singular (geometry or Rx gives no information)"
        ) from None
    return 0.5 * (C + C.T)


def location_fim(
    sat_pos,
    target,
    Rx,
    beta,
    *,
    noise_power: float,
    nx: int,
    nz: int,
    alpha: float = 1.0,
    spacing_wl: float = 0.5,
    frames=None,
    snapshots: float = 1,
) -> np.ndarray:
    """Equivalent Fisher information of the target position J^T F_Omega J (inverse of the CRB of
    seed 000 eq. (20)). Arguments as :func:`location_crb`. Returns (3, 3) in 1/m^2."""
    q = as_positions(sat_pos, "sat_pos", lead=1)
    Phi = trace_products(q, target, Rx, beta, nx=nx, nz=nz, spacing_wl=spacing_wl, frames=frames)
    J = angle_jacobian(q, target, frames)
    return _position_fim_from_phi(Phi, J, alpha=alpha, noise_power=noise_power, snapshots=snapshots)


def location_crb(
    sat_pos,
    target,
    Rx,
    beta,
    *,
    noise_power: float,
    nx: int,
    nz: int,
    alpha: float = 1.0,
    spacing_wl: float = 0.5,
    frames=None,
    snapshots: float = 1,
) -> np.ndarray:
    """CRB matrix of the target position, seed 000 eq. (20): (J^T F_Omega J)^{-1}, (3, 3) in m^2.

    sat_pos (K, 3), target (3,) Earth-fixed metres; Rx (NK, NK) = sum_m w_m w_m^H + r r^H (W)
    (pass R only for the "non-assisted" CRB); beta[k, u] from transmitter k to receiver u
    (held fixed); noise_power sigma_n^2 in W (per element, per snapshot); arrays nx x nz with
    element index i_x*nz + i_z (eq. (12)); alpha real reflection coefficient (nuisance);
    frames (K, 3, 3) rotate Earth-fixed vectors into each array frame (None = identity);
    snapshots L multiplies the FIM. Raises ValueError if the FIM is singular.
    """
    F = location_fim(
        sat_pos,
        target,
        Rx,
        beta,
        noise_power=noise_power,
        nx=nx,
        nz=nz,
        alpha=alpha,
        spacing_wl=spacing_wl,
        frames=frames,
        snapshots=snapshots,
    )
    return _invert_fim(F)


def rcrb(sat_pos, target, Rx, beta, **kwargs) -> float:
    """Root CRB sqrt(tr CRB) in metres, seed 000 eq. (20). kwargs as :func:`location_crb`."""
    return float(np.sqrt(np.trace(location_crb(sat_pos, target, Rx, beta, **kwargs))))


def echo_snr(
    sat_pos,
    target,
    Rx,
    beta,
    *,
    noise_power: float,
    nx: int,
    nz: int,
    alpha: float = 1.0,
    spacing_wl: float = 0.5,
    frames=None,
) -> float:
    """Total coherent echo SNR per snapshot, alpha^2 tr(D R_x D^H) / sigma_n^2 (linear).

    This is E||alpha D x_bar||^2 / sigma_n^2: the SNR of an ideal matched filter on one
    snapshot of the whole stacked echo (NK receive elements). Multiply by L for L snapshots.
    """
    _check_noise(noise_power, 1)
    Phi = trace_products(
        sat_pos, target, Rx, beta, nx=nx, nz=nz, spacing_wl=spacing_wl, frames=frames
    )
    return float(alpha**2 * Phi[0, 0].real / noise_power)


def isotropic_rcrb_and_snr(
    q, p, beta, *, power_per_element, noise_power, nx, nz, frames, snapshots=1
):
    """RCRB (m) and echo SNR for R_x = power_per_element * I without forming R_x (large arrays)."""
    theta, phi = angles(q, p, frames)
    vecs = _steering_stack(theta, phi, nx, nz, 0.5)
    K = vecs.shape[0]
    gram = np.zeros((K, 3, K, 3), dtype=complex)
    gram[np.arange(K), :, np.arange(K), :] = power_per_element * np.einsum(
        "ksn,ktn->kst", np.conj(vecs), vecs
    )
    Phi = _phi_from_gram(vecs, check_beta(beta, K), gram)
    F = _position_fim_from_phi(
        Phi, angle_jacobian(q, p, frames), alpha=1.0, noise_power=noise_power, snapshots=snapshots
    )
    return float(np.sqrt(np.trace(_invert_fim(F)))), float(Phi[0, 0].real / noise_power)
