"""Fast joint ISAC transmit design for seed 000 problem (33) (seed-math B.6): a first-order
method directly on the beamformers, certified against the SDR lower bound.

Method (docs/isac-fast-design.md):

* The design is parametrised by its factors Z = [V, L] (NK x (M + r)): communication beams
  V = [w~_1 .. w~_M] (rank-one W_m, as (33) requires) and a sensing factor L (NK x r) with
  R = L L^H, so R_x = Z Z^H. ``sensing_rank="full"`` uses r = 3K sensing streams (the FIM sees
  R_x only through the 3 vectors a_k, da_k/dtheta, da_k/dphi per satellite), ``"one"`` uses r = 1
  (the paper's single sensing waveform r~).
* Each satellite's rows Z_k = sqrt(P_k^max) Y_k / ||Y_k||_F: the power constraint (33b) holds with
  equality by construction. (Spending the full budget loses nothing when M < N: leftover power can
  always be put on a sensing direction orthogonal to every UE channel of that satellite, which
  cannot increase the CRB and does not change any SINR.)
* The rate constraints (33c), the SINR form of seed-math B.6 [R] written as
  ln|h_i^H w_i|^2 >= ln(gamma_i (interference_i + noise)) (dimensionless rows), are handled by an
  augmented Lagrangian with a small penalty (:mod:`twin.isac.design.alm`, shared with fast_baselines and
  fast_algorithm2); each inner problem is minimised by its L-BFGS with the analytic gradient: grad_{Z*} CRB = E Sigma E^H Z (Sigma from G = dCRB/dQ,
  Q the 4 x 4 position/alpha FIM).
* Stopping rule: the weak-duality certificate of :mod:`twin.isac.design.dual_bound` (a lower bound on the
  SDR optimum from the gradient of the CRB at the iterate and multipliers fitted to stationarity)
  is evaluated every few dozen iterations; the design is returned as soon as it meets every rate
  target and is proven within ``gap_tol`` of the SDR optimum.
* Warm start: pass the previous epoch's result (its factors and multipliers are reused).

The design returned is re-evaluated from scratch (:func:`twin.isac.design.problem.evaluate_design`):
RCRB with ``location_crb``, rates with ``sinr_rate``, powers with ``satellite_powers``. If a rate
target is missed the status is the fallback of :mod:`twin.isac.design.problem` (never raises).

The CRB and its gradient in factor form are :mod:`twin.isac.design.operators`; the parametrisation
and the SINR rows are :mod:`twin.isac.design.factor_form`.
"""

from __future__ import annotations

import time

import numpy as np

from twin.isac.design.alm import augmented_lagrangian, phr_penalty
from twin.isac.design.dual_bound import dual_lower_bound, optimise_multipliers
from twin.isac.design.factor_form import (
    chain,
    factors,
    initial_point,
    rate_log_slack,
    rate_slack,
    sinr_signs,
    to_complex,
    to_real,
)
from twin.isac.design.operators import FastOperators, crb_and_gradient
from twin.isac.design.problem import DesignProblem, DesignResult, evaluate_design, fallback_design

__all__ = ["fast_design", "SENSING_RANKS", "check_options", "fallback_if_unmet"]

SENSING_RANKS = ("full", "one")


# ---------------------------------------------------------------------------
# the design


def check_options(sensing_rank, tol, max_iter, rate_margin):
    """Raise ValueError on an option of fast_design (and its compiled twin) out of range."""
    if sensing_rank not in SENSING_RANKS:
        raise ValueError(f"sensing_rank must be one of {SENSING_RANKS}, got {sensing_rank!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter}")
    if not 0 <= rate_margin < 1:
        raise ValueError(f"rate_margin must be in [0, 1), got {rate_margin}")


