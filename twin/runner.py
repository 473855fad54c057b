"""`twin run`: check everything, then run a scenario (serial, or windowed via `twin.windows`)
with progress and a summary.

All input checks (scenario schema, TLE records, SGP4 at the run's epochs)
happen before the run directory is touched, so a refused run writes nothing.
"""

from __future__ import annotations

import time as wallclock
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from twin.clock import Twin
from twin.config.loader import load_scenario, scenario_from_dict
from twin.constellation import build, checks, tle
from twin.constellation.faults import check_faults
from twin.errors import InputError, Problem
from twin.processes import attach
from twin.rundir import RESOLVED_SCENARIO, RUN_INFO, free_run_dir, read_json
from twin.windows import run_windowed


def default_scenario_path() -> Path:
    """`scenarios/default.toml` in the working directory, else the repository's."""
    local = Path("scenarios/default.toml")
    if local.exists():
        return local
    return Path(__file__).resolve().parent.parent / "scenarios" / "default.toml"


def _scenario_for(scenario_path: Path | None, resume: Path | None):
    if resume is not None:
        resolved = Path(resume) / RESOLVED_SCENARIO
        if not resolved.exists():
            raise InputError(
                [Problem(str(resume), f"not a run directory: {RESOLVED_SCENARIO} is missing")]
            )
        return scenario_from_dict(read_json(resolved), source=str(resolved))
    if scenario_path is None:
        scenario_path = default_scenario_path()
    return load_scenario(scenario_path)


def prepare(
    scenario_path: Path | None = None, *, resume: Path | None = None, console: Console | None = None
):
    """Scenario, constellation and warnings, or InputError naming every problem."""
    scenario = _scenario_for(scenario_path, resume)
    start = scenario.run.start
    constellation = build.build_constellation(scenario.constellation, start)
    times = np.asarray(
        [np.datetime64(t.replace(tzinfo=None), "ns") for t in scenario.run.epoch_times()]
    )
    problems = checks.check_at_times(constellation, times)
    if problems:
        raise InputError(problems)
    if scenario.faults:
        check_faults(scenario, constellation)  # InputError: file:line faults[i].field
    warnings = []
    if scenario.constellation.kind == "tle":
        warnings = tle.stale(constellation, start, scenario.constellation.max_epoch_age_s)
    if console is not None:
        for warning in warnings[:10]:
            console.print(f"[yellow]warning[/]: {warning}", highlight=False)
        if len(warnings) > 10:
            console.print(
                f"[yellow]warning[/]: ... and {len(warnings) - 10} more stale records",
                highlight=False,
            )
    return scenario, constellation


def run_scenario(
    scenario_path: Path | None = None,
    *,
    out: Path | None = None,
    resume: Path | None = None,
    quiet: bool = False,
    console: Console | None = None,
    workers: int = 0,
    scheduler_address: str | None = None,
) -> Path:
    """Run (or resume) a scenario; returns the run directory.

    workers > 1 or a `scheduler_address`: a windowed run on dask.distributed
    (`twin.windows.run_windowed`, same tables); a run directory started that way is always
    resumed that way (with max(workers, 1) local workers). Otherwise the serial run.
    """
    windowed_resume = False
    if resume is not None and (Path(resume) / "run.json").exists():
        windowed_resume = read_json(Path(resume) / "run.json").get("mode") == "windowed"
    console = console or Console()
    scenario, constellation = prepare(
        scenario_path, resume=resume, console=None if quiet else console
    )
    if workers > 1 or scheduler_address or windowed_resume:
        run_dir, driver, wall_s = run_windowed(
            scenario,
            constellation,
            out=out,
            resume=resume,
            workers=max(int(workers), 1),
            scheduler_address=scheduler_address,
            quiet=quiet,
            console=console,
        )
        if not quiet:
            print_summary(console, run_dir, read_json(run_dir / RUN_INFO), driver, wall_s)
        return run_dir
    if resume is not None:
        run_dir = Path(resume)
    else:
        run_dir = free_run_dir(Path(out) if out is not None else Path(scenario.output.dir))
    twin = Twin(scenario, run_dir, resume=resume is not None, constellation=constellation)
    attach(twin)
    started = wallclock.perf_counter()
    if quiet:
        info = twin.run()
    else:
        step_s = twin.step_s
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("sim {task.fields[sim]}"),
            TextColumn("wall"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            total = twin.n_epochs
            task = progress.add_task(scenario.run.name, total=total, sim="0:00:00")

            def update(done: int, n: int) -> None:
                progress.update(
                    task, completed=done, sim=str(timedelta(seconds=round((done - 1) * step_s)))
                )

            twin.progress_callback = update
            info = twin.run()
            progress.update(task, completed=total)
        print_summary(console, run_dir, info, twin, wallclock.perf_counter() - started)
    return run_dir


def print_summary(console: Console, run_dir: Path, info: dict, twin: Twin, wall_s: float) -> None:
    counts = twin.summary_counts
    mean_visible = (
        counts["visible_sum"] / counts["visible_n"] if counts["visible_n"] else float("nan")
    )
    table = Table(title=f"run {info['name']}", show_header=False)
    table.add_row("run directory", str(run_dir))
    table.add_row("satellites", f"{info['n_satellites']}")
    table.add_row("ground entities", f"{info['n_ground_entities']}")
    table.add_row("epochs", f"{info['n_epochs']} × {info['step_s']:g} s")
    table.add_row("handovers", f"{counts['handovers']}")
    table.add_row("epochs × entities without a valid group", f"{counts['invalid_groups']}")
    table.add_row("mean visible satellites", f"{mean_visible:.1f}")
    for process in twin.processes:
        if process.name == "isac":
            table.add_row(
                "ISAC target-epochs (re-plans)",
                f"{counts.get('isac_rows', 0)} ({counts.get('isac_replans', 0)}), design {process.design}, "
                f"estimator {process.config.estimator}",
            )
        elif process.name == "pnt":
            table.add_row(
                "PNT UT-epochs",
                f"{counts.get('pnt_rows', 0)}, scheduler {process.config.scheduler}, "
                f"beamformer {process.beamformer}",
            )
    table.add_row("wall time", f"{wall_s:.1f} s")
    stages = twin.timer.seconds
    if stages:
        table.add_row("time by stage", ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    console.print(table)
    console.print(
        f"tables: python -c \"import twin.results as r; print(r.load('{run_dir}'))\"",
        highlight=False,
    )
