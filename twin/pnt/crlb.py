"""TOA/TDOA Cramér–Rao lower bound of seed 002 (eq. (3)-(7), (16)-(17), (36)).

Units: positions Earth-fixed metres, variances s², bandwidth Hz, SINR linear,
CRLB m² (its square root, the positioning accuracy, in metres).

A UT ``c`` sees satellites ``i_1..i_L`` (``L = I_TDOA``) plus the reference
satellite 0. With ``v`` the speed of light:

* ``a_i = (s_c − s_i)/d_i − (s_c − s_0)/d_0`` (difference of unit vectors),
  ``A = a/v`` (L, 3) in s/m — the Jacobian of ``(d_i − d_0)/v`` w.r.t. ``s_c``;
* ``R = σ²_0 1 1^T + diag(σ²_i)`` (L, L) in s² (the reference error is common);
* ``CRLB = (A^T R^{-1} A)^{-1}`` (3, 3) in m², eq. (7) is its trace.

Every function has a batched core working on leading dimensions ``(...)`` so the
hot path (:func:`accuracy_per_ut`) runs without Python loops over UTs.
"""

from __future__ import annotations

import numpy as np

from twin.units import C_LIGHT

#: Relative eigenvalue tolerance below which a Fisher/geometry matrix is rank deficient.
RANK_RTOL = 1e-9


def toa_variance(sinr, bandwidth_hz):
    """Seed 002 eq. (3): TOA variance ``σ² = 3 / (4π² B² SINR)`` in s².

    sinr: (...) linear, >= 0 (0 gives inf); bandwidth_hz: scalar or (...) > 0.
    """
    s = np.asarray(sinr, dtype=float)
    b = np.asarray(bandwidth_hz, dtype=float)
    if np.any(b <= 0):
        raise ValueError(f"bandwidth_hz must be > 0, got {bandwidth_hz}")
    if np.any(s < 0):
        raise ValueError("sinr must be >= 0 (linear)")
    with np.errstate(divide="ignore"):
        return 3.0 / (4.0 * np.pi**2 * b**2 * s)


def _check_geometry(ut, sats, ref_sat):
    ut = np.asarray(ut, dtype=float)
    sats = np.asarray(sats, dtype=float)
    ref = np.asarray(ref_sat, dtype=float)
    if ut.shape[-1:] != (3,) or sats.shape[-1:] != (3,) or ref.shape[-1:] != (3,) or sats.ndim < 2:
        raise ValueError(
            f"need ut (...,3), sats (...,L,3), ref_sat (...,3); got {ut.shape}, {sats.shape}, {ref.shape}"
        )
    return ut, sats, ref


def unit_differences(ut, sats, ref_sat):
    """Eq. (7)'s ``a_i = (s_c − s_i)/d_i − (s_c − s_0)/d_0`` (unitless).

    ut: (..., 3); sats: (..., L, 3); ref_sat: (..., 3) Earth-fixed metres.
    Returns (..., L, 3).
    """
    ut, sats, ref = _check_geometry(ut, sats, ref_sat)
    e_i = ut[..., None, :] - sats
    e_i = e_i / np.linalg.norm(e_i, axis=-1, keepdims=True)
    e_0 = ut - ref
    e_0 = e_0 / np.linalg.norm(e_0, axis=-1, keepdims=True)
    return e_i - e_0[..., None, :]


def tdoa_jacobian(ut, sats, ref_sat):
    """Seed 002 eq. (7)'s ``A_c = (1/v)[a_1..a_L]^T``: d(TDOA)/d(s_c) in s/m.

    ut: (..., 3); sats: (..., L, 3); ref_sat: (..., 3) metres. Returns (..., L, 3).
    """
    return unit_differences(ut, sats, ref_sat) / C_LIGHT


def tdoa_covariance(toa_var, ref_var):
    """Seed 002 eq. (6)'s ``R_c = σ²_0 1 1^T + diag(σ²_1..σ²_L)`` in s².

    toa_var: (..., L) s²; ref_var: scalar or (...) s². Returns (..., L, L).
    """
    tv = np.asarray(toa_var, dtype=float)
    rv = np.asarray(ref_var, dtype=float)
    if np.any(tv < 0) or np.any(rv < 0):
        raise ValueError("TOA variances must be >= 0")
    L = tv.shape[-1]
    return rv[..., None, None] * np.ones((L, L)) + tv[..., :, None] * np.eye(L)