def fast_design(
    problem: DesignProblem,
    *,
    warm_start: DesignResult | None = None,
    sensing_rank: str = "full",
    tol: float = 1e-6,
    max_iter: int = 20,
    inner_iter: int = 1000,
    rate_margin: float = 1e-3,
    seed: int = 0,
    ops: FastOperators | None = None,
    gap_tol: float = 2e-3,
    check_every: int = 50,
    rho0: float = 0.01,
    rho_growth: float = 5.0,
    rho_max: float = 1e8,
    rate_form: str = "log",
) -> DesignResult:
    """Joint design of seed 000 (33) by an augmented Lagrangian on the beamformers (module docstring).

    problem: :class:`twin.isac.design.problem.DesignProblem`. warm_start: a previous result (e.g. the last
    epoch's) whose beams/sensing factors start the iteration (its dimensions must match; else ignored).
    sensing_rank: "full" (r = 3K sensing streams, R of any rank) or "one" (single sensing waveform
    r~, the paper's (33)). tol: stop when the relative CRB change of an outer iteration and the
    largest normalised SINR violation are below it. max_iter: outer (multiplier) iterations;
    inner_iter: L-BFGS iterations per outer iteration. rate_margin: relative SINR margin targeted
    internally so the returned design meets eta despite the finite accuracy. seed: RNG seed of the
    small random part of the cold start. ops: precomputed
    :func:`twin.isac.design.operators.fast_operators` (optional).
    gap_tol: stop as soon as the iterate meets every rate target and its dual certificate
    (:func:`twin.isac.design.dual_bound.dual_lower_bound`) proves RCRB <= (1 + gap_tol) sqrt(SDR optimum);
    checked every ``check_every`` L-BFGS iterations, and also after 10 and 20 iterations of a warm
    start (gap_tol = 0 disables the certificate stop).
    rho0: initial augmented-Lagrangian penalty (in units of the CRB normalised by the isotropic
    design's), multiplied by ``rho_growth`` (capped at ``rho_max``) when an outer iteration does not
    cut the rate violation by 4x. A small rho0 keeps the inner problems well conditioned; the
    multiplier updates then enforce the rates (docs/isac-fast-design.md has the measured sweep).
    rate_form: "log" (default) puts the SINR rows in the augmented Lagrangian as
    ln|h_i^H w_i|^2 - ln(gamma_i (I_i + 1)) >= 0 (each row dimensionless: the linear rows are
    O(interference / noise) ~ 10-700 at Table II size, which made the inner problems
    ill-conditioned); "linear" keeps the previous linear rows divided by (1 + gamma_i).

    Returns a :class:`DesignResult` (scheme "fast_design") evaluated from scratch; status "optimal"
    when every rate target and power limit holds, else the fallback of :mod:`twin.isac.design.problem`
    with cause "infeasible". extra: "max_violation", "lbfgs_iterations", "factors", "multipliers",
    "certificate" (the last :class:`twin.isac.design.dual_bound.DualCertificate`, or None), "dual_bound_m"
    (its sqrt bound, a lower bound on every feasible design's RCRB), "dual_gap" (RCRB / dual_bound_m - 1),
    "certificate_checks", "rho".
    """
    check_options(sensing_rank, tol, max_iter, rate_margin)
    if rate_form not in ("log", "linear"):
        raise ValueError(f"rate_form must be 'log' or 'linear', got {rate_form!r}")
    if not 0 <= gap_tol < 1:
        raise ValueError(f"gap_tol must be in [0, 1), got {gap_tol}")
    if int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every}")
    t0 = time.perf_counter()
    pb = problem
    ops = ops if ops is not None else FastOperators(pb)
    K, N, M = pb.K, pb.N, pb.M
    r = 3 * K if sensing_rank == "full" else 1
    cols = M + r
    gamma = (2.0**pb.eta - 1.0) * (1.0 + rate_margin)
    S = sinr_signs(M, cols, gamma)
    p_max = pb.p_max_w
    rng = np.random.default_rng(seed)

    Y = None
    Y_warm = False
    lam = np.zeros(M)
    if warm_start is not None and "factors" in warm_start.extra:
        Yw = np.asarray(warm_start.extra["factors"])
        if Yw.shape == (K, N, cols):
            Y = Yw.copy()
            Y_warm = True
            lw = np.asarray(warm_start.extra.get("multipliers", lam))
            lam = lw.copy() if lw.shape == (M,) else lam
    if Y is None:
        Y = initial_point(ops, r, rng)
    # CRB unit: the isotropic full-power design
    Ziso = np.zeros((K * N, K * N), dtype=complex)
    Ziso[np.arange(K * N), np.arange(K * N)] = np.repeat(np.sqrt(p_max / N), N)
    crb0, _ = crb_and_gradient(ops, Ziso)
    scale = 1.0 / crb0 if np.isfinite(crb0) and crb0 > 0 else 1.0

    shape = Y.shape

    def unpack(x):
        return to_complex(x, shape)

    def pack(Yc):
        return to_real(Yc)

    def phi(x, lam, rho):
        Yc = unpack(x)
        Z, nrm = factors(Yc, p_max)
        f, gf = crb_and_gradient(ops, Z)
        if not np.isfinite(f):
            return 1e30, np.zeros_like(x)
        if rate_form == "log":
            c, g, Cf = rate_log_slack(ops, Z, gamma)
        else:
            c, g = rate_slack(ops, Z, S, gamma)
            Cf = S / (1.0 + gamma)[:, None]
        pen, act = phr_penalty(c, lam, rho)
        val = scale * f + pen
        Gz = scale * gf + ops.Hn.T @ (-act[:, None] * Cf * g)
        Gy = chain(Yc, nrm, Gz.reshape(shape), p_max)
        return val, 2.0 * to_real(Gy)

    gamma_true = 2.0**pb.eta - 1.0
    S_true = sinr_signs(M, cols, gamma_true)
    state = {"cert": None, "done": False, "checks": 0, "last_opt": -100, "it": 0}
    # certificate schedule: every check_every L-BFGS iterations, and early (10, 20) after a warm start
    early = (10, 20) if Y_warm else ()

    def certify_point(x):
        """True when x meets every rate target and its dual gap is <= gap_tol (stores the certificate)."""
        Z, _ = factors(unpack(x), p_max)
        c_true, _ = rate_slack(ops, Z, S_true, gamma_true)
        if np.min(c_true) < 0:
            return False
        state["checks"] += 1
        cert = dual_lower_bound(ops, pb.H, pb.comm_noise, pb.eta, p_max, Z[:, :M], Z[:, M:])
        if gap_tol < cert.gap <= 5.0 * gap_tol and state["checks"] - state["last_opt"] >= 10:
            # close: the stationarity multipliers are not the best ones; maximise the bound over them
            state["last_opt"] = state["checks"]
            cert = optimise_multipliers(
                ops,
                pb.H,
                pb.comm_noise,
                pb.eta,
                p_max,
                Z[:, :M],
                Z[:, M:],
                lam0=cert.lam,
                mu0=cert.mu,
            )
        state["cert"] = cert
        state["done"] = cert.gap <= gap_tol
        return state["done"]

    def scheduled(x):
        state["it"] += 1
        if state["it"] % int(check_every) == 0 or state["it"] in early:
            return certify_point(x)
        return False

    def measure(x):
        Z, _ = factors(unpack(x), p_max)
        c = (
            rate_log_slack(ops, Z, gamma)[0]
            if rate_form == "log"
            else rate_slack(ops, Z, S, gamma)[0]
        )
        return crb_and_gradient(ops, Z)[0], c

    def outer_stop(x, f, viol, history):
        if gap_tol > 0 and certify_point(x):
            return True
        return len(history) > 1 and abs(history[-2] - f) <= tol * f and viol <= tol

    run = augmented_lagrangian(
        phi,
        measure,
        pack(Y),
        lam,
        rho=float(rho0),
        max_outer=max_iter,
        inner_iter=inner_iter,
        rho_growth=rho_growth,
        rho_max=rho_max,
        inner_stop=scheduled if gap_tol > 0 else None,
        outer_stop=outer_stop,
    )
    x, lam, rho, viol, history, n_lbfgs = (
        run.x,
        run.lam,
        run.rho,
        run.violation,
        run.history,
        run.lbfgs_iterations,
    )
    Yf = unpack(x)
    Z, _ = factors(Yf, p_max)
    W, L = Z[:, :M], Z[:, M:]
    R = L[:, 0] if r == 1 else L @ L.conj().T
    secs = time.perf_counter() - t0
    result = evaluate_design(
        pb,
        W,
        R,
        scheme="fast_design",
        solver="alm-lbfgs",
        iterations=len(history),
        objective_history=[float(h) for h in history],
        rcrb_history_m=[float(np.sqrt(h)) for h in history],
        solve_time_s=secs,
    )
    cert = state["cert"]
    if cert is None or not state["done"]:  # certificate of the returned point, best multipliers
        cert = optimise_multipliers(ops, pb.H, pb.comm_noise, pb.eta, p_max, W, L)
    result.extra.update(
        factors=Yf,
        max_violation=viol,
        lbfgs_iterations=n_lbfgs,
        sensing_rank=sensing_rank,
        multipliers=lam,
        certificate=cert,
        dual_bound_m=cert.bound_m,
        dual_gap=(result.rcrb_m / cert.bound_m - 1.0) if cert.bound_m > 0 else float("inf"),
        certificate_checks=state["checks"],
        rho=rho,
    )
    return fallback_if_unmet(pb, result, solver="alm-lbfgs", outer_iterations=len(history))


def fallback_if_unmet(
    pb: DesignProblem, result: DesignResult, *, solver: str, outer_iterations: int
) -> DesignResult:
    """``result`` when it meets every rate target and power limit of ``pb``; else the fallback
    of :mod:`twin.isac.design.problem` (cause "infeasible"), carrying the unmet design's
    ``extra`` and the design itself as ``extra["unmet_design"]``."""
    if result.meets(pb):
        return result
    fb = fallback_design(
        pb,
        scheme="fast_design",
        cause="infeasible",
        solver=solver,
        solve_time_s=result.solve_time_s,
        iterations=outer_iterations,
        message=f"rate targets not met after {outer_iterations} outer iterations "
        f"(worst rate {float(np.min(result.rates - pb.eta)):+.3g} bit/s/Hz from target)",
    )
    fb.extra.update(result.extra)
    fb.extra["unmet_design"] = result
    return fb
