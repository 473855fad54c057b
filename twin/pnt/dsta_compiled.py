"""DSTA's per-satellite threshold search (seed 002 Algorithm 1) compiled with numba.

:func:`twin.pnt.beamforming.dsta` runs, per satellite, ~30 fast feasibility tests (the
initial γ', the bisection of an infeasible γ' in dB, then one raise of +γ0 per test) and one
eq. (17) gradient per accepted raise. On the reference path each test and each gradient is a
chain of numpy calls on 12 x 12 matrices, so call overhead, not arithmetic, is the cost.
:func:`satellite_search` runs the whole search of one satellite in compiled code: the tests
of :func:`twin.pnt.feasibility.fast_reduced` (same warm start, patience, cold restart) on
:func:`twin.pnt.kernels.fast_iterations`, the gradient :func:`crlb_sinr_gradient` and the
search's control flow, line for line the same as the numpy path in ``dsta``. The rare steps
that need scipy or cvxpy (the convex-combination certificate's LP, the zero-forcing start,
the SOCP fallback of an undecided test) call back into Python (``numba.objmode``).

Every result equals the numpy path up to rounding: same statuses, test counts and
thresholds on the replay drops, SINRs within 1e-6 relative (tests/pnt/test_kernels.py).
The tolerances and limits (FEAS_RTOL, WARM_PATIENCE, ...) are read from
:mod:`twin.pnt.feasibility` at each call, never frozen into the compiled code.
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

import twin.pnt.feasibility as fz
from twin.pnt.kernels import (
    COMBINE,
    FEASIBLE,
    INFEASIBLE,
    SINGLE_USER,
    fast_iterations,
    lu_factor,
    lu_solve,
    normalised_sinr_of,
)

#: Satellite outcomes of :func:`satellite_search` (``BeamResult.status`` names).
STATUSES = ("ok", "lowered", "infeasible")
#: Counter slots (added to :data:`twin.pnt.feasibility.STATS` by the caller).
CALLS, ITERATIONS, FALLBACKS, SINGLE_USER_REJECTIONS, FARKAS_CHECKS = range(5)
#: Slots of the tolerance vector ``limits`` (from :mod:`twin.pnt.feasibility`).
LIMIT_NAMES = (
    "FEAS_RTOL",
    "HISTORY",
    "COMBINE_EVERY",
    "MU_FLOOR",
    "WARM_PATIENCE",
    "FAST_MAX_ITER",
)


def limits() -> np.ndarray:
    """The fast test's current limits (:data:`LIMIT_NAMES`) as a float vector."""
    return np.array(
        [float(getattr(fz, name)) for name in LIMIT_NAMES[:-1]]
        + [float(fz.fast_reduced.__kwdefaults__["max_iter"])]
    )


# ----------------------------------------------------------------- Python callbacks
def _cold(Hn):
    return np.ascontiguousarray(fz.cold_directions(Hn), dtype=complex)


def _combine(Hn, gamma, hist_V, hist_phase, hist_p, n_hist):
    X = fz.combine_ring(Hn, gamma, hist_V, hist_phase, hist_p, n_hist)
    if X is None:
        return False, np.zeros((Hn.shape[1], Hn.shape[0]), dtype=complex)
    return True, np.ascontiguousarray(X, dtype=complex)


def _socp(Hn, gamma):
    ok, X = fz.socp_reduced(Hn, gamma)
    if not ok:
        return False, np.zeros((Hn.shape[1], Hn.shape[0]), dtype=complex)
    return True, np.ascontiguousarray(X, dtype=complex)


@njit(cache=True)
def _cold_nb(Hn):
    with objmode(V="complex128[:, ::1]"):
        V = _cold(Hn)
    return V


@njit(cache=True)
def _combine_nb(Hn, gamma, hist_V, hist_phase, hist_p, n_hist):
    with objmode(ok="boolean", X="complex128[:, ::1]"):
        ok, X = _combine(Hn, gamma, hist_V, hist_phase, hist_p, n_hist)
    return ok, X


