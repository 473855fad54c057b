"""Augmented-Lagrangian machinery shared by the fast ISAC designs (fast_design, fast_baselines,
fast_algorithm2): the PHR augmented Lagrangian's outer loop for min f(x) s.t. c(x) >= 0 and the
L-BFGS that solves its inner problems.

Outer step (Nocedal & Wright, Numerical Optimization, 2nd ed., Sec. 17.4, inequality form):
L_rho(x, lam) = f(x) + sum_j (max(0, lam_j - rho c_j(x))^2 - lam_j^2) / (2 rho); after the inner
minimisation lam <- max(0, lam - rho c(x)), and rho <- min(rho_growth rho, rho_max) when the
largest violation max_j(-c_j) was not cut by 4x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_triangular

__all__ = ["phr_penalty", "AlmResult", "augmented_lagrangian", "lbfgs"]


def phr_penalty(c, lam, rho: float) -> tuple[float, np.ndarray]:
    """PHR terms of the augmented Lagrangian for rows c(x) >= 0 (c, lam (m,), rho > 0): returns
    (value, act) with value = sum(act^2 - lam^2) / (2 rho), act = max(0, lam - rho c); the value's
    gradient is -sum_j act_j grad c_j."""
    act = np.maximum(0.0, lam - rho * c)
    return float(np.sum(act**2 - lam**2)) / (2.0 * rho), act


@dataclass
class AlmResult:
    """x: final point; lam (m,): multipliers; rho: final penalty; violation: max(-c) at x (0 when
    no rows); outer: outer iterations run; lbfgs_iterations: inner iterations in total; history:
    f(x) after each outer iteration; stopped_inner: True when ``inner_stop`` ended the run."""

    x: np.ndarray
    lam: np.ndarray
    rho: float
    violation: float
    outer: int
    lbfgs_iterations: int
    history: list = field(default_factory=list)
    stopped_inner: bool = False


def augmented_lagrangian(
    lagrangian,
    measure,
    x,
    lam,
    *,
    rho: float,
    max_outer: int,
    inner_iter: int,
    rho_growth: float = 5.0,
    rho_max: float = 1e8,
    ftol: float = 1e-12,
    inner_stop=None,
    outer_stop=None,
) -> AlmResult:
    """PHR augmented Lagrangian for min f(x) s.t. c(x) >= 0 (module docstring).

    lagrangian(x, lam, rho) -> (L_rho(x, lam), gradient), the caller's one-pass evaluation (use
    :func:`phr_penalty`); measure(x) -> (f(x), c(x) (m,)); x: start (real vector); lam (m,):
    starting multipliers. Each inner problem: :func:`lbfgs` with ``inner_iter`` iterations and
    ``ftol``; ``inner_stop(x)`` (optional) is called at every L-BFGS iteration and, when True, ends
    the whole run at once (multipliers not updated). After each outer step, ``outer_stop(x, f, violation,
    history)`` (optional) ends the run when True. Returns :class:`AlmResult`."""
    lam = np.asarray(lam, dtype=float).copy()
    stopped = [False]

    def callback(z):
        stopped[0] = bool(inner_stop(z))
        return stopped[0]

    history, n_lbfgs, viol_prev, viol, k = [], 0, np.inf, np.inf, 0
    for k in range(1, int(max_outer) + 1):  # noqa: B007 (k counts the outer iterations after the loop)
        x, _, nit = lbfgs(
            lambda z: lagrangian(z, lam, rho),  # noqa: B023 (called within this iteration only)
            x,
            max_iter=int(inner_iter),
            ftol=ftol,
            callback=callback if inner_stop is not None else None,
            every=1,
        )
        n_lbfgs += nit
        f, c = measure(x)
        c = np.asarray(c, dtype=float)
        viol = float(np.max(np.maximum(-c, 0.0))) if c.size else 0.0
        history.append(float(f))
        if stopped[0]:
            break
        lam = np.maximum(0.0, lam - rho * c)
        if viol > 0.25 * viol_prev:
            rho = min(rho * rho_growth, rho_max)
        viol_prev = viol
        if outer_stop is not None and outer_stop(x, f, viol, history):
            break
    return AlmResult(
        x=x,
        lam=lam,
        rho=rho,
        violation=viol,
        outer=k,
        lbfgs_iterations=n_lbfgs,
        history=history,
        stopped_inner=stopped[0],
    )


def lbfgs(
    fun, x, *, max_iter: int, memory: int = 60, ftol: float = 1e-12, callback=None, every: int = 50
):
    """Minimise a smooth fun(x) -> (value, gradient) by L-BFGS with Armijo backtracking; the
    inverse-Hessian product uses the compact representation (Nocedal & Wright, Numerical
    Optimization, eq. (7.24)) with the pairs in a ring buffer and S^T Y updated by one row and one
    column per new pair: five (memory x n) matrix-vector products per iteration (scipy's L-BFGS-B
    spends most of its time in threaded BLAS calls on these small vectors). Stops after ``max_iter``
    iterations or when 10 successive iterations decrease the value by less than ``ftol``
    relative, or when ``callback(x)`` (called every ``every`` iterations) returns True.
    Returns (x, value, iterations)."""
    n = x.size
    m = int(memory)
    Sb = np.zeros((m, n))
    Yb = np.zeros((m, n))
    SY = np.zeros((m, m))  # SY[i, j] = s_i . y_j over ring slots
    count = 0
    head = 0
    f, g = fun(x)
    stall = 0
    it = 0
    for it in range(1, max_iter + 1):
        if count:
            order = (head - count + np.arange(count)) % m
            SYo = SY[np.ix_(order, order)]
            R = np.triu(SYo)
            last = order[-1]
            gam = SY[last, last] / (Yb[last] @ Yb[last])
            u = (Sb @ g)[order]
            v = gam * (Yb @ g)[order]
            t = solve_triangular(R, u)
            tf = np.zeros(m)
            tf[order] = t
            Yt = Yb.T @ tf
            w = np.diag(SYo) * t + gam * (Yb @ Yt)[order] - v
            p = solve_triangular(R, w, trans="T")
            pf = np.zeros(m)
            pf[order] = p
            d = -(gam * g + Sb.T @ pf - gam * Yt)
        else:
            d = -g / max(np.linalg.norm(g), 1e-300)
        slope = g @ d
        if not slope < 0:  # not a descent direction: restart from steepest descent
            count = 0
            d = -g / max(np.linalg.norm(g), 1e-300)
            slope = g @ d
        step = 1.0
        while True:
            xn = x + step * d
            fn, gn = fun(xn)
            if fn <= f + 1e-4 * step * slope or step < 1e-12:
                break
            step *= 0.3
        s_, y_ = xn - x, gn - g
        sy = s_ @ y_
        if sy > 1e-12 * np.linalg.norm(s_) * np.linalg.norm(y_):
            Sb[head] = s_
            Yb[head] = y_
            SY[head, :] = Yb @ s_
            SY[:, head] = Sb @ y_
            head = (head + 1) % m
            count = min(count + 1, m)
        stall = stall + 1 if f - fn <= ftol * abs(f) else 0
        x, f, g = xn, fn, gn
        if stall >= 10:
            break
        if callback is not None and it % every == 0 and callback(x):
            break
    return x, f, it
