"""`twin paper isac fig4|fig6|fig7`: seed 000 joint-design figures (thin wrappers over
:mod:`twin.paper.isac.design_figures`).

Each command writes ``<name>.csv``, ``<name>.png`` and ``<name>.notes.txt`` into ``--out``
(default out/paper-isac/). ``--quick`` uses 2x2 arrays, M = 2 UEs and a few points so a figure
runs in seconds; the full figures are at the Table II point (N = 4x4, K = 5, M = 10): seconds
to a minute with ``--engine fast`` (the default), long with the cvxpy path ``--engine sdr``
(docs/isac-design.md and docs/isac-fast-design.md list measured times).

Mount on the `twin paper isac` app with
``app.registered_commands += design_cli.app.registered_commands``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Seed 000 joint-design figures: Fig. 4, 6, 7."
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
    """Run `compute(figures_module, advance)` with a progress bar and write its CSV + PNG.
    The figure module (cvxpy) is imported here, so `twin --help` and `twin run` stay quick."""
    from twin.paper.isac import design_figures as dfig

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