@njit(cache=True)
def _socp_nb(Hn, gamma):
    with objmode(ok="boolean", X="complex128[:, ::1]"):
        ok, X = _socp(Hn, gamma)
    return ok, X


# ----------------------------------------------------------------- eq. (17)
@njit(cache=True)
def crlb_sinr_gradient(A, s, var_den, ref_var, out):
    """Eq. (17) as :func:`twin.pnt.crlb.sinr_gradient_from_A` for one UT; False where that
    raises (a SINR ≤ 0, a singular system).

    A (L, 3) TDOA Jacobian in s/m; s (L,) linear SINRs; var_den = 4π²B² (eq. (3):
    σ² = 3/(var_den·SINR)); ref_var σ²_0 in s²; out (L,) gets ∂CRLB/∂SINR in m².
    R = σ²_0 11^T + diag(σ²) (eq. (6)), M = A^T R^{-1} A, ∂CRLB/∂σ²_i = ‖M^{-1} z_i‖² with
    z_i = A^T R^{-1} e_i (eq. (16)), dσ²/dSINR = −σ²/SINR.
    """
    L = A.shape[0]
    for i in range(L):
        if not s[i] > 0:
            return False
    tv = np.empty(L)
    R = np.empty((L, L))
    for i in range(L):
        tv[i] = 3.0 / (var_den * s[i])
        for j in range(L):
            R[i, j] = ref_var
        R[i, i] = ref_var + tv[i]
    piv, ok = lu_factor(R)
    if not ok:
        return False
    RinvA = np.empty((L, 3))
    col = np.empty(L)
    for k in range(3):
        lu_solve(R, piv, A[:, k].copy(), col)
        RinvA[:, k] = col
    M = A.T @ RinvA
    piv3, ok = lu_factor(M)
    if not ok:
        return False
    y = np.empty(3)
    for i in range(L):
        lu_solve(M, piv3, RinvA[i].copy(), y)
        out[i] = -(y[0] ** 2 + y[1] ** 2 + y[2] ** 2) * tv[i] / s[i]
    return True


@njit(cache=True)
def _gradient(jac_len, jac_idx, jac_A, c, i, sinr_est, var_den, ref_var):
    """``beamforming._gradient``: ∂CRLB_c/∂SINR_{i,c}; 0 when UT c has < 3 satellites."""
    L = jac_len[c]
    if L < 3:
        return 0.0
    idx = jac_idx[c, :L]
    s = np.empty(L)
    pos = 0
    for n in range(L):
        s[n] = sinr_est[idx[n], c]
        if idx[n] < i:
            pos += 1
    g = np.empty(L)
    if not crlb_sinr_gradient(jac_A[c, :L], s, var_den, ref_var, g):
        return 0.0
    return g[pos]  # idx is sorted: searchsorted(idx, i)


# ----------------------------------------------------------------- the fast test
@njit(cache=True)
def _core(Hn, gamma, V_in, mu_in, has_state, max_iter, counters, lim):
    """``feasibility._fast_core_compiled``: (verdict 1/0/-1 for True/False/None, X, V, mu, n)."""
    K, r = Hn.shape
    counters[CALLS] += 1
    history = int(lim[1])
    if has_state:
        V = V_in.copy()
        mu = mu_in.copy()
    else:
        V = _cold_nb(Hn)
        mu = np.ones(K)
    hist_V = np.empty((history, r, K), dtype=np.complex128)
    hist_phase = np.empty((history, K), dtype=np.complex128)
    hist_p = np.empty((history, K))
    p = np.empty(K)
    q = np.empty(K)
    start = 0
    n_hist = 0
    resume = False
    while True:
        code, n, n_hist, checks, X = fast_iterations(
            Hn, gamma, V, mu, start, max_iter, hist_V, hist_phase, hist_p, n_hist, resume, p, q,
            lim[0], history, int(lim[2]), lim[3],
        )  # fmt: skip
        counters[FARKAS_CHECKS] += checks
        if code == FEASIBLE:
            return 1, X, V, mu, n
        if code == SINGLE_USER:
            counters[SINGLE_USER_REJECTIONS] += 1
            return 0, X, V, mu, 0
        if code == INFEASIBLE:
            return 0, X, V, mu, n
        if code != COMBINE:
            return -1, X, V, mu, n
        ok, Xc = _combine_nb(Hn, gamma, hist_V, hist_phase, hist_p, n_hist)
        if ok:
            return 1, Xc, V, mu, n
        start = n
        resume = True


