"""Seed 000 design figures (seed-math B.7 axes): Fig. 4 (RCRB vs Algorithm 2 iteration for
collaboration types I/II/III), Fig. 6 (RCRB vs rate target η for five schemes) and Fig. 7
(RCRB vs P^max for three UPA sizes).

Each ``figN(...)`` returns a :class:`DesignFigure`; :func:`write_design_figure` writes
``<name>.csv`` (long format: one row per point, with status columns) and ``<name>.png``.

Engines: Fig. 4 is about the algorithm, so it always runs :func:`twin.isac.design.algorithm2.algorithm2`
(cvxpy). Figs. 6-7 need only each scheme's optimum; ``engine="sdr"`` runs the cvxpy path
(Algorithm 2 for the proposed curve, the SDPs of :mod:`twin.isac.design.baselines` for Fig. 6's other
curves), ``engine="fast"`` uses ``twin.isac.design.fast_design.fast_design`` for the proposed curve and
(Fig. 6) :mod:`twin.isac.design.fast_baselines` for the other four, each with a weak-duality certificate;
``"auto"`` picks "fast".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from twin.isac.design import baselines
from twin.isac.design import fast_baselines as fb
from twin.isac.design.algorithm2 import algorithm2
from twin.isac.design.fast_algorithm2 import algorithm2_fast
from twin.isac.design.fast_design import fast_design
from twin.isac.design.operators import FastOperators
from twin.isac.design.problem import CRB_UNIT_FRACTION, default_crb_unit_m2
from twin.isac.design.sdr import sdr_lower_bound
from twin.paper.isac.problems import paper_problem

__all__ = [
    "DesignFigure",
    "fig4",
    "fig6",
    "fig7",
    "write_design_figure",
    "proposed_engine",
    "SCHEMES_FIG6",
]

SCHEMES_FIG6 = ("Algorithm 2", "Comm-centric", "ZFBF", "Non-assisted sensing", "Sensing only")

Progress = Callable[[int], None]


def _noop(_: int = 1) -> None:
    return None


@dataclass
class DesignFigure:
    """Curves of one figure. rows: dicts with keys curve, x, rcrb_m, status (+ extras); x_label,
    y_label axis labels; notes: free text (printed by the CLI, written to <name>.notes.txt)."""

    name: str
    title: str
    x_label: str
    y_label: str
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def curve(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, rcrb_m) arrays of one curve, in row order."""
        pts = [(r["x"], r["rcrb_m"]) for r in self.rows if r["curve"] == label]
        if not pts:
            raise KeyError(f"no curve {label!r}; have {sorted({r['curve'] for r in self.rows})}")
        x, y = zip(*pts)
        return np.asarray(x, float), np.asarray(y, float)

    @property
    def curves(self) -> list[str]:
        seen: list[str] = []
        for r in self.rows:
            if r["curve"] not in seen:
                seen.append(r["curve"])
        return seen


def proposed_engine(engine: str = "auto") -> str:
    """Resolve "auto" to "fast" (``twin.isac.design.fast_design.fast_design`` and
    :mod:`twin.isac.design.fast_baselines` are part of the package)."""
    if engine not in ("auto", "fast", "sdr"):
        raise ValueError(f"engine must be 'auto', 'fast' or 'sdr', got {engine!r}")
    if engine != "auto":
        return engine
    return "fast"


def _proposed(problem, engine: str, solver: str, alg2_kwargs: dict):
    if engine == "fast":
        return fast_design(problem)
    return algorithm2(problem, solver=solver, **alg2_kwargs)


def _row(curve, x, res, **extra) -> dict:
    return {
        "curve": curve,
        "x": float(x),
        "rcrb_m": float(res.rcrb_m),
        "status": res.status,
        "cause": res.cause,
        "min_rate_bps_hz": float(np.min(res.rates)) if len(res.rates) else float("nan"),
        "max_power_w": float(np.max(res.sat_power_w)),
        "solve_s": float(res.solve_time_s),
        **extra,
    }


