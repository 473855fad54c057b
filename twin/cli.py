"""The `twin` command line (typer).

Sub-commands: run, validate, sweep, ephemeris, tle fetch, scenarios list|copy, paper isac|pnt,
report.
Each command is a thin wrapper: parsing and printing here, work in the library.
The run, sweep and report libraries are imported inside their commands (``# deferred:``):
they load cvxpy (through the ISAC process) and matplotlib, which ``twin --help``, ``twin
validate`` and ``twin paper ...`` do not need: ``import twin.cli`` takes 1.4 s with them deferred
and 2.9 s with them at the top (medians of five runs on an idle 2-core machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer import rich_utils
from typer.exceptions import TyperException

from twin import __version__, export_cli
from twin.config import packaged
from twin.config.loader import load_scenario
from twin.constellation.ephemeris import export_ephemeris
from twin.constellation.ephemeris_error import write_ephemeris_error
from twin.constellation.omm import fetch_elements
from twin.errors import InputError, RunInterrupted
from twin.paper.isac import cli as paper_isac_cli
from twin.paper.pnt import cli as paper_pnt_cli
from twin.terminal import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    STDERR,
    configure_logging,
)
from twin.units import parse_duration, parse_utc

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="leo-twin: a digital twin of LEO constellations that communicate, sense and position.",
    epilog="Exit codes: 0 done, 1 failure, 2 refused input (nothing written), 64 usage error, "
    "130 interrupted (Ctrl-C; `twin run --resume RUN_DIR` continues). Results on stdout, "
    "messages on stderr.",
)
tle_app = typer.Typer(no_args_is_help=True, help="Element sets (TLE, OMM): fetch and check.")
paper_app = typer.Typer(no_args_is_help=True, help="Reproduce the seed papers' figures and tables.")
app.add_typer(tle_app, name="tle")
app.add_typer(paper_app, name="paper")
app.add_typer(export_cli.app, name="export")


paper_app.add_typer(paper_isac_cli.app, name="isac")
paper_app.add_typer(paper_pnt_cli.app, name="pnt")


# Messages, progress and summaries go to stderr; stdout carries only a command's result (the
# run directory, the file written), so `run_dir=$(twin run -q)` works (twin.terminal).
console = err_console = STDERR

#: Problems printed in full before "... and N more" (`twin validate` prints every one).
SHOWN_PROBLEMS = 10


def _print_problems(error: InputError, show_all: bool = False, title: str = "") -> None:
    problems = error.problems
    if title:
        err_console.print(f"[yellow]{title}[/]: {len(problems)} satellite(s)")
    else:
        err_console.print(f"[bold red]refused[/]: {len(problems)} problem(s)")
    shown = problems if show_all else problems[:SHOWN_PROBLEMS]
    for problem in shown:
        err_console.print(
            f"  {problem.where}: {problem.reason}", markup=False, highlight=False, soft_wrap=True
        )
    if len(shown) < len(problems):
        err_console.print(f"  ... and {len(problems) - len(shown)} more", highlight=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"twin {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More messages on stderr (-v info, -vv debug)."
    ),
) -> None:
    """The options every command shares (the help text is the Typer app's)."""
    configure_logging(verbose)


@app.command()
def validate(scenario: Path = typer.Argument(..., help="Scenario TOML file to check.")) -> None:
    """Check a scenario file; print every problem with its file, line and field."""
    try:
        loaded = load_scenario(scenario)
    except InputError as error:
        _print_problems(error, show_all=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print(
        f"[green]ok[/]: {scenario} ({loaded.run.n_epochs} epochs of {loaded.run.step_s:g} s)"
    )


@app.command()
def run(
    scenario: Path = typer.Argument(
        None,
        help="Scenario TOML file or a packaged scenario's name (`twin scenarios list`); "
        "default: scenarios/default.toml here, else the packaged default.",
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Run directory (default: the scenario's output.dir)."
    ),
    resume: Path = typer.Option(
        None, "--resume", help="Continue the interrupted run in this run directory."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar or summary (stdout: the run directory)."
    ),
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
    shards: int = typer.Option(
        None,
        "--shards",
        min=1,
        help="With --workers/--scheduler: entity shards per window (1 = none; default: "
        "min(2 x workers, entities // 8), docs/twin.md).",
    ),
) -> None:
    """Run a scenario on the SimPy clock and write its tables to a run directory.

    Progress and the summary go to stderr; the run directory alone goes to stdout. Ctrl-C stops
    at the next epoch with a checkpoint (exit 130; `twin run --resume RUN_DIR` continues).
    """
    from twin.runner import run_scenario  # deferred: see the module docstring

    try:
        run_dir = run_scenario(
            scenario,
            out=out,
            resume=resume,
            quiet=quiet,
            console=console,
            workers=workers,
            scheduler_address=scheduler,
            shards=shards,
        )
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except RunInterrupted as stopped:
        where = "" if stopped.next_epoch is None else f" before epoch {stopped.next_epoch}"
        err_console.print(
            f'[yellow]interrupted[/]{where}; checkpoint kept, run.json says "interrupted". '
            f"Resume with:\n  twin run --resume {stopped.run_dir}",
            highlight=False,
            soft_wrap=True,
        )
        typer.echo(str(stopped.run_dir))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    typer.echo(str(run_dir))


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
        sweep_dir = run_sweep(
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
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(str(sweep_dir))


@app.command()
def ephemeris(
    source: Path = typer.Argument(
        ..., help="A TLE file, an OMM file (.json, .csv) or a scenario TOML file."
    ),
    start: str = typer.Option(
        None, help="Start, ISO 8601 UTC, e.g. 2026-05-28T12:00:00Z (default: the scenario's)."
    ),
    duration: str = typer.Option(
        None, help="Duration: 90s, 15m, 2h, 1d or seconds (default: the scenario's, else 2h)."
    ),
    step: str = typer.Option(None, help="Step: same grammar (default: the scenario's, else 60s)."),
    output: Path = typer.Option(..., "-o", "--output", help="Parquet file to write."),
    drop_decayed: bool = typer.Option(
        False,
        "--drop-decayed",
        help="Leave out satellites that decay or hit an SGP4 error (listed) instead of refusing.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace OUTPUT if it exists."),
) -> None:
    """Export ITRS positions and geodetic coordinates of every satellite to parquet."""
    try:
        start_utc = None if start is None else parse_utc(start)
        duration_s = None if duration is None else parse_duration(duration)
        step_s = None if step is None else parse_duration(step)
        if (step_s is not None and step_s <= 0) or (duration_s is not None and duration_s < 0):
            raise ValueError(
                f"need step > 0 and duration >= 0 (got step {step!r}, duration {duration!r})"
            )
    except ValueError as error:
        err_console.print(f"[bold red]refused[/]: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    dropped: list = []
    try:
        frame = export_ephemeris(
            source,
            start_utc,
            duration_s,
            step_s,
            output,
            drop_decayed=drop_decayed,
            overwrite=force,
            dropped=dropped,
        )
    except InputError as error:
        _print_problems(error)
        if not drop_decayed and any(
            "decayed" in p.reason or "sgp4 error" in p.reason for p in error.problems
        ):
            err_console.print("  (--drop-decayed leaves those satellites out instead)")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if dropped:
        _print_problems(InputError(dropped), title="dropped (--drop-decayed)")
    console.print(
        f"wrote {output}: {len(frame)} rows, {frame['norad'].nunique()} satellites"
        + (f", {len(dropped)} dropped" if dropped else ""),
        highlight=False,
    )
    typer.echo(str(output))


@app.command("ephemeris-error")
def ephemeris_error_command(
    old: Path = typer.Argument(..., help="The older TLE file (the belief)."),
    new: Path = typer.Argument(..., help="The newer TLE file (the truth at its epochs)."),
    output: Path = typer.Option(..., "-o", "--output", help="Parquet file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """OLD propagated to each NEW record's epoch vs NEW there: 3-D and RTN errors per satellite
    (parquet), a summary by age, and a figure next to the parquet file (.png)."""
    from twin.plots import ephemeris_error_figure  # deferred: matplotlib, see the docstring

    if output.exists() and not force:
        err_console.print(f"[bold red]refused[/]: {output} exists (use --force to overwrite)")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        frame, summary = write_ephemeris_error(old, new, output)
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    figure = output.with_suffix(".png")
    ephemeris_error_figure(frame, title=f"{old.name} -> {new.name}").savefig(figure, dpi=110)
    console.print(summary.to_string(index=False, float_format=lambda v: f"{v:.1f}"), soft_wrap=True)
    console.print(f"wrote {output} ({len(frame)} satellites) and {figure}")
    typer.echo(str(output))


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
        raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print(f"wrote {page}")
    typer.echo(str(page))


scenarios_app = typer.Typer(no_args_is_help=True, help="The scenarios shipped in the package.")
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.command("list")
def scenarios_list() -> None:
    """The packaged scenarios: name (for `twin run NAME`) and first comment line."""
    folder = packaged.packaged_dir()
    for name in packaged.scenario_names():
        typer.echo(f"{name:<18} {packaged.summary_line(folder / f'{name}.toml')}")


@scenarios_app.command("copy")
def scenarios_copy(
    name: str = typer.Argument(..., help="A packaged scenario (`twin scenarios list`)."),
    dest: Path = typer.Argument(..., help="Folder to copy it into (created if needed)."),
    force: bool = typer.Option(False, "--force", help="Replace files that exist."),
) -> None:
    """Copy a packaged scenario (and the TLE/track files it reads) into DEST to edit it."""
    try:
        written = packaged.copy_scenario(name, dest, force=force)
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    for path in written:
        typer.echo(str(path))


@tle_app.command("fetch")
def tle_fetch(
    group: str = typer.Argument(..., help="CelesTrak GP group, e.g. starlink, oneweb, stations."),
    dest: Path = typer.Option(Path("ephemeris"), help="Folder to write into."),
    fmt: str = typer.Option(
        "tle", "--format", help="tle, or OMM as json or csv (CelesTrak's recommended format)."
    ),
    base_url: str = typer.Option(
        "https://celestrak.org/NORAD/elements/gp.php", help="GP query endpoint."
    ),
) -> None:
    """Download a CelesTrak GP group (TLE or OMM), check every record, keep it with the fetch
    time in its name."""
    try:
        path = fetch_elements(group, dest, fmt=fmt, base_url=base_url)
    except InputError as error:
        _print_problems(error)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (RuntimeError, OSError, ValueError) as error:
        err_console.print(f"[bold red]fetch failed[/]: {error}")
        raise typer.Exit(EXIT_FAILURE) from None
    console.print(f"wrote {path}", highlight=False)
    typer.echo(str(path))


def main() -> None:
    """The `twin` entry point. BLAS runs on one thread per process: the twin's
    linear algebra is on small matrices, where OpenBLAS threads only add
    overhead (and thrash badly on a busy machine); parallelism comes from
    processes (dask workers) instead. Set TWIN_BLAS_THREADS to change it."""
    import os

    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ.get("TWIN_BLAS_THREADS", "1")), user_api="blas")
    configure_logging()
    try:
        code = app(standalone_mode=False)  # Ctrl-C outside a run returns 130 here
    except TyperException as error:  # typer's click errors: usage errors have exit code 2
        rich_utils.rich_format_error(error)
        sys.exit(EXIT_USAGE if error.exit_code == 2 else error.exit_code)
    except typer.Abort:  # end of input at a prompt
        sys.exit(EXIT_FAILURE)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
