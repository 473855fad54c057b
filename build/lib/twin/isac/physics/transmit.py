"""The stand-in transmit design (matched-filter beams + isotropic sensing) and transmit powers.

Stand-in, stated plainly: every satellite splits its budget into matched-filter
(MRT) communication beams and ISOTROPIC per-satellite sensing,
R = blockdiag(p_s,k / N I_N). This is not the seed's optimised design (that is
``twin.isac.design``); it is the twin's reference point and the joint design's fallback.

Power per satellite k, seed 000 eq. (2): P_k = sum_m ||Lambda_k w~_m||^2 + tr(Lambda_k R Lambda_k^T).
"""

from __future__ import annotations

import numpy as np

__all__ = ["matched_filter_isotropic", "transmit_covariance", "satellite_powers"]


def satellite_powers(W, R, K: int) -> np.ndarray:
    """Per-satellite transmit power, seed 000 eq. (2), stacked form (seed-math B.2).

    W (NK, M) beams (or None), R sensing covariance (NK, NK), waveform (NK,) or None; K satellites.
    Returns (K,) watts: sum_m ||Lambda_k w_m||^2 + tr(Lambda_k R Lambda_k^T).
    """
    total = None
    if W is not None:
        Wm = np.asarray(W, dtype=complex)
        NK = Wm.shape[0]
        total = np.sum(np.abs(Wm.reshape(K, NK // K, -1)) ** 2, axis=(1, 2))
    if R is not None:
        Rm = np.asarray(R, dtype=complex)
        NK = Rm.shape[0]
        if Rm.ndim == 1:
            pr = np.sum(np.abs(Rm.reshape(K, NK // K)) ** 2, axis=1)
        else:
            pr = np.real(np.diagonal(Rm)).reshape(K, NK // K).sum(axis=1)
        total = pr if total is None else total + pr
    if total is None:
        raise ValueError("give W, R or both")
    return total


def transmit_covariance(W, R=None) -> np.ndarray:
    """R_x = sum_m w~_m w~_m^H + R (seed-math B.5), the transmit covariance the CRB uses.

    W (NK, M) or None; R (NK, NK) covariance, (NK,) waveform (-> r r^H) or None. Returns (NK, NK) W.
    Pass W = None for the "non-assisted" CRB (sensing signal only, seed-math B.7).
    """
    out = None
    if W is not None:
        Wm = np.asarray(W, dtype=complex)
        out = Wm @ Wm.conj().T
    if R is not None:
        Rm = np.asarray(R, dtype=complex)
        Rm = np.outer(Rm, Rm.conj()) if Rm.ndim == 1 else Rm
        out = Rm if out is None else out + Rm
    if out is None:
        raise ValueError("give W, R or both")
    return out


def matched_filter_isotropic(H, K: int, N: int, p_max_w, *, comm_fraction: float = 0.5):
    """Matched-filter communication beams plus isotropic per-satellite sensing (stand-in design).

    H (M, NK): channels, row m = h~_m with y_m = h~_m^H x (see :mod:`twin.isac.physics.channel`).
    K satellites of N elements; p_max_w (K,) or scalar per-satellite budget in W;
    comm_fraction in [0, 1]: share of each satellite's budget spent on communication.

    Communication (MRT): the unit direction of UE m is u_m = h~_m / ||h~_m||; satellite k scales
    its part of every beam by one factor s_k so that it spends exactly comm_fraction * P_k:
    w_{k,m} = s_k Lambda_k u_m, s_k^2 = comm_fraction P_k / sum_m ||Lambda_k u_m||^2.
    (Every satellite's contribution to h~_m^H w~_m is then real positive: they add coherently.
    UEs get equal shares of each satellite's power direction-weighted by ||Lambda_k u_m||^2.)
    Sensing: R = blockdiag((1 - comm_fraction) P_k / N I_N).
    Each satellite then meets eq. (2)/(33b) with equality. No rate constraint is enforced.
    Returns (W (NK, M), R (NK, NK)).
    """
    Hm = np.asarray(H, dtype=complex)
    if Hm.ndim != 2 or Hm.shape[1] != K * N:
        raise ValueError(f"H must have shape (M, NK) = (M, {K * N}), got {Hm.shape}")
    if not 0.0 <= comm_fraction <= 1.0:
        raise ValueError(f"comm_fraction must be in [0, 1], got {comm_fraction}")
    p = np.broadcast_to(np.asarray(p_max_w, dtype=float), (K,))
    if np.any(p < 0):
        raise ValueError("p_max_w must be >= 0 W")
    M = Hm.shape[0]
    norms = np.linalg.norm(Hm, axis=1)
    if np.any(norms == 0):
        raise ValueError("a UE channel is identically zero: no matched-filter direction")
    U = (Hm / norms[:, None]).T.reshape(K, N, M)  # directions, per-satellite blocks
    share = np.sum(np.abs(U) ** 2, axis=(1, 2))  # sum_m ||Lambda_k u_m||^2, (K,)
    scale = np.sqrt(np.divide(comm_fraction * p, share, out=np.zeros(K), where=share > 0))
    W = (scale[:, None, None] * U).reshape(K * N, M)
    R = np.kron(np.diag((1.0 - comm_fraction) * p / N), np.eye(N))
    return W, R