def _fisher(A, R):
    """``M = A^T R^{-1} A`` (..., 3, 3) and ``R^{-1} A`` (..., L, 3)."""
    RinvA = np.linalg.solve(R, A)
    return np.swapaxes(A, -1, -2) @ RinvA, RinvA


def _check_l(A):
    if A.shape[-2] < 3:
        raise ValueError(
            f"TDOA positioning in 3-D needs at least 3 satellites besides the reference, got {A.shape[-2]}"
        )


def tdoa_crlb(ut, sats, ref_sat, toa_var, ref_var):
    """Seed 002 eq. (7): position CRLB matrix ``(A^T R^{-1} A)^{-1}`` in m².

    ut: (3,) metres; sats: (L, 3) metres, L >= 3; ref_sat: (3,) metres;
    toa_var: (L,) s²; ref_var: scalar s². Leading batch dimensions are also
    accepted. Returns (3, 3) m² (its trace is the paper's CRLB_c). Raises
    ``numpy.linalg.LinAlgError`` for a singular geometry.
    """
    A = tdoa_jacobian(ut, sats, ref_sat)
    _check_l(A)
    M, _ = _fisher(A, tdoa_covariance(toa_var, ref_var))
    return np.linalg.inv(M)


def _trace_inv_sym(M):
    """``tr(M^{-1})`` for symmetric PSD (..., 3, 3); inf where rank deficient."""
    lam = np.linalg.eigvalsh(M)
    top = lam[..., -1:]
    ok = (lam[..., 0] > RANK_RTOL * top[..., 0]) & np.all(np.isfinite(lam), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tr = np.sum(1.0 / lam, axis=-1)
    return np.where(ok, tr, np.inf)


def positioning_accuracy(ut, sats, ref_sat, toa_var, ref_var):
    """``√CRLB_c = √tr(CRLB matrix)`` in metres (seed 002's reported accuracy).

    Same arguments as :func:`tdoa_crlb` (batched leading dimensions allowed);
    inf for a singular geometry.
    """
    A = tdoa_jacobian(ut, sats, ref_sat)
    _check_l(A)
    M, _ = _fisher(A, tdoa_covariance(toa_var, ref_var))
    return np.sqrt(_trace_inv_sym(M))


def gdop(ut, sats, ref_sat):
    """Seed 002 eq. (36): ``GDOP = √tr((Σ_i a_i a_i^T)^+)`` (unitless).

    ut: (..., 3); sats: (..., L, 3); ref_sat: (..., 3) metres. The pseudo-inverse
    (sum of 1/λ over eigenvalues above ``RANK_RTOL``·λ_max) applies while the
    rank is < 3; with no satellite (L = 0) the result is 0. Returns (...).
    """
    a = unit_differences(ut, sats, ref_sat)
    X = np.swapaxes(a, -1, -2) @ a
    lam = np.linalg.eigvalsh(X)
    keep = lam > RANK_RTOL * np.maximum(lam[..., -1:], np.finfo(float).tiny)
    with np.errstate(divide="ignore"):
        inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
    return np.sqrt(np.sum(inv, axis=-1))


def crlb_variance_gradient(A, R):
    """Seed 002 eq. (16): ``∂CRLB/∂σ²_i = z_i^T M^{-2} z_i`` in m²/s².

    A: (..., L, 3) s/m; R: (..., L, L) s². ``M = A^T R^{-1} A``,
    ``z_i = A^T R^{-1} e_i`` (the i-th row of R^{-1}A). Returns (..., L), > 0.
    """
    M, RinvA = _fisher(A, R)
    Y = np.linalg.solve(M, np.swapaxes(RinvA, -1, -2))  # M^{-1} z_i as columns (..., 3, L)
    return np.sum(Y * Y, axis=-2)


def sinr_gradient_from_A(A, sinr, bandwidth_hz, ref_var):
    """Eq. (17) on batched Jacobians A (..., L, 3) and SINRs (..., L)."""
    s = np.asarray(sinr, dtype=float)
    if np.any(s <= 0):
        raise ValueError("crlb_sinr_gradient needs sinr > 0 (linear)")
    tv = toa_variance(s, bandwidth_hz)
    dvar = crlb_variance_gradient(A, tdoa_covariance(tv, ref_var))
    return -dvar * tv / s  # dσ²/dSINR = −3/(4π²B²SINR²) = −σ²/SINR


def crlb_sinr_gradient(ut, sats, ref_sat, sinr, bandwidth_hz, ref_var):
    """Seed 002 eq. (17): ``∂CRLB/∂SINR_i = −3 z_i^T M^{-2} z_i / (4π² B² SINR_i²)``.

    ut: (3,); sats: (L, 3); ref_sat: (3,) metres (batched leading dimensions
    allowed); sinr: (L,) linear > 0; bandwidth_hz: Hz; ref_var: σ²_0 in s².
    Returns (L,) in m² per unit of linear SINR (all < 0: Proposition 1).
    """
    A = tdoa_jacobian(ut, sats, ref_sat)
    _check_l(A)
    return sinr_gradient_from_A(A, sinr, bandwidth_hz, ref_var)


def gather_schedule(delta):
    """Indices of scheduled satellites per UT, grouped by count.

    delta: (I, C) bool. Returns {L: (ut_idx (n,), sat_idx (n, L))}, satellites in
    increasing index order.
    """
    d = np.asarray(delta, dtype=bool)
    counts = d.sum(axis=0)
    groups = {}
    for L in np.unique(counts):
        uts = np.flatnonzero(counts == L)
        rows, cols = np.nonzero(d[:, uts].T)  # sorted by UT, then satellite
        groups[int(L)] = (uts, cols.reshape(len(uts), int(L)))
    return groups


def accuracy_per_ut(ut_pos, sat_pos, ref_pos, delta, sinr, bandwidth_hz, ref_var):
    """Batched eq. (7): ``√CRLB_c`` in metres for every UT of one drop.

    ut_pos: (C, 3); sat_pos: (I, 3); ref_pos: (3,) Earth-fixed metres;
    delta: (I, C) bool schedule; sinr: (I, C) linear (read where scheduled);
    bandwidth_hz: Hz; ref_var: σ²_0 in s². Returns (C,) metres; inf for a UT with
    fewer than 3 scheduled satellites, a zero SINR or a singular geometry.
    Vectorised over UTs (one batch per distinct number of scheduled satellites).
    """
    uts = np.asarray(ut_pos, dtype=float)
    sats = np.asarray(sat_pos, dtype=float)
    ref = np.asarray(ref_pos, dtype=float)
    d = np.asarray(delta, dtype=bool)
    s = np.asarray(sinr, dtype=float)
    I, C = d.shape
    if uts.shape != (C, 3) or sats.shape != (I, 3) or ref.shape != (3,) or s.shape != (I, C):
        raise ValueError(
            f"need ut_pos (C,3), sat_pos (I,3), ref_pos (3,), delta and sinr (I,C); got "
            f"{uts.shape}, {sats.shape}, {ref.shape}, {d.shape}, {s.shape}"
        )
    out = np.full(C, np.inf)
    for L, (u_idx, s_idx) in gather_schedule(d).items():
        if L < 3:
            continue
        snr = s[s_idx, u_idx[:, None]]  # (n, L)
        good = np.all(snr > 0, axis=1) & np.all(np.isfinite(snr), axis=1)
        if not np.any(good):
            continue
        u_idx, s_idx, snr = u_idx[good], s_idx[good], snr[good]
        A = tdoa_jacobian(uts[u_idx], sats[s_idx], ref)
        M, _ = _fisher(A, tdoa_covariance(toa_variance(snr, bandwidth_hz), ref_var))
        out[u_idx] = np.sqrt(_trace_inv_sym(M))
    return out


def tdoa_measurements(ut, sats, ref_sat):
    """Noise-free TDOAs ``G_c(s_c) = (d_i − d_0)/v`` of eq. (5) in seconds.

    ut: (..., 3); sats: (..., L, 3); ref_sat: (..., 3) metres. Returns (..., L).
    """
    ut, sats, ref = _check_geometry(ut, sats, ref_sat)
    d_i = np.linalg.norm(ut[..., None, :] - sats, axis=-1)
    d_0 = np.linalg.norm(ut - ref, axis=-1)
    return (d_i - d_0[..., None]) / C_LIGHT


def gauss_newton_tdoa(
    tdoa, sats, ref_sat, x0, *, cov=None, unit: str = "s", max_iter: int = 50, tol_m: float = 1e-6
):
    """Weighted Gauss–Newton TDOA position fix: ``min_x r^T R^{-1} r``, ``r = tdoa − G(x)``.

    tdoa: (L,) or a batch (T, L) of measured TDOAs, in seconds (``unit="s"``) or
    range differences in metres (``unit="m"``); sats: (L, 3), ref_sat: (3,) metres;
    x0: (3,) or (T, 3) start in metres; cov: (L, L) measurement covariance in the
    same unit squared (default identity: unweighted); max_iter, tol_m: stop when
    every step is below tol_m metres. Returns x (3,) or (T, 3) metres (vectorised
    over the batch). The step is ``(J^T R^{-1} J)^{-1} J^T R^{-1} r``.
    """
    if unit not in ("s", "m"):
        raise ValueError(f'unit must be "s" or "m", got {unit!r}')
    scale = 1.0 if unit == "s" else C_LIGHT
    meas = np.asarray(tdoa, dtype=float)
    single = meas.ndim == 1
    meas = np.atleast_2d(meas)
    sats = np.asarray(sats, dtype=float)
    ref = np.asarray(ref_sat, dtype=float)
    L = sats.shape[0]
    if meas.shape[-1] != L or L < 3:
        raise ValueError(
            f"need tdoa (..., L) matching sats (L, 3) with L >= 3; got {meas.shape}, {sats.shape}"
        )
    x = np.broadcast_to(np.asarray(x0, dtype=float), (meas.shape[0], 3)).copy()
    W = np.eye(L) if cov is None else np.linalg.inv(np.asarray(cov, dtype=float))
    for _ in range(max_iter):
        J = scale * tdoa_jacobian(x, np.broadcast_to(sats, x.shape[:1] + sats.shape), ref)
        r = meas - scale * tdoa_measurements(
            x, np.broadcast_to(sats, x.shape[:1] + sats.shape), ref
        )
        JtW = np.swapaxes(J, -1, -2) @ W
        step = np.linalg.solve(JtW @ J, (JtW @ r[..., None]))[..., 0]
        x = x + step
        if np.all(np.linalg.norm(step, axis=-1) < tol_m):
            break
    return x[0] if single else x


def gauss_newton_tdoa_each(
    tdoa, sats, ref_sat, x0, cov, *, max_iter: int = 50, tol_m: float = 1e-6
):
    """:func:`gauss_newton_tdoa` (seconds) for T UTs at once, each with its own satellites.

    tdoa (T, L) s; sats (T, L, 3), ref_sat (3,), x0 (T, 3) metres; cov (T, L, L) s². Each
    UT iterates as it would alone (its own stop: its step below tol_m metres), with the same
    numpy operations on stacked arrays, so every fix equals the one-UT call's. Returns
    (x (T, 3) metres, ok (T,) bool): ok False where the normal equations turned singular
    (the one-UT call raises ``numpy.linalg.LinAlgError`` there); x is then nan.
    """
    meas = np.asarray(tdoa, dtype=float)
    sats = np.asarray(sats, dtype=float)
    ref = np.asarray(ref_sat, dtype=float)
    x = np.array(x0, dtype=float)
    W = np.linalg.inv(np.asarray(cov, dtype=float))
    ok = np.ones(len(x), dtype=bool)
    active = np.arange(len(x))
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa, sa = x[active], sats[active]
        J = tdoa_jacobian(xa, sa, ref)
        r = meas[active] - tdoa_measurements(xa, sa, ref)
        JtW = np.swapaxes(J, -1, -2) @ W[active]
        N, rhs = JtW @ J, JtW @ r[..., None]
        try:
            step = np.linalg.solve(N, rhs)[..., 0]
        except np.linalg.LinAlgError:  # some UT's system is singular: solve one by one
            step = np.full((active.size, 3), np.nan)
            for n in range(active.size):
                try:
                    step[n] = np.linalg.solve(N[n : n + 1], rhs[n : n + 1])[0, :, 0]
                except np.linalg.LinAlgError:
                    ok[active[n]] = False
        x[active] = xa + step
        done = ~ok[active] | (np.linalg.norm(step, axis=-1) < tol_m)
        active = active[~done]
    x[~ok] = np.nan
    return x, ok


__all__ = [
    "RANK_RTOL",
    "accuracy_per_ut",
    "crlb_sinr_gradient",
    "crlb_variance_gradient",
    "gauss_newton_tdoa",
    "gauss_newton_tdoa_each",
    "gdop",
    "positioning_accuracy",
    "tdoa_covariance",
    "tdoa_crlb",
    "tdoa_jacobian",
    "tdoa_measurements",
    "toa_variance",
    "unit_differences",
]
