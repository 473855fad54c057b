"""The `twin` command line (typer).

Sub-commands: run, validate, sweep, ephemeris, tle fetch, paper isac|pnt, report.
Each command is a thin wrapper: parsing and printing here, work in the library.
The run, sweep and report libraries are imported inside their commands (``# deferred:``):
they load cvxpy (through the ISAC process) and matplotlib, which ``twin --help``, ``twin
validate`` and ``twin paper ...`` do not need: ``import twin.cli`` takes 1.4 s with them deferred
and 2.9 s with them at the top (medians of five runs on an idle 2-core machine).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from twin import export_cli
from twin.config.loader import load_scenario
from twin.constellation.ephemeris import export_ephemeris
from twin.constellation.tle import fetch_tle
from twin.errors import InputError
from twin.paper.isac import cli as paper_isac_cli
from twin.paper.pnt import cli as paper_pnt_cli
from twin.units import parse_duration, parse_utc

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="leo-twin: a digital twin of LEO constellations that communicate, sense and position.",
)
tle_app = typer.Typer(no_args_is_help=True, help="Two-line element sets: fetch and check.")
paper_app = typer.Typer(no_args_is_help=True, help="Reproduce the seed papers' figures and tables.")
app.add_typer(tle_app, name="tle")
app.add_typer(paper_app, name="paper")
app.add_typer(export_cli.app, name="export")


paper_app.add_typer(paper_isac_cli.app, name="isac")
paper_app.add_typer(paper_pnt_cli.app, name="pnt")


console = Console()
err_console = Console(stderr=True)


def _print_problems(error: InputError) -> None:
    err_console.print(f"[bold red]refused[/]: {len(error.problems)} problem(s)")
    for problem in error.problems:
        err_console.print(
            f"  {problem.where}: {problem.reason}", markup=False, highlight=False, soft_wrap=True
        )


@app.command()
def validate(scenario: Path = typer.Argument(..., help="Scenario TOML file to check.")) -> None:
    """Check a scenario file; print every problem with its file, line and field."""
    try:
        loaded = load_scenario(scenario)
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(2) from None
    console.print(
        f"[green]ok[/]: {scenario} ({loaded.run.n_epochs} epochs of {loaded.run.step_s:g} s)"
    )


@app.command()
def run(
    scenario: Path = typer.Argument(
        None, help="Scenario TOML file (default: scenarios/default.toml)."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Run directory (default: the scenario's output.dir)."
    ),
    resume: Path = typer.Option(
        None, "--resume", help="Continue the interrupted run in this run directory."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    workers: int = typer.Option(
        0,
        "--workers",
        "-w",
        min=0,
        help="> 1: run time windows in parallel on that many local dask workers (docs/twin.md).",
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Run the windows on an existing dask scheduler (tcp://host:8786)."
    ),
) -> None:
    """Run a scenario on the SimPy clock and write its tables to a run directory."""
    from twin.runner import run_scenario  # deferred: see the module docstring

    try:
        run_scenario(
            scenario,
            out=out,
            resume=resume,
            quiet=quiet,
            console=console,
            workers=workers,
            scheduler_address=scheduler,
        )
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(2) from None


@app.command()
def sweep(
    sweep_file: Path = typer.Argument(
        ..., help="Sweep TOML: a base scenario and a parameter grid (docs/sweeps.md)."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Sweep directory (default: the sweep file's output.dir)."
    ),
    workers: int = typer.Option(
        0, "--workers", "-w", help="Local dask workers (0 = one per core)."
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Address of an existing dask scheduler (tcp://host:8786)."
    ),
    resume: Path = typer.Option(
        None, "--resume", help="Finish an interrupted sweep in this directory."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Run a grid of scenarios x seeds on dask.distributed into one partitioned dataset."""
    from twin.sweep import run_sweep  # deferred: see the module docstring

    try:
        run_sweep(
            sweep_file,
            out=out,
            workers=workers,
            scheduler_address=scheduler,
            resume=resume,
            quiet=quiet,
            console=console,
        )
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(2) from None


@app.command()
def ephemeris(
    source: Path = typer.Argument(..., help="A TLE file or a scenario TOML file."),
    start: str = typer.Option(..., help="Start, ISO 8601 UTC, e.g. 2026-05-28T12:00:00Z."),
    duration: str = typer.Option("2h", help="Duration: 90s, 15m, 2h, 1d or seconds."),
    step: str = typer.Option("60s", help="Step: same grammar as duration."),
    output: Path = typer.Option(..., "-o", "--output", help="Parquet file to write."),
) -> None:
    """Export ITRS positions and geodetic coordinates of every satellite to parquet."""
    try:
        start_utc = parse_utc(start)
        duration_s, step_s = parse_duration(duration), parse_duration(step)
        if step_s <= 0 or duration_s < 0:
            raise ValueError(
                f"need step > 0 and duration >= 0 (got step {step!r}, duration {duration!r})"
            )
    except ValueError as error:
        err_console.print(f"[bold red]refused[/]: {error}")
        raise typer.Exit(2) from None
    try:
        frame = export_ephemeris(source, start_utc, duration_s, step_s, output)
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(2) from None
    console.print(f"wrote {output}: {len(frame)} rows, {frame['norad'].nunique()} satellites")


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by `twin run`."),
    out: Path = typer.Option(
        None, "--out", "-o", help="Folder for the figures and page (default: RUN_DIR/report)."
    ),
) -> None:
    """Figures and an HTML page (with a summary table) for a finished run."""
    from twin.report import write_report  # deferred: see the module docstring

    try:
        page = write_report(run_dir, out)
    except FileNotFoundError as error:
        err_console.print(f"[bold red]refused[/]: {error}")
        raise typer.Exit(2) from None
    console.print(f"wrote {page}")


@tle_app.command("fetch")
def tle_fetch(
    group: str = typer.Argument(..., help="CelesTrak GP group, e.g. starlink, oneweb, stations."),
    dest: Path = typer.Option(Path("ephemeris"), help="Folder to write into."),
    base_url: str = typer.Option(
        "https://celestrak.org/NORAD/elements/gp.php", help="GP query endpoint."
    ),
) -> None:
    """Download a CelesTrak GP group (TLE format), validate it, keep it with the fetch time in its name."""
    try:
        path = fetch_tle(group, dest, base_url=base_url)
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(2) from None
    except (RuntimeError, OSError, ValueError) as error:
        err_console.print(f"[bold red]fetch failed[/]: {error}")
        raise typer.Exit(1) from None
    console.print(f"wrote {path}")


def main() -> None:
    """The `twin` entry point. BLAS runs on one thread per process: the twin's
    linear algebra is on small matrices, where OpenBLAS threads only add
    overhead (and thrash badly on a busy machine); parallelism comes from
    processes (dask workers) instead. Set TWIN_BLAS_THREADS to change it."""
    import os

    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ.get("TWIN_BLAS_THREADS", "1")), user_api="blas")
    app()


if __name__ == "__main__":
    main()
