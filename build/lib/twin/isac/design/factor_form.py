"""The factor parametrisation of the fast designs of seed 000 (33): real vectors <-> complex
factors Y (K, N, cols), the per-satellite power map Z_k = sqrt(P_k^max) Y_k / ||Y_k||_F (power (33b)
met with equality) with its chain rule, the SINR-constraint rows (39) in factor form (linear and
log) and the cold-start point. Shared by :mod:`twin.isac.design.fast_design` and
:mod:`twin.isac.design.fast_baselines`.
"""

from __future__ import annotations

import numpy as np

from twin.isac.design.operators import FastOperators

__all__ = [
    "to_complex",
    "to_real",
    "factors",
    "chain",
    "sinr_signs",
    "rate_slack",
    "rate_log_slack",
    "initial_point",
]


def to_complex(x, shape):
    n = x.size // 2
    return (x[:n] + 1j * x[n:]).reshape(shape)


def to_real(Y):
    return np.concatenate([Y.real.ravel(), Y.imag.ravel()])


def factors(Y, p_max):
    """Y (K, N, cols) -> Z (NK, cols) with ||Z_k||_F^2 = P_k^max, plus the norms (K,)."""
    nrm = np.sqrt(np.sum(np.abs(Y) ** 2, axis=(1, 2)))
    nrm = np.maximum(nrm, 1e-300)
    Z = Y * (np.sqrt(p_max) / nrm)[:, None, None]
    return Z.reshape(-1, Y.shape[2]), nrm


def chain(Y, nrm, Gz, p_max):
    """Wirtinger gradient w.r.t. Y* from the gradient w.r.t. Z* (both (K, N, cols))."""
    Yh = Y / nrm[:, None, None]
    proj = np.real(np.sum(Yh.conj() * Gz, axis=(1, 2)))
    return (np.sqrt(p_max) / nrm)[:, None, None] * (Gz - Yh * proj[:, None, None])


def sinr_signs(M, cols, gamma):
    """S (M, cols): S[i, i] = 1, S[i, m] = -gamma_i for every other column (interference and sensing)."""
    S = -np.repeat(gamma[:, None], cols, axis=1)
    S[np.arange(M), np.arange(M)] = 1.0
    return S


def rate_slack(ops, Z, S, gamma):
    """Normalised SINR-constraint slack (M,): (|h_i^H w_i|^2 - gamma_i (interference + sensing + 1)) / (1 + gamma_i)
    (seed-math B.6 [R] linear form of (39), unit noise) and g = H^H Z (M, cols)."""
    g = ops.Hn.conj() @ Z
    c = (np.sum(S * np.abs(g) ** 2, axis=1) - gamma) / (1.0 + gamma)
    return c, g


def rate_log_slack(ops, Z, gamma):
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


def initial_point(ops: FastOperators, r: int, rng) -> np.ndarray:
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