@njit(cache=True)
def _fast_test(Hn, gamma, has_state, V_s, mu_s, counters, lim):
    """``feasibility.fast_reduced`` (warm patience, restart, cold restart): (verdict, X, V, mu);
    V, mu are the new warm state when verdict is 1. One call site of :func:`_core` (each
    inlined copy costs compile time)."""
    K = Hn.shape[0]
    max_iter = int(lim[5])
    patience = int(lim[4])
    # stage 0: warm start for WARM_PATIENCE iterations; 1: warm directions with uniform dual
    # weights (or the only run); 2: cold restart
    stage = 0 if has_state and max_iter > patience else 1
    V0, mu0, warm, budget = V_s, mu_s, has_state, patience if stage == 0 else max_iter
    n = 0
    while True:
        v, X, V, mu, m = _core(Hn, gamma, V0, mu0, warm, budget, counters, lim)
        n += m
        if stage == 0 and v == -1 and m == patience:  # the dual weights are stale
            stage, V0, mu0, warm, budget = 1, V_s, np.ones(K), True, max_iter - n
        elif stage <= 1 and v == -1 and has_state and n < max_iter:  # restart cold
            stage, V0, mu0, warm, budget = 2, V_s, mu_s, False, max_iter - n
        else:
            break
    counters[ITERATIONS] += n
    return v, X, V, mu


@njit(cache=True)
def _normalised_sinr(Hn, X, out):
    """Eq. (2) with unit noise (``feasibility.normalised_sinr``): Hn (K, r), X (r, K)."""
    for c in range(Hn.shape[0]):
        out[c] = normalised_sinr_of(Hn, X, c)


@njit(cache=True)
def _thresholds(x_db, common, gamma_init, ceiling):
    t = 10 ** (x_db / 10)
    if common:
        return np.full(ceiling.shape[0], t)
    return np.minimum(gamma_init, ceiling * t)


@njit(cache=True)
def _test(Hn, gamma, st, warm_start, counters, lim):
    """``beamforming._SatelliteTests.test`` for the fast method: (ok, X, new warm state); an
    undecided test falls back to the SOCP (Python), a feasible one becomes the warm state."""
    has_state, V_s, mu_s = st
    v, X, V, mu = _fast_test(Hn, gamma, has_state, V_s, mu_s, counters, lim)
    if v == -1:
        counters[FALLBACKS] += 1
        ok, Xs = _socp_nb(Hn, gamma)
        return ok, Xs, st
    if v == 1 and warm_start:
        return True, X, (True, V, mu)
    return v == 1, X, st