# ---------------------------------------------------------------------------
# Fig. 4


def fig4(
    *,
    types: Sequence[str] = ("I", "II", "III"),
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    iterations: int = 15,
    eta_bps_hz: float = 2.0,
    p_max_dbm: float = 30.0,
    seed: int = 0,
    engine: str = "auto",
    solver: str = "auto",
    with_bound: bool = True,
    advance: Progress = _noop,
    crb_unit_fraction: float | None = None,
    **alg2_kwargs,
) -> DesignFigure:
    """Fig. 4: RCRB (m) vs Algorithm 2 iteration 0..``iterations`` for collaboration types ``types``
    (K = 3/5/7) at the Table II point. Curve "type X": RCRB of iterate j's R_x (j = 0 = the
    power-minimising start); after convergence the last value is held (column "converged" = 1).
    Curve "type X rank-one (47)": RCRB of the (47) extraction of each iterate.

    engine "fast" (= "auto"): :func:`twin.isac.design.fast_algorithm2.algorithm2_fast` (the same
    algorithm, each (46) solved in factor form and certified; extra columns gap = certified
    relative gap of iteration j's (46), sub_cpu_s); with ``with_bound`` the flat "type X SDR
    bound" is the certified weak-duality lower bound of ``fast_design(sensing_rank="full")`` (no
    SDP; its own RCRB, an upper bound on the SDR optimum, is column sdr_upper_m). engine "sdr":
    :func:`twin.isac.design.algorithm2.algorithm2` (cvxpy) and the bound from :func:`twin.isac.design.sdr.sdr_lower_bound`.
    crb_unit_fraction: unit of (46)'s CRB term as a fraction of each problem's isotropic tr CRB
    (:func:`twin.isac.design.problem.default_crb_unit_m2`; None = ``CRB_UNIT_FRACTION``)."""
    engine = proposed_engine(engine)
    t0, c0 = time.perf_counter(), time.process_time()
    fig = DesignFigure(
        "fig4", "Convergence of Algorithm 2 (seed 000 Fig. 4)", "iteration", "RCRB (m)"
    )
    for typ in types:
        prob = paper_problem(
            typ, nx=nx, nz=nz, n_ue=n_ue, eta_bps_hz=eta_bps_hz, p_max_dbm=p_max_dbm, seed=seed
        )
        if crb_unit_fraction is not None:
            alg2_kwargs["crb_unit_m2"] = default_crb_unit_m2(prob, crb_unit_fraction)
        if engine == "fast":
            res = algorithm2_fast(prob, max_iter=iterations, **alg2_kwargs)
        else:
            res = algorithm2(prob, solver=solver, max_iter=iterations, **alg2_kwargs)
        hist = list(res.rcrb_history_m)
        r1 = list(res.extra.get("rcrb_rank_one_history_m", []))
        start = res.extra.get("start")
        gaps = [float("nan")] + list(res.extra.get("subproblem_gaps", []))
        cpus = [getattr(start, "cpu_s", float("nan"))] + list(res.extra.get("subproblem_cpu_s", []))
        n_done = len(hist)
        for j in range(iterations + 1):
            conv = int(j >= n_done)
            jj = min(j, n_done - 1)
            common = {
                "status": res.status,
                "converged": conv,
                "K": prob.K,
                "solve_s": res.solve_time_s,
            }
            if engine == "fast":
                common.update(
                    gap=gaps[jj] if jj < len(gaps) else float("nan"),
                    sub_cpu_s=cpus[jj] if (jj < len(cpus) and not conv) else 0.0,
                )
            fig.rows.append(
                {
                    "curve": f"type {typ}",
                    "x": j,
                    "rcrb_m": hist[jj] if hist else res.rcrb_m,
                    **common,
                }
            )
            if r1:
                fig.rows.append(
                    {
                        "curve": f"type {typ} rank-one (47)",
                        "x": j,
                        "rcrb_m": r1[min(j, len(r1) - 1)],
                        **common,
                    }
                )
        note = (
            f"type {typ} (K = {prob.K}): {res.status}, {res.iterations} iterations, final rank-one "
            f"RCRB {res.rcrb_m:.6g} m, rank residual {res.rank_residual:.2g}, rho "
            f"{res.extra['rho_history'][-1] if res.extra.get('rho_history') else 'n/a'}, "
            f"min rate {float(np.min(res.rates)):.6f} bit/s/Hz, "
            f"max P/Pmax {float(np.max(res.sat_power_w / prob.p_max_w)):.9f}, wall {res.solve_time_s:.1f} s"
        )
        if engine == "fast":
            note += (
                f", worst certified (46) gap {max(res.extra.get('subproblem_gaps') or [float('nan')]):.2g}, "
                f"CPU {res.extra.get('cpu_s', float('nan')):.1f} s"
            )
        fig.notes.append(note)
        if with_bound:
            fig.rows.extend(_fig4_bound_rows(prob, typ, iterations, engine, solver, fig.notes))
        advance(1)
    fig.notes.append(
        f"N = {nx}x{nz}, M = {n_ue}, eta = {eta_bps_hz} bit/s/Hz, P_max = {p_max_dbm} dBm, "
        f"paper beta (B.9), sigma_n^2 = -110 dBm, L = 1; engine {engine}; CRB unit of (46) "
        f"{CRB_UNIT_FRACTION if crb_unit_fraction is None else crb_unit_fraction:g} x isotropic tr CRB"
    )
    fig.wall_s, fig.cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return fig


