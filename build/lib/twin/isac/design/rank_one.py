"""Rank-one extraction from relaxed (PSD-matrix) designs of seed 000 (33): the PSD projection of a
solver output, principal eigenpairs, the (47) extraction, the rank-one beams that keep R_x and
every SINR, and Algorithm 2's rank residual. Shared by the cvxpy SDR, Algorithm 2 and its
factor-form version.
"""

from __future__ import annotations

import numpy as np

from twin.isac.design.problem import DesignProblem

__all__ = ["psd_part", "principal", "rank_residual", "rank_one_beams", "extract_47"]


def psd_part(X) -> np.ndarray:
    """Hermitian PSD projection of a solver output (removes tiny negative eigenvalues)."""
    X = 0.5 * (np.asarray(X) + np.asarray(X).conj().T)
    w, V = np.linalg.eigh(X)
    return (V * np.maximum(w, 0.0)) @ V.conj().T


def principal(X) -> tuple[float, np.ndarray]:
    w, V = np.linalg.eigh(0.5 * (X + X.conj().T))
    return float(w[-1]), V[:, -1]


def rank_residual(mats, scale: float = 1.0) -> float:
    """sum |tr X - lambda_max(X)| / scale over Hermitian matrices ``mats`` (Algorithm 2 line 6)."""
    total = 0.0
    for X in mats:
        lam, _ = principal(X)
        total += abs(float(np.real(np.trace(X))) - lam)
    return total / scale


def rank_one_beams(problem: DesignProblem, Ws, Rx) -> tuple[np.ndarray, np.ndarray]:
    """Rank-one beams that keep R_x and every SINR (Liu et al., IEEE TSP 2022, CRB-ISAC):
    w~_m = W_m h~_m / sqrt(h~_m^H W_m h~_m), R = R_x - sum_m w~_m w~_m^H (PSD by Cauchy-Schwarz:
    W_m - w~_m w~_m^H >= 0), so h~_m^H w~_m w~_m^H h~_m = h~_m^H W_m h~_m and the interference
    h~_i^H (R_x - W_i) h~_i are unchanged for every UE.

    Ws (M, NK, NK) relaxed beam covariances (W); Rx (NK, NK) their total with the sensing
    covariance. Valid when the sensing covariance may have any rank (sensing_rank="full").
    Returns (W (NK, M), R (NK, NK)) in W.
    """
    H = problem.H
    cols = []
    for m in range(problem.M):
        Wh = Ws[m] @ H[m]
        q = float(np.real(H[m].conj() @ Wh))
        cols.append(Wh / np.sqrt(q) if q > 0 else np.zeros(problem.NK, dtype=complex))
    W = np.stack(cols, axis=1)
    return W, psd_part(Rx - W @ W.conj().T)


def extract_47(Ws, R) -> tuple[np.ndarray, np.ndarray]:
    """(47): w~_m = sqrt(lambda_max(W_m)) v_m, r~ = sqrt(lambda_max(R)) v_R. Returns (W (NK, M), r (NK,))."""
    cols = []
    for X in Ws:
        lam, v = principal(X)
        cols.append(np.sqrt(max(lam, 0.0)) * v)
    lam, v = principal(R)
    return np.stack(cols, axis=1), np.sqrt(max(lam, 0.0)) * v