# ----------------------------------------------------------------- one satellite
@njit(cache=True)
def satellite_search(
    Hn,
    i,
    cs,
    common,
    grid_steps,
    ceiling,
    hi_db,
    lo_db,
    gamma_init,
    gamma_step,
    gamma_max,
    tol_db,
    warm_start,
    sinr_est,
    jac_len,
    jac_idx,
    jac_A,
    var_den,
    ref_var,
    counters,
    lim,
):
    """DSTA on satellite ``i`` (the fast-test branch of ``beamforming.dsta``'s loop body).

    Hn (K, r) normalised reduced channels of its UTs ``cs`` (K,); common: one common
    threshold in the bisection ("common" and "grid" rules; else "per_ut" with ``ceiling``
    (K,) = SNR0_c); grid_steps: the "grid" rule's steps down γ' − kγ0, k = 1 .. grid_steps,
    tried before the bisection (0 for the other rules); hi_db, lo_db: the
    bisection's bracket; gamma_* linear; tol_db; warm_start; sinr_est (I, C) the SINR
    estimates (updated in place: row i); jac_len (C,), jac_idx (C, Lmax), jac_A (C, Lmax, 3)
    each UT's scheduled satellites and TDOA Jacobian; var_den = 4π²B²; ref_var σ²_0;
    counters (5,) int64 (CALLS ...); lim: :func:`limits`. Returns (status index into
    STATUSES, tests run, X (r, K) normalised beams of the last feasible test).
    """
    K, r = Hn.shape
    st = (False, np.zeros((r, K), dtype=np.complex128), np.ones(K))  # warm state
    gam = np.full(K, gamma_init)
    trial = gam.copy()
    X = np.zeros((r, K), dtype=np.complex128)
    est = np.empty(K)
    grad = np.zeros(K)
    raisable = np.ones(K, dtype=np.bool_)
    status = 0
    n_tests = 0
    mid = 0.0
    best = -1
    k_down = 0
    # phase of the test just run: 0 γ', 1 the bisection floor, 2 a bisection midpoint, 3 a raise,
    # 4 a grid step (one call site of _test: each inlined copy costs compile time)
    phase = 0
    while True:
        ok, Xt, st = _test(Hn, trial, st, warm_start, counters, lim)
        n_tests += 1
        if phase == 0 and not ok and grid_steps > 0:  # "grid": γ' − γ0, γ' − 2γ0, ...
            phase = 4
            k_down = 1
            trial = np.full(K, gamma_init - gamma_step)
            continue
        if phase == 4 and not ok:
            k_down += 1
            if k_down <= grid_steps:
                trial = np.full(K, gamma_init - k_down * gamma_step)
                continue
            phase = 0  # no grid step is feasible: the bisection from the floor, as "common"
        if phase == 0 and not ok:  # γ' infeasible: lower by bisection, from the floor
            phase = 1
            trial = _thresholds(lo_db, common, gamma_init, ceiling)
            continue
        if phase == 1 and not ok:
            for k in range(K):
                sinr_est[i, cs[k]] = 0.0
            return 2, n_tests, Xt
        if phase == 2:
            if ok:
                lo_db, X = mid, Xt
            else:
                hi_db = mid
        elif phase == 3:
            if ok:
                gam, X = trial, Xt
                _normalised_sinr(Hn, X, est)
                for k in range(K):
                    sinr_est[i, cs[k]] = est[k]
                grad[best] = _gradient(
                    jac_len, jac_idx, jac_A, cs[best], i, sinr_est, var_den, ref_var
                )
            else:
                raisable[best] = False
        elif phase == 4:  # a feasible grid step: the raises start from it
            gam, X = trial, Xt
            status = 1
        else:  # a feasible γ' (phase 0) or floor (phase 1)
            X = Xt
            phase = 0 if phase == 0 else 2
        if phase == 2:
            if hi_db - lo_db > tol_db:
                mid = 0.5 * (hi_db + lo_db)
                trial = _thresholds(mid, common, gamma_init, ceiling)
                continue
            gam = _thresholds(lo_db, common, gamma_init, ceiling)
            status = 1
        if phase != 3:  # the raises start: SINR estimates and eq. (17) gradients of X
            phase = 3
            _normalised_sinr(Hn, X, est)
            for k in range(K):
                sinr_est[i, cs[k]] = est[k]
            for k in range(K):
                grad[k] = _gradient(jac_len, jac_idx, jac_A, cs[k], i, sinr_est, var_den, ref_var)
        best = -1
        for k in range(K):  # argmin of the gradient over raisable UTs below γ_max (first wins)
            if raisable[k] and gam[k] < gamma_max and (best < 0 or grad[k] < grad[best]):
                best = k
        if best < 0:
            break
        trial = gam.copy()
        trial[best] += gamma_step
    return status, n_tests, X


