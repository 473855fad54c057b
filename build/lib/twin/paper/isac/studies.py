"""Seed 000 joint-design studies on many instances: the certification of the fast design
(:func:`certify`), the Fig. 6 ordering on random geometries (:func:`fig6_ordering_study`) and the
comparison of the factor-form Algorithm 2 with the cvxpy reference (:func:`compare_with_cvxpy`).

Commands: ``twin paper isac certify``, ``twin paper isac fig6-ordering`` and
``twin paper isac compare-algorithm2`` (:mod:`twin.paper.isac.design_cli`).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

from twin.isac.design.algorithm2 import algorithm2, power_min_start
from twin.isac.design.dual_bound import optimise_multipliers
from twin.isac.design.factor_form import factors
from twin.isac.design.fast_algorithm2 import algorithm2_fast
from twin.isac.design.fast_baselines import (
    fast_comm_centric,
    fast_non_assisted,
    fast_sensing_only,
    fast_zfbf,
)
from twin.isac.design.fast_design import fast_design
from twin.isac.design.operators import FastOperators
from twin.isac.design.problem import DesignProblem
from twin.isac.design.sdr import sdr_lower_bound
from twin.paper.isac.problems import random_problem

__all__ = ["certify", "fig6_ordering_study", "compare_with_cvxpy"]


def certify(
    n: int,
    *,
    seed: int = 2026,
    collaboration: str = "II",
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    out=None,
    sdr: bool = False,
    single_stream: bool = False,
    sdr_solver: str = "auto",
    file=None,
    **design_kw,
) -> list[dict]:
    """Certify :func:`twin.isac.design.fast_design.fast_design` on ``n`` random instances (:func:`twin.paper.isac.problems.random_problem`, instance i from
    SeedSequence(seed).spawn) with the weak-duality bound (:func:`twin.isac.design.dual_bound.optimise_multipliers`
    at the returned design; no SDP solve). Optionally (``sdr=True``) also solves the SDR
    (:func:`twin.isac.design.sdr.sdr_lower_bound`, ~minutes each at Table II size) and
    (``single_stream=True``) the single-sensing-waveform design. Writes one CSV row per instance to
    ``out`` (if given) as it goes and returns the rows: rcrb_m, dual_bound_m, gap_pct =
    100 (rcrb_m / dual_bound_m - 1) (>= the gap to the SDR optimum), min_rate_margin (bit/s/Hz),
    max_power_ratio (P_k / P_k^max), cpu_fast_s (process CPU of fast_design), cpu_cert_s, and
    the optional SDR / single-stream columns. ``design_kw`` go to :func:`twin.isac.design.fast_design.fast_design`."""
    log = file if file is not None else sys.stdout
    rows = []
    writer = None
    fh = None
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fh = open(out, "w", newline="")
    try:
        for i, ss in enumerate(np.random.SeedSequence(seed).spawn(int(n))):
            pb = random_problem(
                np.random.default_rng(ss), collaboration=collaboration, nx=nx, nz=nz, n_ue=n_ue
            )
            c = time.process_time()
            ops = FastOperators(pb)
            fd = fast_design(pb, ops=ops, **design_kw)
            c_fast = time.process_time() - c
            d = fd.extra.get("unmet_design", fd)
            c = time.process_time()
            Z, _ = factors(
                d.extra["factors"] if "factors" in d.extra else fd.extra["factors"], pb.p_max_w
            )
            cert = optimise_multipliers(
                ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, Z[:, : pb.M], Z[:, pb.M :]
            )
            c_cert = time.process_time() - c
            row = dict(
                instance=i,
                status=fd.status,
                rcrb_m=d.rcrb_m,
                dual_bound_m=cert.bound_m,
                gap_pct=100.0 * (d.rcrb_m / cert.bound_m - 1.0)
                if cert.bound_m > 0
                else float("inf"),
                min_rate_margin=float(np.min(d.rates - pb.eta)),
                max_power_ratio=float(np.max(d.sat_power_w / pb.p_max_w)),
                cpu_fast_s=c_fast,
                cpu_cert_s=c_cert,
                lbfgs_iterations=fd.extra.get("lbfgs_iterations", 0),
            )
            if single_stream:
                c = time.process_time()
                f1 = fast_design(pb, ops=ops, sensing_rank="one", **design_kw)
                row.update(
                    status_one=f1.status,
                    rcrb_one_m=f1.rcrb_m,
                    cpu_one_s=time.process_time() - c,
                    gap_one_pct=100.0 * (f1.rcrb_m / cert.bound_m - 1.0),
                    min_rate_margin_one=float(np.min(f1.rates - pb.eta)),
                    max_power_ratio_one=float(np.max(f1.sat_power_w / pb.p_max_w)),
                )
            if sdr:
                c = time.process_time()
                b = sdr_lower_bound(pb, solver=sdr_solver)
                row.update(
                    sdr_status=b.status,
                    sdr_bound_m=b.bound_m,
                    cpu_sdr_s=time.process_time() - c,
                    gap_sdr_pct=100.0 * (d.rcrb_m / b.bound_m - 1.0),
                )
            rows.append(row)
            if fh is not None:
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                fh.flush()
            print(
                " ".join(
                    f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                ),
                file=log,
                flush=True,
            )
    finally:
        if fh is not None:
            fh.close()
    return rows


def fig6_ordering_study(
    n: int, *, seed: int = 7, etas=(1, 2, 3, 4, 5, 6), file=None, **problem_kw
) -> list[dict]:
    """Fig. 6's claims on ``n`` random Table II geometries (:func:`twin.paper.isac.problems.random_problem`,
    instance i from SeedSequence(seed).spawn(n)): per geometry the sensing-only and comm-centric
    designs, per eta the proposed design, ZFBF and non-assisted sensing. Row per (geometry, eta):
    all_optimal, proven_order (sensing-only bound <= proposed RCRB < min(ZFBF bound, non-assisted
    bound)), the RCRBs (m), worst certified gap, comm-centric status / RCRB / budget / rate bracket,
    cpu_s of the geometry. Prints one line per row to ``file`` (default stdout)."""
    log = file if file is not None else sys.stdout
    rows = []
    for i, ss in enumerate(np.random.SeedSequence(seed).spawn(int(n))):
        c0 = time.process_time()
        pb = random_problem(np.random.default_rng(ss), **problem_kw)
        ops = FastOperators(pb)
        so = fast_sensing_only(pb, ops=ops)
        cc = fast_comm_centric(pb, ops=ops, sensing_only_rcrb_m=so.rcrb_m)
        for eta in etas:
            p = pb.with_(eta=float(eta))
            pr, zf, na = (
                fast_design(p, ops=ops),
                fast_zfbf(p, ops=ops),
                fast_non_assisted(p, ops=ops),
            )
            rows.append(
                dict(
                    geometry=i,
                    eta=float(eta),
                    all_optimal=all(r.ok for r in (pr, zf, na, so)),
                    proven_order=bool(
                        so.extra["dual_bound_m"]
                        <= pr.rcrb_m
                        < min(zf.extra["dual_bound_m"], na.extra["dual_bound_m"])
                    ),
                    proposed_m=pr.rcrb_m,
                    zfbf_m=zf.rcrb_m,
                    non_assisted_m=na.rcrb_m,
                    sensing_only_m=so.rcrb_m,
                    worst_gap=max(r.extra["dual_gap"] for r in (pr, zf, na, so)),
                    cc_status=cc.status,
                    cc_rcrb_m=cc.rcrb_m,
                    cc_budget_m=float(np.sqrt(cc.extra.get("crb_budget_m2", np.nan))),
                    cc_bracket=cc.extra.get("rate_bracket"),
                    cc_undecided=len(cc.extra.get("undecided_rates", [])),
                )
            )
            r = rows[-1]
            print(
                " ".join(
                    f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                ),
                file=log,
                flush=True,
            )
        for r in rows[-len(etas) :]:
            r["cpu_s"] = time.process_time() - c0
    return rows


def compare_with_cvxpy(
    problem: DesignProblem, *, max_iter: int = 30, solver: str = "auto", **kwargs
) -> dict:
    """Run :func:`twin.isac.design.algorithm2.algorithm2` (cvxpy) and
    :func:`twin.isac.design.fast_algorithm2.algorithm2_fast` from the cvxpy start and from
    its own start on ``problem`` and return the measured differences (relative, max over the
    iterations both have): iterations, rcrb_hist_rel_given / _own, rank_one_hist_rel_given,
    objective_rel_given, final_rel_own (final rank-one RCRB), max_gap_given / _own, lb_over_ref
    (max LB / cvxpy (46) value - 1: > 0 means the cvxpy point is below a proven lower bound, i.e.
    inaccurate), start_t_rel, cpu_ref_s / cpu_given_s / cpu_own_s. Small instances only (the
    reference solves SDPs)."""

    def rel(a, b):
        n = min(len(a), len(b))
        a, b = np.asarray(a[:n], float), np.asarray(b[:n], float)
        return float(np.max(np.abs(a - b) / np.abs(b)))

    Ws0, R0, status, _, _ = power_min_start(
        problem, solver=solver, rate_margin=kwargs.get("rate_margin", 1e-3)
    )
    c = time.process_time()
    ref = algorithm2(problem, max_iter=max_iter, solver=solver, **kwargs)
    c_ref = time.process_time() - c
    c = time.process_time()
    fg = algorithm2_fast(problem, max_iter=max_iter, start=(Ws0, R0), **kwargs)
    c_g = time.process_time() - c
    c = time.process_time()
    fo = algorithm2_fast(problem, max_iter=max_iter, **kwargs)
    c_o = time.process_time() - c
    t_ref = np.real(np.diag(R0))[:: problem.N] / float(np.max(problem.p_max_w))
    return dict(
        iterations=(ref.iterations, fg.iterations, fo.iterations),
        rcrb_hist_rel_given=rel(fg.rcrb_history_m, ref.rcrb_history_m),
        rcrb_hist_rel_own=rel(fo.rcrb_history_m, ref.rcrb_history_m),
        rank_one_hist_rel_given=rel(
            fg.extra["rcrb_rank_one_history_m"], ref.extra["rcrb_rank_one_history_m"]
        ),
        objective_rel_given=rel(fg.objective_history, ref.objective_history),
        final_rel_own=float(fo.rcrb_m / ref.rcrb_m - 1.0),
        final_ref_m=ref.rcrb_m,
        final_own_m=fo.rcrb_m,
        max_gap_given=max(fg.extra["subproblem_gaps"]),
        max_gap_own=max(fo.extra["subproblem_gaps"]),
        lb_over_ref=float(
            np.max(
                np.asarray(fg.extra["subproblem_lower_bounds"])
                / np.asarray(ref.objective_history[: len(fg.extra["subproblem_lower_bounds"])])
                - 1.0
            )
        ),
        start_t_rel=float(np.max(np.abs(fo.extra["start"].t - t_ref) / t_ref)),
        start_status_ref=status,
        start_gap_own=fo.extra["start"].gap,
        cpu_ref_s=c_ref,
        cpu_given_s=c_g,
        cpu_own_s=c_o,
    )
