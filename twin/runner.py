"""`twin run`: check everything, then run a scenario (serial, or windowed via `twin.windows`)
with progress and a summary.

All input checks (scenario schema, TLE records, SGP4 at the run's epochs)
happen before the run directory is touched, so a refused run writes nothing; a scenario given
as a dict or a ``Scenario`` object goes through the same checks as a file
(``twin.config.as_scenario``). Progress, warnings and the summary go to the given console
(``twin run``: stderr); Ctrl-C checkpoints at the next epoch, marks run.json "interrupted" and
raises :class:`twin.errors.RunInterrupted`.
"""

from __future__ import annotations

import logging
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
from twin.config.channel import channel_facts
from twin.config.loader import as_scenario, scenario_from_dict
from twin.config.packaged import find_scenario, is_packaged
from twin.config.schema import Scenario
from twin.constellation import build, tle
from twin.constellation.faults import check_faults
from twin.errors import InputError, Problem, RunInterrupted
from twin.processes import attach
from twin.rundir import RESOLVED_SCENARIO, RUN_INFO, free_run_dir, mark_interrupted, read_json
from twin.terminal import stop_on_interrupt
from twin.windows import run_windowed

log = logging.getLogger("twin.runner")  # `twin -v run ...` shows its info messages


def default_scenario_path() -> Path:
    """`scenarios/default.toml` in the working directory, else the packaged one."""
    local = Path("scenarios/default.toml")
    if local.exists():
        return local
    return find_scenario("default")


def _scenario_for(scenario, resume: Path | None) -> Scenario:
    if resume is not None:
        resolved = Path(resume) / RESOLVED_SCENARIO
        if not resolved.exists():
            raise InputError(
                [Problem(str(resume), f"not a run directory: {RESOLVED_SCENARIO} is missing")]
            )
        return scenario_from_dict(read_json(resolved), source=str(resolved))
    if scenario is None:
        scenario = default_scenario_path()
    elif isinstance(scenario, (str, Path)):
        scenario = find_scenario(scenario)
    return as_scenario(scenario)


def output_dir(scenario: Scenario, out: Path | None) -> Path:
    """Where a new run goes: `out`, else the scenario's output.dir; a packaged scenario's
    output.dir (inside the installed package) becomes ``runs/<its name>`` in the working
    directory."""
    if out is not None:
        return Path(out)
    if scenario.source_path is not None and is_packaged(scenario.source_path):
        return Path("runs") / Path(scenario.output.dir).name
    return Path(scenario.output.dir)


def prepare(
    scenario: Scenario | dict | str | Path | None = None,
    *,
    resume: Path | None = None,
    console: Console | None = None,
):
    """(Scenario, constellation) after every check, or InputError naming every problem.

    scenario: a TOML path (or the name of a packaged scenario), a dict or a Scenario; None:
    the default scenario. resume: a run directory (its resolved scenario is used). Stale
    element sets are printed on `console` as warnings (the first 10 and a count).
    """
    scenario, constellation, _ = _checked(scenario, resume, console)
    return scenario, constellation


def _checked(scenario, resume: Path | None, console: Console | None):
    """`prepare`, and the problems of the satellites left out by ``drop_decayed``."""
    scenario = _scenario_for(scenario, resume)
    start = scenario.run.start
    times = np.asarray(
        [np.datetime64(t.replace(tzinfo=None), "ns") for t in scenario.run.epoch_times()]
    )
    log.info(
        "scenario %s: checking %s constellation at %d epochs",
        scenario.source_path or "(in code)",
        scenario.constellation.kind,
        len(times),
    )
    constellation, problems = build.build_for_run(scenario.constellation, start, times)
    log.info("%d satellites, %d problem(s) at the run's epochs", len(constellation), len(problems))
    dropped = problems if scenario.constellation.drop_decayed else []
    if problems and not dropped:
        raise InputError(problems)
    if scenario.faults:
        check_faults(scenario, constellation)  # InputError: file:line faults[i].field
    warnings = [f"dropped (constellation.drop_decayed): {p}" for p in dropped]
    if scenario.constellation.kind == "tle":
        warnings += tle.stale(constellation, start, scenario.constellation.max_epoch_age_s)
    warnings += channel_facts(scenario).get("channel_warnings", [])  # also in run.json
    if console is not None:
        for warning in warnings[:10]:
            console.print(f"[yellow]warning[/]: {warning}", highlight=False)
        if len(warnings) > 10:
            console.print(
                f"[yellow]warning[/]: ... and {len(warnings) - 10} more "
                f"({len(dropped)} dropped satellites in all)",
                highlight=False,
            )
    return scenario, constellation, dropped