class CompiledSearch:
    """One drop's constant inputs of :func:`satellite_search`, and the call per satellite.

    jac: ``beamforming._ut_jacobians``'s {UT: (satellites (L,), Jacobian (L, 3))}; C UTs;
    the rest as :func:`twin.pnt.beamforming.dsta`'s arguments. The fast test's counters go to
    :data:`twin.pnt.feasibility.STATS` after each satellite.
    """

    def __init__(
        self,
        jac,
        C,
        *,
        bandwidth_hz,
        ref_var,
        gamma_init,
        gamma_step,
        gamma_max,
        bisection_tol_db,
        bisection_floor_db,
        warm_start,
        threshold_rule,
    ):
        L_max = max([len(idx) for idx, _ in jac.values()] + [1])
        self.jac_len = np.zeros(C, dtype=np.int64)
        self.jac_idx = np.zeros((C, L_max), dtype=np.int64)
        self.jac_A = np.zeros((C, L_max, 3))
        for c, (idx, A) in jac.items():
            self.jac_len[c] = len(idx)
            self.jac_idx[c, : len(idx)] = idx
            self.jac_A[c, : len(idx)] = A
        b = np.asarray(bandwidth_hz, dtype=float)
        self.var_den = float(4.0 * np.pi**2 * b**2)  # eq. (3)'s denominator, as toa_variance
        self.ref_var = float(ref_var)
        self.gamma = (float(gamma_init), float(gamma_step), float(gamma_max))
        self.tol_db, self.floor_db = float(bisection_tol_db), float(bisection_floor_db)
        self.warm_start = bool(warm_start)
        self.common = threshold_rule in ("common", "grid")
        self.grid_steps = (
            int(np.ceil(gamma_init / gamma_step)) - 1 if threshold_rule == "grid" else 0
        )
        self.lim = limits()

    def search(self, i, cs, Hn, ceiling, sinr_est):
        """(status, tests, X (r, K)) of satellite i with UTs cs (K,), normalised reduced
        channels Hn (K, r), ceiling (K,) the UTs' SNR0 (eq. (35); "per_ut" rule only, else
        None); sinr_est (I, C) float, row i updated."""
        gamma_init = self.gamma[0]
        if self.common:  # the bisection's bracket, as in beamforming.dsta
            ceiling = np.zeros(len(cs))
            hi_db = 10 * np.log10(gamma_init)
            lo_db = hi_db + self.floor_db
        else:
            with np.errstate(divide="ignore"):
                hi_db = 10 * np.log10(gamma_init / ceiling.min())
            lo_db = min(hi_db, 0.0) + self.floor_db
        counters = np.zeros(5, dtype=np.int64)
        code, n, X = satellite_search(
            np.ascontiguousarray(Hn, dtype=complex),
            int(i),
            np.asarray(cs, dtype=np.int64),
            self.common,
            self.grid_steps,
            ceiling,
            float(hi_db),
            float(lo_db),
            *self.gamma,
            self.tol_db,
            self.warm_start,
            sinr_est,
            self.jac_len,
            self.jac_idx,
            self.jac_A,
            self.var_den,
            self.ref_var,
            counters,
            self.lim,
        )
        fz.STATS.calls += int(counters[CALLS])
        fz.STATS.iterations += int(counters[ITERATIONS])
        fz.STATS.fallbacks += int(counters[FALLBACKS])
        fz.STATS.single_user_rejections += int(counters[SINGLE_USER_REJECTIONS])
        fz.STATS.farkas_checks += int(counters[FARKAS_CHECKS])
        return STATUSES[code], int(n), X


__all__ = [
    "LIMIT_NAMES",
    "STATUSES",
    "CompiledSearch",
    "crlb_sinr_gradient",
    "limits",
    "satellite_search",
]