def _fig4_bound_rows(
    prob, typ: str, iterations: int, engine: str, solver: str, notes: list
) -> list[dict]:
    """The flat "type X SDR bound" rows of Fig. 4 (see :func:`fig4`); appends a note."""
    if engine == "fast":
        fd = fast_design(prob, sensing_rank="full")
        bound = float(fd.extra.get("dual_bound_m", float("nan")))
        upper = float(fd.extra.get("unmet_design", fd).rcrb_m)
        row = {"status": "optimal", "solve_s": fd.solve_time_s, "sdr_upper_m": upper}
        notes.append(
            f"type {typ}: SDR optimum certified in [{bound:.6g}, {upper:.6g}] m (fast_design {fd.status}, "
            f"dual gap {fd.extra.get('dual_gap', float('nan')):.2g}, {fd.solve_time_s:.1f} s)"
        )
    else:
        b = sdr_lower_bound(prob, solver=solver)
        bound = b.bound_m
        row = {"status": b.status, "solve_s": b.solve_time_s}
        notes.append(
            f"type {typ}: SDR lower bound {b.bound_m:.4g} m ({b.status}, {b.solve_time_s:.0f} s)"
        )
    return [
        {
            "curve": f"type {typ} SDR bound",
            "x": j,
            "rcrb_m": bound,
            "converged": 1,
            "K": prob.K,
            **row,
        }
        for j in range(iterations + 1)
    ]


# ---------------------------------------------------------------------------
# Fig. 6