def run_scenario(
    scenario: Scenario | dict | str | Path | None = None,
    *,
    out: Path | None = None,
    resume: Path | None = None,
    quiet: bool = False,
    console: Console | None = None,
    workers: int = 0,
    scheduler_address: str | None = None,
    shards: int | None = None,
) -> Path:
    """Run (or resume) a scenario; returns the run directory.

    scenario: a TOML path (or a packaged scenario's name), a dict or a Scenario, checked as
    `prepare` does; None: the default scenario (or, with `resume`, the run's own).
    workers > 1 or a `scheduler_address`: a windowed run on dask.distributed
    (`twin.windows.run_windowed`, same tables); a run directory started that way is always
    resumed that way (with max(workers, 1) local workers). Otherwise the serial run.
    shards: entity shards per window of a windowed run (None: ``twin.windows.auto_shards``);
    refused for a serial run.
    Ctrl-C (SIGINT, main thread) stops a serial run at the next epoch with a checkpoint;
    either way run.json says "interrupted" and RunInterrupted (a KeyboardInterrupt) is raised.
    """
    windowed_resume = False
    if resume is not None and (Path(resume) / "run.json").exists():
        windowed_resume = read_json(Path(resume) / "run.json").get("mode") == "windowed"
    windowed = workers > 1 or bool(scheduler_address) or windowed_resume
    if shards is not None and not windowed:
        raise InputError(
            [
                Problem(
                    "--shards",
                    "entity shards split a windowed run: give --workers N (N > 1) or "
                    "--scheduler as well",
                )
            ]
        )
    console = console or Console(stderr=True)
    scenario, constellation, dropped = _checked(scenario, resume, None if quiet else console)
    facts = {"dropped_satellites": [str(p) for p in dropped]} if dropped else {}
    if windowed:
        run_dir = Path(resume) if resume is not None else free_run_dir(output_dir(scenario, out))
        try:
            run_dir, driver, wall_s = run_windowed(
                scenario,
                constellation,
                out=run_dir if resume is None else None,
                resume=resume,
                workers=max(int(workers), 1),
                scheduler_address=scheduler_address,
                quiet=quiet,
                console=console,
                shards=shards,
            )
        except KeyboardInterrupt:
            mark_interrupted(run_dir)
            raise RunInterrupted(run_dir) from None
        if not quiet:
            print_summary(console, run_dir, read_json(run_dir / RUN_INFO), driver, wall_s)
        return run_dir
    if resume is not None:
        run_dir = Path(resume)
    else:
        run_dir = free_run_dir(output_dir(scenario, out))
    log.info("%s run directory %s", "resuming" if resume is not None else "new", run_dir)
    twin = Twin(scenario, run_dir, resume=resume is not None, constellation=constellation)
    twin.rundir.info_extra.update(facts)
    attach(twin)
    started = wallclock.perf_counter()
    with stop_on_interrupt() as stop:
        twin.should_stop = stop
        try:
            info = _run(twin, scenario, quiet, console)
        except RunInterrupted:
            raise
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread
            mark_interrupted(run_dir)
            raise RunInterrupted(run_dir) from None
    if not quiet:
        print_summary(console, run_dir, info, twin, wallclock.perf_counter() - started)
    return run_dir


def _run(twin: Twin, scenario: Scenario, quiet: bool, console: Console) -> dict:
    """Twin.run with a progress bar on `console` (none when quiet); run.json's contents."""
    if quiet:
        return twin.run()
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
    return info


def print_summary(console: Console, run_dir: Path, info: dict, twin: Twin, wall_s: float) -> None:
    counts = twin.summary_counts
    mean_visible = (
        counts["visible_sum"] / counts["visible_n"] if counts["visible_n"] else float("nan")
    )
    table = Table(title=f"run {info['name']}", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a long run directory folds, never loses its "-3"
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
    console.print(f"figures and page: twin report {run_dir}", highlight=False, soft_wrap=True)
    console.print(
        f'tables in Python: twin.results.load("{run_dir}")  (or twin.run(...).tables)',
        highlight=False,
        soft_wrap=True,
    )
