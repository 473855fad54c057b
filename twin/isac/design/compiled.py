"""Compiled kernels (numba) of the fast joint design of seed 000 (33): the augmented-Lagrangian
objective of :func:`twin.isac.design.fast_design.fast_design` (``rate_form = "log"``) with its
analytic gradient, and the L-BFGS that minimises it, run many iterations at a time.

The objective is the one of ``fast_design``'s ``phi`` written out in loops over the small arrays
and two BLAS products (no numpy call overhead): for the real vector x of the factors Y (K, N,
cols), stored interleaved (``x = Y.ravel().view(float)``: real and imaginary part of each entry
side by side, so ``x.view(complex)`` is Y without a copy; fast_design stacks all real parts
before all imaginary parts, a permutation of the same coordinates, which L-BFGS does not see):

* Z_k = sqrt(P_k^max) Y_k / ||Y_k||_F (:func:`twin.isac.design.factor_form.factors`);
* tr CRB of R_x = Z Z^H and its gradient E Sigma E^H Z (seed 000 eqs. (20), (23) through the
  Gram P = E^H Z, :func:`twin.isac.design.operators.crb_and_gradient`);
* the log-form SINR rows c_i = ln|h_i^H w_i|^2 - ln(gamma_i (I_i + 1))
  (:func:`twin.isac.design.factor_form.rate_log_slack`) in the PHR penalty
  (:func:`twin.isac.design.alm.phr_penalty`);
* the chain rule back to Y (:func:`twin.isac.design.factor_form.chain`).

:func:`lbfgs_run` is :func:`twin.isac.design.alm.lbfgs`'s method (Armijo backtracking, the same
curvature test, stall and restart rules, H_0 = (s^T y / y^T y) I from the newest pair) with the
inverse-Hessian product by the two-loop recursion (Nocedal & Wright, Numerical Optimization, 2nd
ed., Algorithm 7.4) instead of the compact form: the same direction in exact arithmetic. Its state
lives in arrays owned by the caller, so a run stops at every certificate checkpoint and resumes
exactly where it stopped.

Arrays: E (K, 3, N) complex steering vectors and derivatives; S_T, S_flat (16, 9K^2) complex (the
Gram maps of :class:`twin.isac.design.operators.FastOperators`); Hc = conj(Hn) (M, NK) and
HnT = Hn^T (NK, M), Hn the complex UE channels at unit noise; p_max (K,) W; gamma (M,) SINR targets with the design's margin; gamma_true (M,)
without it. Everything is float64/complex128; ``cache=True`` keeps the machine code on disk.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "objective",
    "measure",
    "rates_met",
    "lbfgs_run",
    "LBFGS_INT_FIELDS",
    "EVENT_END",
    "EVENT_CHECK",
]

#: floating-point licence of the kernels: reassociation (vectorised sums and dot products) and
#: fused multiply-add; no assumption of finite values (the kernels test for inf/nan)
_FAST = {"reassoc", "contract"}

#: lbfgs_run's integer state (istate): ring count, ring head, stall count, inner iteration,
#: global iteration (the certificate schedule's counter), 1 once the inner problem is over,
#: objective evaluations
LBFGS_INT_FIELDS = ("count", "head", "stall", "it", "total", "done", "evals")
#: lbfgs_run return codes: the inner problem ended (stall, or its iteration budget spent); a
#: certificate checkpoint was reached with every true rate target met
EVENT_END = 0
EVENT_CHECK = 1


@numba.njit(cache=True, fastmath=_FAST)
def _factors(x, p_max, K, N, cols):
    """Z (NK, cols) complex and the norms (K,) of the factors in x (interleaved, module docstring)."""
    Y = x.view(np.complex128).reshape(K * N, cols)
    Z = np.empty((K * N, cols), dtype=np.complex128)
    nrm = np.empty(K)
    for k in range(K):
        s = 0.0
        for n in range(k * N, (k + 1) * N):
            for j in range(cols):
                s += Y[n, j].real ** 2 + Y[n, j].imag ** 2
        nk = max(np.sqrt(s), 1e-300)
        nrm[k] = nk
        f = np.sqrt(p_max[k]) / nk
        for n in range(k * N, (k + 1) * N):
            for j in range(cols):
                Z[n, j] = Y[n, j] * f
    return Z, nrm


@numba.njit(cache=True, fastmath=_FAST)
def _crb_grad(Z, E, S_T, S_flat, c, K, N, cols, want_grad):
    """(tr CRB (m^2), dCRB/dZ* (NK, cols)) of R_x = Z Z^H, as operators.crb_and_gradient; crb = inf
    (zero gradient) when F_p is not positive definite."""
    n3 = 3 * K
    P = np.zeros((n3, cols), dtype=np.complex128)
    for k in range(K):
        for t in range(3):
            for n in range(N):
                e = np.conj(E[k, t, n])
                row = k * N + n
                for j in range(cols):
                    P[3 * k + t, j] += e * Z[row, j]
    Gam = np.empty(n3 * n3, dtype=np.complex128)
    for a in range(n3):
        for b in range(n3):
            s = 0j
            for j in range(cols):
                s += P[a, j] * np.conj(P[b, j])
            Gam[a * n3 + b] = s
    Qr = np.empty(16)
    for ab in range(16):
        s = 0.0
        for t in range(n3 * n3):
            s += S_T[ab, t].real * Gam[t].real - S_T[ab, t].imag * Gam[t].imag
        Qr[ab] = c * s
    Q = np.empty((4, 4))
    for a in range(4):
        for b in range(4):
            Q[a, b] = 0.5 * (Qr[4 * a + b] + Qr[4 * b + a])
    grad = np.zeros((K * N, cols), dtype=np.complex128)
    s33 = Q[3, 3]
    if not s33 > 0:
        return np.inf, grad
    q = Q[:3, 3].copy()
    Fp = np.empty((3, 3))
    for a in range(3):
        for b in range(3):
            Fp[a, b] = Q[a, b] - q[a] * q[b] / s33
    # Cholesky of the 3 x 3 F_p and A = F_p^{-1} = L^-T L^-1
    L = np.zeros((3, 3))
    for i in range(3):
        for j in range(i + 1):
            s = Fp[i, j]
            for m in range(j):
                s -= L[i, m] * L[j, m]
            if i == j:
                if not s > 0:
                    return np.inf, grad
                L[i, i] = np.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    Li = np.zeros((3, 3))
    for i in range(3):
        Li[i, i] = 1.0 / L[i, i]
        for j in range(i):
            s = 0.0
            for m in range(j, i):
                s += L[i, m] * Li[m, j]
            Li[i, j] = -s / L[i, i]
    A = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            s = 0.0
            for m in range(3):
                s += Li[m, i] * Li[m, j]
            A[i, j] = s
    crb = A[0, 0] + A[1, 1] + A[2, 2]
    if not want_grad:
        return crb, grad
    A2 = A @ A
    G = np.empty((4, 4))
    A2q = A2 @ q
    for i in range(3):
        for j in range(3):
            G[i, j] = -A2[i, j]
        G[i, 3] = A2q[i] / s33
        G[3, i] = A2q[i] / s33
    G[3, 3] = -(q @ A2q) / (s33 * s33)
    Sv = np.zeros(n3 * n3, dtype=np.complex128)
    for ab in range(16):
        gab = G[ab // 4, ab % 4]
        for t in range(n3 * n3):
            Sv[t] += gab * S_flat[ab, t]
    Sig = np.empty((n3, n3), dtype=np.complex128)
    for a in range(n3):
        for b in range(n3):
            Sig[a, b] = 0.5 * c * (Sv[a * n3 + b] + np.conj(Sv[b * n3 + a]))
    gP = np.zeros((n3, cols), dtype=np.complex128)
    for a in range(n3):
        for b in range(n3):
            sab = Sig[a, b]
            for j in range(cols):
                gP[a, j] += sab * P[b, j]
    for k in range(K):
        for t in range(3):
            for n in range(N):
                e = E[k, t, n]
                row = k * N + n
                for j in range(cols):
                    grad[row, j] += e * gP[3 * k + t, j]
    return crb, grad


@numba.njit(cache=True, fastmath=_FAST)
def _rate_rows(Z, Hc, gamma, M, cols):
    """Log-form SINR rows c (M,), g = Hn^* Z (M, cols), the interference-plus-noise (M,) and the
    useful power (M,) (factor_form.rate_log_slack); Hc = conj(Hn) (M, NK)."""
    g = Hc @ Z
    c = np.empty(M)
    interf = np.empty(M)
    useful = np.empty(M)
    for i in range(M):
        tot = 0.0
        for j in range(cols):
            tot += g[i, j].real ** 2 + g[i, j].imag ** 2
        u = max(g[i, i].real ** 2 + g[i, i].imag ** 2, 1e-300)
        useful[i] = u
        interf[i] = tot - u + 1.0
        c[i] = np.log(u) - np.log(gamma[i] * interf[i])
    return c, g, interf, useful


@numba.njit(cache=True, fastmath=_FAST)
def objective(x, lam, rho, E, S_T, S_flat, c, Hc, HnT, p_max, gamma, scale, K, N, M, cols):
    """(L_rho(x, lam), its gradient (x.size,)): fast_design's ``phi`` with rate_form "log"
    (module docstring) at the interleaved factors x. Returns (1e30, zeros) where F_p is not
    positive definite."""
    Z, nrm = _factors(x, p_max, K, N, cols)
    f, gf = _crb_grad(Z, E, S_T, S_flat, c, K, N, cols, True)
    out = np.zeros(x.size)
    if not np.isfinite(f):
        return 1e30, out
    cr, g, interf, useful = _rate_rows(Z, Hc, gamma, M, cols)
    pen = 0.0
    act = np.empty(M)
    for i in range(M):
        a = max(0.0, lam[i] - rho * cr[i])
        act[i] = a
        pen += a * a - lam[i] * lam[i]
    pen /= 2.0 * rho
    # Gz = scale gf + Hn^T (-act Cf g), Cf[i, j] = -1/interf_i (j != i), 1/useful_i (j = i)
    coef = np.empty((M, cols), dtype=np.complex128)
    for i in range(M):
        for j in range(cols):
            cf = 1.0 / useful[i] if j == i else -1.0 / interf[i]
            coef[i, j] = -act[i] * cf * g[i, j]
    Gz = HnT @ coef
    Y = x.view(np.complex128).reshape(K * N, cols)
    G = out.view(np.complex128).reshape(K * N, cols)
    for k in range(K):
        nk = nrm[k]
        fk = np.sqrt(p_max[k]) / nk
        proj = 0.0
        for n in range(k * N, (k + 1) * N):
            for j in range(cols):
                Gz[n, j] += scale * gf[n, j]
                proj += (Y[n, j].real * Gz[n, j].real + Y[n, j].imag * Gz[n, j].imag) / nk
        for n in range(k * N, (k + 1) * N):
            for j in range(cols):
                G[n, j] = 2.0 * fk * (Gz[n, j] - Y[n, j] / nk * proj)
    return scale * f + pen, out


@numba.njit(cache=True, fastmath=_FAST)
def measure(x, E, S_T, S_flat, c, Hc, p_max, gamma, K, N, M, cols):
    """(tr CRB (m^2), log-form SINR rows c (M,)) at x (fast_design's ``measure``)."""
    Z, _ = _factors(x, p_max, K, N, cols)
    f, _ = _crb_grad(Z, E, S_T, S_flat, c, K, N, cols, False)
    cr, _, _, _ = _rate_rows(Z, Hc, gamma, M, cols)
    return f, cr


@numba.njit(cache=True, fastmath=_FAST)
def rates_met(x, Hc, p_max, gamma_true, K, N, M, cols):
    """True when every linear SINR row (|h_i^H w_i|^2 - gamma_i (I_i + 1)) / (1 + gamma_i) >= 0 at
    the true targets gamma_true (M,) (factor_form.rate_slack, the certificate's entry test)."""
    Z, _ = _factors(x, p_max, K, N, cols)
    _, g, interf, useful = _rate_rows(Z, Hc, gamma_true, M, cols)
    for i in range(M):
        if (useful[i] - gamma_true[i] * interf[i]) / (1.0 + gamma_true[i]) < 0:
            return False
    return True


@numba.njit(cache=True, fastmath=_FAST)
def lbfgs_run(
    x,
    fg,
    g,
    Sb,
    Yb,
    rhob,
    istate,
    max_iter,
    ftol,
    check_every,
    early,
    lam,
    rho,
    E,
    S_T,
    S_flat,
    c,
    Hc,
    HnT,
    p_max,
    gamma,
    gamma_true,
    scale,
    K,
    N,
    M,
    cols,
):
    """Run L-BFGS iterations on ``objective`` (module docstring) from the state given, in place:
    x (n,), fg (1,) the value at x, g (n,) its gradient, Sb/Yb (m, n) the pair ring, rhob (m,)
    1 / s^T y per slot, istate (7,) int64 (``LBFGS_INT_FIELDS``). A fresh inner problem starts
    with count = head = stall = it = done = 0 and fg, g evaluated at x.

    After each iteration, as alm.lbfgs: stop the inner problem when 10 successive iterations
    decreased the value by <= ftol relative (no checkpoint on that iteration) or when ``it`` reaches
    max_iter; the global counter ``total`` advances, and at a checkpoint (total % check_every == 0
    or total in ``early``) with every true rate target met (:func:`rates_met`) the run returns
    EVENT_CHECK for the caller's certificate (call again to resume). Returns EVENT_END when the
    inner problem is over (after its last checkpoint, if any)."""
    n = x.size
    m = Sb.shape[0]
    count, head, stall, it, total = istate[0], istate[1], istate[2], istate[3], istate[4]
    if istate[5]:
        return EVENT_END
    f = fg[0]
    q = np.empty(n)
    alpha = np.empty(m)
    d = np.empty(n)
    xn = np.empty(n)
    event = EVENT_END
    while it < max_iter:
        it += 1
        if count > 0:
            for t in range(n):
                q[t] = g[t]
            for back in range(count):
                slot = (head - 1 - back) % m
                a = 0.0
                for t in range(n):
                    a += Sb[slot, t] * q[t]
                a *= rhob[slot]
                alpha[slot] = a
                for t in range(n):
                    q[t] -= a * Yb[slot, t]
            last = (head - 1) % m
            yy = 0.0
            for t in range(n):
                yy += Yb[last, t] * Yb[last, t]
            gam = 1.0 / (rhob[last] * yy)
            for t in range(n):
                d[t] = gam * q[t]
            for fwd in range(count):
                slot = (head - count + fwd) % m
                b = 0.0
                for t in range(n):
                    b += Yb[slot, t] * d[t]
                b = alpha[slot] - rhob[slot] * b
                for t in range(n):
                    d[t] += b * Sb[slot, t]
            for t in range(n):
                d[t] = -d[t]
        else:
            gn2 = max(np.sqrt(g @ g), 1e-300)
            for t in range(n):
                d[t] = -g[t] / gn2
        slope = g @ d
        if not slope < 0:  # not a descent direction: restart from steepest descent
            count = 0
            gn2 = max(np.sqrt(g @ g), 1e-300)
            for t in range(n):
                d[t] = -g[t] / gn2
            slope = g @ d
        step = 1.0
        while True:
            for t in range(n):
                xn[t] = x[t] + step * d[t]
            istate[6] += 1
            fn, gn = objective(
                xn, lam, rho, E, S_T, S_flat, c, Hc, HnT, p_max, gamma, scale, K, N, M, cols
            )
            if fn <= f + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.3
        sy = 0.0
        ss = 0.0
        yy = 0.0
        for t in range(n):
            s_t = xn[t] - x[t]
            y_t = gn[t] - g[t]
            sy += s_t * y_t
            ss += s_t * s_t
            yy += y_t * y_t
        if sy > 1e-12 * np.sqrt(ss) * np.sqrt(yy):
            for t in range(n):
                Sb[head, t] = xn[t] - x[t]
                Yb[head, t] = gn[t] - g[t]
            rhob[head] = 1.0 / sy
            head = (head + 1) % m
            count = min(count + 1, m)
        stall = stall + 1 if f - fn <= ftol * abs(f) else 0
        for t in range(n):
            x[t] = xn[t]
            g[t] = gn[t]
        f = fn
        if stall >= 10:
            istate[5] = 1  # the inner problem is over
            break
        total += 1
        checkpoint = total % check_every == 0
        for e in early:
            checkpoint = checkpoint or total == e
        if checkpoint and rates_met(x, Hc, p_max, gamma_true, K, N, M, cols):
            event = EVENT_CHECK
            break
    istate[0], istate[1], istate[2], istate[3], istate[4] = count, head, stall, it, total
    if event == EVENT_END:
        istate[5] = 1
    fg[0] = f
    return event