def fig6(
    *,
    etas: Sequence[float] = (1, 2, 3, 4, 5, 6),
    collaboration: str = "II",
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    p_max_dbm: float = 30.0,
    seed: int = 0,
    engine: str = "auto",
    solver: str = "auto",
    advance: Progress = _noop,
    alg2_kwargs: dict | None = None,
) -> DesignFigure:
    """Fig. 6: RCRB (m) vs rate target η (bit/s/Hz) for Algorithm 2, the communication-centric
    design (budget (2 RCRB_sensing-only)^2; independent of η: its max-min rate is in the CSV),
    ZFBF, non-assisted sensing and sensing only (independent of η). Infeasible points keep the
    fallback's RCRB with status "fallback:..." in the CSV and are not drawn.

    engine "fast" (and "auto"): all five curves from the certified fast paths
    (:func:`twin.isac.design.fast_design.fast_design` and :mod:`twin.isac.design.fast_baselines`); each row then has
    ``dual_bound_m`` (a lower bound on that scheme's optimum, m), ``dual_gap`` (RCRB / dual_bound_m - 1)
    and ``cpu_s``. engine "sdr": the cvxpy reference (Algorithm 2 and the SDP baselines of
    :mod:`twin.isac.design.baselines`; ~30 min CPU per SDP at Table II size)."""
    t0, c0 = time.perf_counter(), time.process_time()
    eng = proposed_engine(engine)
    kw = dict(alg2_kwargs or {})
    base = paper_problem(
        collaboration,
        nx=nx,
        nz=nz,
        n_ue=n_ue,
        eta_bps_hz=float(etas[0]),
        p_max_dbm=p_max_dbm,
        seed=seed,
    )
    fig = DesignFigure(
        "fig6", "Scheme comparison vs rate target (seed 000 Fig. 6)", "eta (bit/s/Hz)", "RCRB (m)"
    )
    if eng == "fast":
        ops = FastOperators(base)
        so, so_cpu = _timed(fb.fast_sensing_only, base, ops=ops)
        cc, cc_cpu = _timed(fb.fast_comm_centric, base, ops=ops, sensing_only_rcrb_m=so.rcrb_m)
        schemes = (
            ("Algorithm 2", lambda p: fast_design(p, ops=ops)),
            ("ZFBF", lambda p: fb.fast_zfbf(p, ops=ops)),
            ("Non-assisted sensing", lambda p: fb.fast_non_assisted(p, ops=ops)),
        )
    else:
        so, so_cpu = _timed(baselines.sensing_only, base, solver=solver)
        cc, cc_cpu = _timed(
            baselines.comm_centric,
            base,
            solver=solver,
            sensing_only_rcrb_m=so.rcrb_m if so.ok else None,
        )
        schemes = (
            ("Algorithm 2", lambda p: _proposed(p, eng, solver, kw)),
            ("ZFBF", lambda p: baselines.zfbf(p, solver=solver)),
            ("Non-assisted sensing", lambda p: baselines.non_assisted(p, solver=solver)),
        )
    advance(1)
    for eta in etas:
        prob = base.with_(eta=float(eta))
        rows = {}
        for label, fn in schemes:
            res, cpu = _timed(fn, prob)
            rows[label] = _row(label, eta, res, engine=eng, cpu_s=cpu, **_cert(res))
        rows["Comm-centric"] = _row(
            "Comm-centric",
            eta,
            cc,
            engine=eng,
            cpu_s=cc_cpu,
            **_cert(cc),
            max_min_rate_bps_hz=cc.extra.get("max_min_rate_bps_hz", np.nan),
            crb_budget_m2=cc.extra.get("crb_budget_m2", np.nan),
            meets_eta=int(cc.ok and cc.extra.get("max_min_rate_bps_hz", 0) >= eta),
        )
        rows["Sensing only"] = _row("Sensing only", eta, so, engine=eng, cpu_s=so_cpu, **_cert(so))
        fig.rows.extend(rows[label] for label in SCHEMES_FIG6)
        advance(1)
    fig.notes.append(
        f"type {collaboration} (K = {base.K}), N = {nx}x{nz}, M = {n_ue}, P_max = {p_max_dbm} dBm; "
        f"engine: {eng}" + (" (all five curves certified fast paths)" if eng == "fast" else "")
    )
    if cc.ok:
        br = cc.extra.get("rate_bracket")
        fig.notes.append(
            f"comm-centric: budget {cc.extra['crb_budget_m2']:.4g} m^2 (RCRB {np.sqrt(cc.extra['crb_budget_m2']):.4g} m), "
            f"achieved RCRB {cc.rcrb_m:.4g} m, max-min rate {cc.extra['max_min_rate_bps_hz']:.3f} bit/s/Hz"
            + (f", bracket [{br[0]:.4f}, {br[1]:.4f}] bit/s/Hz" if br is not None else "")
        )
    else:
        fig.notes.append(f"comm-centric: {cc.status} ({cc.cause}) {cc.message}")
    gaps = [r["dual_gap"] for r in fig.rows if np.isfinite(r.get("dual_gap", np.nan))]
    if gaps:
        fig.notes.append(
            f"certificates: worst dual gap {100 * max(gaps):.3f} % (RCRB / lower bound - 1, over every point)"
        )
    fig.wall_s, fig.cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return fig


