"""The concentrated fit of the localisation (seed 000 eqs. (16)-(18)) compiled with numba, point by
point without temporaries: the residual ||y - alpha_hat(p) D(p) x||^2 of
:func:`twin.isac.estimation.locate.concentrated_residual` for many candidate points at once.

Per point p and receiving satellite u (seed 000 eqs. (9)-(12), (11)): the angles of p from every
satellite in its array frame (theta = arccos(Delta_z / |Delta|), phi = atan2(Delta_y, Delta_x)),
the steering vectors a_k (UPA, Kronecker form), c_k = a_k^H x_k (K, L), z_u = sum_k beta[k, u] c_k
and block u of D(p) x = a_u z_u; alpha_hat = sum conj(D x) y / ||D x||^2 (eq. (17); its real part
when ``alpha_model`` is "real"), and the residual summed directly (not ||y||^2 - F(p), which
loses the fit to rounding at high echo SNR; see locate.concentrated_residual).

Used by :func:`twin.isac.estimation.locate.estimate` with ``engine="compiled"``; the numbers are
locate's to rounding (tests/isac/test_locate_compiled.py).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["residuals", "residual_function"]


@numba.njit(cache=True)
def _residuals(sat_pos, frames, beta, x, y, points, nx, nz, spacing_wl, real_alpha, rx_mask):
    """Residuals (P,) at points (P, 3) ECEF m. sat_pos (K, 3); frames (K, 3, 3) (identity rows
    when the problem has none); beta (K, K) [transmitter, receiver]; x, y (NK, L) complex;
    rx_mask (K,) bool: receivers whose rows enter."""
    P = points.shape[0]
    K = sat_pos.shape[0]
    N = nx * nz
    L = x.shape[1]
    kw = 2.0 * np.pi * spacing_wl
    inv = 1.0 / np.sqrt(N)
    out = np.empty(P)
    a = np.empty((K, N), dtype=np.complex128)
    ax = np.empty(nx, dtype=np.complex128)
    az = np.empty(nz, dtype=np.complex128)
    c = np.empty((K, L), dtype=np.complex128)
    z = np.empty((K, L), dtype=np.complex128)
    for p in range(P):
        for k in range(K):
            d0 = points[p, 0] - sat_pos[k, 0]
            d1 = points[p, 1] - sat_pos[k, 1]
            d2 = points[p, 2] - sat_pos[k, 2]
            e0 = frames[k, 0, 0] * d0 + frames[k, 0, 1] * d1 + frames[k, 0, 2] * d2
            e1 = frames[k, 1, 0] * d0 + frames[k, 1, 1] * d1 + frames[k, 1, 2] * d2
            e2 = frames[k, 2, 0] * d0 + frames[k, 2, 1] * d1 + frames[k, 2, 2] * d2
            dist = np.sqrt(e0 * e0 + e1 * e1 + e2 * e2)
            th = np.arccos(min(max(e2 / dist, -1.0), 1.0))
            ph = np.arctan2(e1, e0)
            sx = kw * np.cos(ph) * np.sin(th)
            sz = kw * np.cos(th)
            for i in range(nx):
                ax[i] = complex(np.cos(sx * i), np.sin(sx * i))
            for i in range(nz):
                az[i] = complex(np.cos(sz * i), np.sin(sz * i))
            for i in range(nx):
                for j in range(nz):
                    a[k, i * nz + j] = ax[i] * az[j] * inv
            for l in range(L):
                s = 0j
                for n in range(N):
                    s += np.conj(a[k, n]) * x[k * N + n, l]
                c[k, l] = s
        for u in range(K):
            for l in range(L):
                s = 0j
                for k in range(K):
                    s += beta[k, u] * c[k, l]
                z[u, l] = s
        num = 0j
        den = 0.0
        for u in range(K):
            if not rx_mask[u]:
                continue
            for n in range(N):
                for l in range(L):
                    m = a[u, n] * z[u, l]
                    num += np.conj(m) * y[u * N + n, l]
                    den += m.real * m.real + m.imag * m.imag
        alpha = complex(num.real / den, 0.0) if real_alpha else num / den
        r2 = 0.0
        for u in range(K):
            if not rx_mask[u]:
                continue
            for n in range(N):
                for l in range(L):
                    r = y[u * N + n, l] - alpha * (a[u, n] * z[u, l])
                    r2 += r.real * r.real + r.imag * r.imag
        out[p] = r2
    return out


def residual_function(problem, y, receivers=None):
    """points (P, 3) ECEF m -> ||y - alpha_hat(p) D(p) x||^2 (P,) (W) for a
    :class:`twin.isac.estimation.locate.SensingProblem` and its echo y (NK, L) (receivers: the
    receiving satellites whose rows enter, default all), with the problem's arrays prepared once."""
    K = problem.n_sats
    frames = problem.frames if problem.frames is not None else np.tile(np.eye(3), (K, 1, 1))
    mask = np.zeros(K, dtype=bool)
    mask[slice(None) if receivers is None else np.atleast_1d(receivers)] = True
    x = np.asarray(problem.samples, dtype=complex)
    x = np.ascontiguousarray(x.reshape(x.shape[0], -1))
    args = (
        np.ascontiguousarray(problem.sat_pos, dtype=float),
        np.ascontiguousarray(frames, dtype=float),
        np.ascontiguousarray(problem.beta, dtype=complex),
        x,
        np.ascontiguousarray(np.asarray(y, dtype=complex).reshape(x.shape[0], -1)),
    )
    rest = (int(problem.nx), int(problem.nz), float(problem.spacing_wl))
    real = problem.alpha_model == "real"

    def residual(points):
        pts = np.ascontiguousarray(np.atleast_2d(points), dtype=float)
        return _residuals(*args, pts, *rest, real, mask)

    return residual


def residuals(problem, y, points, receivers=None) -> np.ndarray:
    """||y - alpha_hat(p) D(p) x||^2 (W) at points (P, 3) ECEF m (:func:`residual_function`,
    for one set of points). Returns (P,)."""
    return residual_function(problem, y, receivers)(points)
