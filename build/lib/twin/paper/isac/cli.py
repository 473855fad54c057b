"""`twin paper isac fig3|fig8|fig9|fig10|groups|operating-point`: seed 000 localisation commands.

Thin wrappers. Each figure command writes ``<name>.csv`` and ``<name>.png`` into ``--out`` (default
out/paper-isac/). ``--quick`` runs a handful of trials (and for Fig. 10 a reduced N#/P# grid) so a
figure takes seconds. ``operating-point`` prints the echo-SNR / RCRB report of
:mod:`twin.paper.isac.operating_point`. The joint-design commands of
:mod:`twin.paper.isac.design_cli` (fig4|fig6|fig7) are mounted on the same app.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from twin.paper.isac import design_cli, operating_point
from twin.paper.isac import figures as paper

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Seed 000 (cooperative ISAC) localisation figures: Fig. 3, 8, 9, 10 and the cooperation table.",
)

QUICK_TRIALS = 3
OUT_DEFAULT = Path("out/paper-isac")

OutOpt = typer.Option(OUT_DEFAULT, "--out", help="output folder for the CSV and PNG")
TrialsOpt = typer.Option(
    None, "--trials", help="Monte Carlo trials per point (default 1000; 3 with --quick)"
)
SeedOpt = typer.Option(0, "--seed", help="master seed; trial i uses SeedSequence([seed, i])")
QuickOpt = typer.Option(False, "--quick", help="a few trials and a reduced grid: runs in seconds")
CrbOpt = typer.Option(
    200,
    "--crb-trials",
    help="trials per point on which the CRB is evaluated (its mean is the RCRB)",
)
DesignOpt = typer.Option(
    "stand_in",
    "--design",
    help="transmit design: stand_in (matched filter + isotropic sensing) "
    "or fast (seed 000's joint design, twin.isac.design.fast_design)",
)


def _op(design: str) -> paper.OperatingPoint:
    if design not in paper.DESIGN_NOTES:
        raise typer.BadParameter(
            f"{design!r}; allowed: {', '.join(sorted(paper.DESIGN_NOTES))}", param_hint="--design"
        )
    return paper.OperatingPoint(design=design)


def _trials(trials: int | None, quick: bool) -> int:
    n = (QUICK_TRIALS if quick else 1000) if trials is None else trials
    if n < 2:
        raise typer.BadParameter(
            f"--trials must be >= 2 (a standard error needs two trials), got {n}"
        )
    return n


def _run(name: str, compute, total: int, out: Path) -> None:
    console = Console()
    with Progress(
        TextColumn(f"[bold]{name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(name, total=total)
        fig = compute(lambda n=1: progress.advance(task, n))
    csv, png = paper.write_figure(fig, out)
    console.print(f"wrote {csv} and {png}")
    for note in fig.notes:
        console.print(f"  note: {note}")


@app.command("fig3")
def fig3_cmd(
    out: Path = OutOpt, trials: int | None = TrialsOpt, seed: int = SeedOpt, quick: bool = QuickOpt
) -> None:
    """Fig. 3: F(g_best) vs PSO iteration for I_p = 10, 30, 50."""
    n = _trials(trials, quick)
    _run(
        "fig3",
        lambda adv: paper.fig3(trials=n, seed=seed, advance=adv),
        paper.total_units("fig3", n),
        out,
    )


@app.command("fig8")
def fig8_cmd(
    out: Path = OutOpt,
    trials: int | None = TrialsOpt,
    seed: int = SeedOpt,
    quick: bool = QuickOpt,
    crb_trials: int = CrbOpt,
    design: str = DesignOpt,
) -> None:
    """Fig. 8: RMSE vs required rate η for the localisation algorithms + RCRB."""
    n = _trials(trials, quick)
    crb_trials = n if quick else crb_trials
    op = _op(design)
    _run(
        "fig8",
        lambda adv: paper.fig8(trials=n, seed=seed, op=op, crb_trials=crb_trials, advance=adv),
        paper.total_units("fig8", n, design=design),
        out,
    )


@app.command("fig9")
def fig9_cmd(
    out: Path = OutOpt,
    trials: int | None = TrialsOpt,
    seed: int = SeedOpt,
    quick: bool = QuickOpt,
    crb_trials: int = CrbOpt,
    design: str = DesignOpt,
) -> None:
    """Fig. 9: RMSE vs power budget P_max (20..40 dBm) for the localisation algorithms + RCRB."""
    n = _trials(trials, quick)
    p = (20, 30, 40) if quick else (20, 25, 30, 35, 40)
    crb_trials = 2 if quick else crb_trials
    op = _op(design)
    _run(
        "fig9",
        lambda adv: paper.fig9(
            trials=n, seed=seed, op=op, p_max_dbm=p, crb_trials=crb_trials, advance=adv
        ),
        paper.total_units("fig9", n, p_max_dbm=p),
        out,
    )


@app.command("fig10")
def fig10_cmd(
    out: Path = OutOpt,
    trials: int | None = TrialsOpt,
    seed: int = SeedOpt,
    quick: bool = QuickOpt,
    crb_trials: int = CrbOpt,
) -> None:
    """Fig. 10: RMSE vs satellites per plane N# for P# = 36, 54, 72 (PSO + RCRB)."""
    n = _trials(trials, quick)
    per_plane = (18, 22, 28) if quick else (18, 20, 22, 24, 26, 28)
    planes = (36, 72) if quick else (36, 54, 72)
    crb_trials = 2 if quick else crb_trials
    _run(
        "fig10",
        lambda adv: paper.fig10(
            trials=n,
            seed=seed,
            per_plane=per_plane,
            planes=planes,
            crb_trials=crb_trials,
            advance=adv,
        ),
        paper.total_units("fig10", n, per_plane=per_plane, planes=planes),
        out,
    )


@app.command("groups")
def groups_cmd(out: Path = OutOpt) -> None:
    """RCRB for K = 1 (non-cooperative) vs collaboration types I, II, III (K = 3, 5, 7)."""
    _run("groups", lambda adv: paper.groups_table(advance=adv), paper.total_units("groups", 0), out)


@app.command("operating-point")
def operating_point_cmd() -> None:
    """Echo SNR and RCRB at the seed 000 operating point, paper and radar β (docs/isac-physics.md)."""
    operating_point.main()


def _mount_design_commands() -> None:
    """`twin paper isac fig4|fig6|fig7`: the joint-design figures (twin/paper/isac/design_cli.py)."""
    app.registered_commands += design_cli.app.registered_commands


_mount_design_commands()