def _timed(fn, *args, **kwargs):
    """(fn(*args, **kwargs), process CPU seconds it took)."""
    c = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - c


def _cert(res) -> dict:
    """dual_bound_m / dual_gap columns of a fast-path result (NaN for the cvxpy path)."""
    return {
        "dual_bound_m": float(res.extra.get("dual_bound_m", np.nan)),
        "dual_gap": float(res.extra.get("dual_gap", np.nan)),
    }


# ---------------------------------------------------------------------------
# Fig. 7


def fig7(
    *,
    p_max_dbm: Sequence[float] = (20, 25, 30, 35, 40),
    sizes: Sequence[int] = (2, 4, 6),
    collaboration: str = "II",
    n_ue: int = 10,
    eta_bps_hz: float = 2.0,
    seed: int = 0,
    engine: str = "auto",
    solver: str = "auto",
    advance: Progress = _noop,
    alg2_kwargs: dict | None = None,
) -> DesignFigure:
    """Fig. 7: RCRB (m) of the proposed design vs P^max (dBm) for UPAs n x n, n in ``sizes``."""
    t0, c0 = time.perf_counter(), time.process_time()
    eng = proposed_engine(engine)
    kw = dict(alg2_kwargs or {})
    fig = DesignFigure(
        "fig7", "RCRB vs power budget for UPA sizes (seed 000 Fig. 7)", "P_max (dBm)", "RCRB (m)"
    )
    for n in sizes:
        for p in p_max_dbm:
            prob = paper_problem(
                collaboration, nx=n, nz=n, n_ue=n_ue, eta_bps_hz=eta_bps_hz, p_max_dbm=p, seed=seed
            )
            res = _proposed(prob, eng, solver, kw)
            fig.rows.append(_row(f"N = {n}x{n}", p, res, engine=eng))
            advance(1)
    fig.notes.append(f"type {collaboration}, M = {n_ue}, eta = {eta_bps_hz} bit/s/Hz; engine {eng}")
    fig.wall_s, fig.cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return fig


# ---------------------------------------------------------------------------
# output


def write_design_figure(fig: DesignFigure, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.csv`` (every row) and ``<name>.png`` (RCRB vs x per curve, log y; points
    whose status is not "optimal" are omitted from the plot) into ``out_dir``. Returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{fig.name}.csv"
    pd.DataFrame(fig.rows).to_csv(csv, index=False)
    (out / f"{fig.name}.notes.txt").write_text(
        "\n".join(fig.notes + [f"wall time {fig.wall_s:.1f} s, process CPU time {fig.cpu_s:.1f} s"])
        + "\n"
    )
    png = out / f"{fig.name}.png"
    f, ax = plt.subplots(figsize=(7.5, 5))
    for label in fig.curves:
        pts = [
            (r["x"], r["rcrb_m"])
            for r in fig.rows
            if r["curve"] == label and r["status"] == "optimal" and np.isfinite(r["rcrb_m"])
        ]
        if not pts:
            continue
        x, y = zip(*pts)
        style = "--" if ("bound" in label or label == "Sensing only") else "-"
        marker = "" if "rank-one" in label else "o"
        ax.plot(x, y, style, marker=marker, markersize=4, label=label)
    ax.set_xlabel(fig.x_label)
    ax.set_ylabel(fig.y_label)
    ax.set_yscale("log")
    ax.set_title(fig.title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    f.tight_layout()
    f.savefig(png, dpi=120)
    plt.close(f)
    return csv, png
