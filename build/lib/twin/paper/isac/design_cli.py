"""`twin paper isac fig4|fig6|fig7|certify|fig6-ordering|compare-algorithm2`: seed 000 joint-design
figures and studies (thin wrappers over :mod:`twin.paper.isac.design_figures` and
:mod:`twin.paper.isac.studies`).

Each command writes ``<name>.csv``, ``<name>.png`` and ``<name>.notes.txt`` into ``--out``
(default out/paper-isac/). ``--quick`` uses 2x2 arrays, M = 2 UEs and a few points so a figure
runs in seconds; the full figures are at the Table II point (N = 4x4, K = 5, M = 10): seconds
to a minute with ``--engine fast`` (the default), long with the cvxpy path ``--engine sdr``
(docs/isac-design.md and docs/isac-fast-design.md list measured times).

The studies print one line per instance and a summary: ``certify`` (the fast design's weak-duality
certificate on random instances), ``fig6-ordering`` (Fig. 6's ordering on random geometries) and
``compare-algorithm2`` (the factor-form Algorithm 2 against the cvxpy one on a small problem).

Mount on the `twin paper isac` app with
``app.registered_commands += design_cli.app.registered_commands``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from twin.paper.isac.problems import paper_problem

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Seed 000 joint-design figures (Fig. 4, 6, 7) and studies.",
)

OUT_DEFAULT = Path("out/paper-isac")
OutOpt = typer.Option(OUT_DEFAULT, "--out", help="output folder for the CSV, PNG and notes")
QuickOpt = typer.Option(False, "--quick", help="2x2 arrays, 2 UEs, few points: runs in seconds")
SeedOpt = typer.Option(0, "--seed", help="seed of the UE positions, channels and beta phases")
EngineOpt = typer.Option(
    "auto",
    "--engine",
    help="auto | fast | sdr. fast (= auto): the certified fast paths (Fig. 4: Algorithm 2 "
    "with factor-form (46) solves; Fig. 6: all five curves; seconds to a minute at "
    "Table II size); sdr: the cvxpy SDPs (minutes to ~30 min each at Table II size)",
)
SolverOpt = typer.Option("auto", "--solver", help="cvxpy solver: auto | SCS | CLARABEL")
SideOpt = typer.Option(
    None, "--n", help="UPA side n (n x n arrays; default 4, Table II; 2 with --quick)"
)
UesOpt = typer.Option(None, "--ues", help="number of UEs M (default 10, Table II; 2 with --quick)")


def _size(kw: dict, n: int | None, ues: int | None) -> dict:
    if n is not None:
        if n < 2:
            raise typer.BadParameter(
                f"--n must be >= 2 (a 1x1 array has no angle information), got {n}"
            )
        kw.update(nx=n, nz=n)
    if ues is not None:
        if ues < 1:
            raise typer.BadParameter(f"--ues must be >= 1, got {ues}")
        kw.update(n_ue=ues)
    return kw


def _run(name: str, compute, total: int, out: Path) -> None:
    """Run `compute(figures_module, advance)` with a progress bar and write its CSV + PNG."""
    from twin.paper.isac import design_figures as dfig  # deferred: cvxpy (1.1 s import)

    console = Console()
    with Progress(
        TextColumn(f"[bold]{name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(name, total=total)
        fig = compute(dfig, lambda n=1: progress.advance(task, n))
    csv, png = dfig.write_design_figure(fig, out)
    console.print(f"wrote {csv} and {png} (wall {fig.wall_s:.1f} s, CPU {fig.cpu_s:.1f} s)")
    for note in fig.notes:
        console.print(f"  note: {note}")


@app.command("fig4")
def fig4_cmd(
    out: Path = OutOpt,
    quick: bool = QuickOpt,
    seed: int = SeedOpt,
    engine: str = EngineOpt,
    solver: str = SolverOpt,
    iterations: int = typer.Option(15, "--iterations", help="Algorithm 2 iterations shown (0..n)"),
    types: str = typer.Option("I,II,III", "--types", help="comma-separated collaboration types"),
    n: int | None = SideOpt,
    ues: int | None = UesOpt,
    crb_unit: float = typer.Option(
        None,
        "--crb-unit",
        help="unit of the CRB term of (46) as a fraction of "
        "the isotropic design's tr CRB (default 0.001); sets how far each "
        "iteration may move (docs/isac-algorithm2.md)",
    ),
) -> None:
    """Fig. 4: RCRB vs Algorithm 2 iteration for collaboration types I, II, III."""
    typ = tuple(t.strip() for t in types.split(",") if t.strip())
    bad = [t for t in typ if t not in ("I", "II", "III")]
    if bad or not typ:
        raise typer.BadParameter(f"--types must list I, II and/or III, got {types!r}")
    if quick:
        kw = dict(
            types=typ if types != "I,II,III" else ("I", "II"),
            nx=2,
            nz=2,
            n_ue=2,
            iterations=min(iterations, 3),
        )
    else:
        kw = dict(types=typ, iterations=iterations)
    kw = _size(kw, n, ues)
    if crb_unit is not None:
        if not crb_unit > 0:
            raise typer.BadParameter(f"--crb-unit must be > 0, got {crb_unit}")
        kw["crb_unit_fraction"] = crb_unit
    _run(
        "fig4",
        lambda dfig, adv: dfig.fig4(seed=seed, engine=engine, solver=solver, advance=adv, **kw),
        len(kw["types"]),
        out,
    )


@app.command("fig6")
def fig6_cmd(
    out: Path = OutOpt,
    quick: bool = QuickOpt,
    seed: int = SeedOpt,
    engine: str = EngineOpt,
    solver: str = SolverOpt,
    n: int | None = SideOpt,
    ues: int | None = UesOpt,
    collaboration: str = typer.Option(
        None, "--type", help="collaboration type (default II; I with --quick)"
    ),
) -> None:
    """Fig. 6: RCRB vs required rate η for Algorithm 2, comm-centric, ZFBF, non-assisted, sensing only."""
    if quick:
        kw = dict(
            etas=(1.0, 3.0), collaboration="I", nx=2, nz=2, n_ue=2, alg2_kwargs={"max_iter": 3}
        )
    else:
        kw = dict()
    kw = _size(kw, n, ues)
    if collaboration is not None:
        if collaboration not in ("I", "II", "III"):
            raise typer.BadParameter(f"--type must be I, II or III, got {collaboration!r}")
        kw["collaboration"] = collaboration
    total = len(kw.get("etas", (1, 2, 3, 4, 5, 6))) + 1
    _run(
        "fig6",
        lambda dfig, adv: dfig.fig6(seed=seed, engine=engine, solver=solver, advance=adv, **kw),
        total,
        out,
    )


@app.command("fig7")
def fig7_cmd(
    out: Path = OutOpt,
    quick: bool = QuickOpt,
    seed: int = SeedOpt,
    engine: str = EngineOpt,
    solver: str = SolverOpt,
) -> None:
    """Fig. 7: RCRB vs P_max (20..40 dBm) for UPAs 2x2, 4x4, 6x6."""
    if quick:
        kw = dict(
            p_max_dbm=(20.0, 40.0),
            sizes=(2,),
            collaboration="I",
            n_ue=2,
            alg2_kwargs={"max_iter": 3},
        )
    else:
        kw = dict()
    n = len(kw.get("p_max_dbm", (20, 25, 30, 35, 40))) * len(kw.get("sizes", (2, 4, 6)))
    _run(
        "fig7",
        lambda dfig, adv: dfig.fig7(seed=seed, engine=engine, solver=solver, advance=adv, **kw),
        n,
        out,
    )


@app.command("certify")
def certify_cmd(
    problems: int = typer.Option(50, "--problems", help="number of random instances"),
    out: Path = typer.Option(Path("out/certify.csv"), "--out", help="CSV, one row per instance"),
    seed: int = typer.Option(2026, "--seed", help="seed of the instances (SeedSequence.spawn)"),
    collaboration: str = typer.Option("II", "--collaboration", help="collaboration type I/II/III"),
    nx: int = typer.Option(4, "--nx", help="UPA elements along x"),
    nz: int = typer.Option(4, "--nz", help="UPA elements along z"),
    ues: int = typer.Option(10, "--ues", help="number of UEs M"),
    sdr: bool = typer.Option(
        False, "--sdr", help="also solve the cvxpy SDR (minutes each at Table II size)"
    ),
    single_stream: bool = typer.Option(
        False, "--single-stream", help="also run sensing_rank='one'"
    ),
) -> None:
    """Certify fast_design with the weak-duality bound on random instances."""
    from twin.paper.isac import studies  # deferred: cvxpy (1.1 s import)

    rows = studies.certify(
        problems,
        seed=seed,
        collaboration=collaboration,
        nx=nx,
        nz=nz,
        n_ue=ues,
        out=out,
        sdr=sdr,
        single_stream=single_stream,
    )
    cpu = np.array([r["cpu_fast_s"] for r in rows])
    print(
        f"{len(rows)} instances: {sum(r['status'] == 'optimal' for r in rows)} optimal; worst certified gap "
        f"{max(r['gap_pct'] for r in rows):.4f} % (RCRB / sqrt(dual bound) - 1); min rate margin "
        f"{min(r['min_rate_margin'] for r in rows):+.3g} bit/s/Hz; max power ratio "
        f"{max(r['max_power_ratio'] for r in rows):.9f}; CPU per design median {np.median(cpu):.3g} s, "
        f"max {cpu.max():.3g} s"
    )
    if sdr:
        print(
            f"SDR: worst gap to the SDR {max(r['gap_sdr_pct'] for r in rows):.4f} %; dual bound <= SDR bound on "
            f"{sum(r['dual_bound_m'] <= r['sdr_bound_m'] * (1 + 1e-6) for r in rows)}/{len(rows)}"
        )
    if single_stream:
        print(f"single stream: worst gap {max(r['gap_one_pct'] for r in rows):.4f} %")


@app.command("fig6-ordering")
def fig6_ordering_cmd(
    geometries: int = typer.Option(5, "--geometries", help="number of random geometries"),
    seed: int = typer.Option(7, "--seed", help="seed of the geometries (SeedSequence.spawn)"),
    etas: str = typer.Option(
        "1,2,3,4,5,6", "--etas", help="comma-separated rate targets eta (bit/s/Hz)"
    ),
    collaboration: str = typer.Option(
        None, "--type", help="collaboration type (default II, Table II)"
    ),
    n: int | None = SideOpt,
    ues: int | None = UesOpt,
) -> None:
    """Fig. 6 ordering on random Table II geometries (fast, certified)."""
    problem_kw = _size({}, n, ues)
    if collaboration is not None:
        problem_kw["collaboration"] = collaboration
    eta_values = tuple(float(e) for e in etas.split(",") if e.strip())
    from twin.paper.isac import studies  # deferred: cvxpy (1.1 s import)

    rows = studies.fig6_ordering_study(geometries, seed=seed, etas=eta_values, **problem_kw)
    print(
        f"{len(rows)} points: all optimal {all(r['all_optimal'] for r in rows)}, proven order at "
        f"{sum(r['proven_order'] for r in rows)}/{len(rows)}, worst certified gap "
        f"{100 * max(r['worst_gap'] for r in rows):.3f} %, comm-centric optimal at "
        f"{len({r['geometry'] for r in rows if r['cc_status'] == 'optimal'})}/{geometries} geometries with budget met "
        f"{all(r['cc_rcrb_m'] <= r['cc_budget_m'] for r in rows)}"
    )


@app.command("compare-algorithm2")
def compare_algorithm2_cmd(
    collaboration: str = typer.Option("I", "--type", help="collaboration type I/II/III"),
    n: int = typer.Option(2, "--n", help="UPA side n (n x n arrays)"),
    ues: int = typer.Option(2, "--ues", help="number of UEs M"),
    seed: int = typer.Option(
        3, "--seed", help="seed of the UE positions, channels and beta phases"
    ),
    iterations: int = typer.Option(30, "--iterations", help="Algorithm 2 iterations (max_iter)"),
) -> None:
    """Compare the factor-form Algorithm 2 with the cvxpy one on a small paper_problem."""
    pb = paper_problem(collaboration, nx=n, nz=n, n_ue=ues, seed=seed)
    from twin.paper.isac import studies  # deferred: cvxpy (1.1 s import)

    for k, v in studies.compare_with_cvxpy(pb, max_iter=iterations).items():
        print(f"{k} = {v}")
