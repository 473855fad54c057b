"""Parameter sweeps on dask.distributed: a grid of scenarios x seeds, one run directory each.

``run_sweep(sweep_file)`` checks and expands the sweep file
(:mod:`twin.config.sweep_grammar`, ``docs/sweeps.md``), then runs every run that is
not already complete as one dask task (``retries=2``) on a ``LocalCluster`` of
single-threaded worker processes, or on an existing scheduler. Layout of a
sweep directory::

    sweep_dir/
      sweep.json        parameters, seeds, and every run: params, directory, status, error
      sweep.toml        a copy of the sweep file (provenance)
      runs/<param1>=<value1>/.../seed=<s>/      one ordinary run directory per run

The run directories are hive-partitioned: ``twin.results.load_sweep(sweep_dir)``
(and ``twin.results.load(sweep_dir)``) reads every table of every complete run as one pyarrow dataset (partitioning
``"hive"``) and returns one DataFrame per table with a column per swept
parameter and ``seed``.

Each task is the library equivalent of ``twin run`` (no subprocess): a run
directory whose ``run.json`` says ``complete`` is skipped, one left
``running`` (killed worker, interrupted sweep) is resumed from its last
checkpoint, so the tables of every run equal a serial run's.
"""

from __future__ import annotations

import json
import os
import time as wallclock
import traceback
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from twin.clock import Twin
from twin.config.loader import scenario_from_dict
from twin.config.sweep_grammar import RunSpec, Sweep, expand_sweep, scenario_key
from twin.constellation import build, checks
from twin.errors import InputError, Problem
from twin.processes import attach
from twin.results import SWEEP_INFO
from twin.rundir import RESOLVED_SCENARIO, drop_parts_from, read_json, run_status, write_json_atomic
from twin.runner import run_scenario

__all__ = [
    "SweepFailed",
    "expand_sweep",
    "run_one",
    "run_sweep",
    "sweep_status",
]

SWEEP_COPY = "sweep.toml"
#: Attempts dask makes for a task that raised (on top of the first one).
TASK_RETRIES = 2


class SweepFailed(SystemExit):
    """Some runs of a sweep failed (the others completed).

    A ``SystemExit`` with code 1 so that ``twin sweep`` exits non-zero after
    printing its table of failures without a traceback; library callers can
    catch it. ``failures`` lists ``{"dir", "params", "seed", "error"}`` dicts.
    """

    def __init__(self, sweep_dir: Path, failures: list[dict]):
        super().__init__(1)
        self.sweep_dir = Path(sweep_dir)
        self.failures = failures

    def __str__(self) -> str:
        return f"{len(self.failures)} run(s) of the sweep in {self.sweep_dir} failed"


# ---------------------------------------------------------------------------
# one run (a dask task)


def run_one(scenario: dict, run_dir: str | Path, base_dir: str | Path | None = None) -> dict:
    """Run, resume or skip one run of a sweep, in this process; the dask task.

    scenario: the run's resolved scenario dict. run_dir: its run directory.
    A directory whose run.json says ``complete`` is left alone; one that says
    anything else is resumed from its checkpoint (``twin run --resume``); else
    the run starts fresh. Returns ``{"status", "action", "wall_s"}`` where
    action is ``skipped``, ``resumed`` or ``ran``. BLAS runs on one thread.
    """
    run_dir = Path(run_dir)
    started = wallclock.perf_counter()
    status = run_status(run_dir)
    if status == "complete":
        return {"status": "complete", "action": "skipped", "wall_s": 0.0}
    with threadpool_limits(1, user_api="blas"):
        if status != "absent":
            run_scenario(resume=run_dir, quiet=True)
            action = "resumed"
        else:
            built = scenario_from_dict(
                scenario, source=str(run_dir / RESOLVED_SCENARIO), base_dir=base_dir
            )
            constellation = build.build_constellation(built.constellation, built.run.start)
            problems = checks.check_at_times(constellation, built.run.epoch_times64())
            if problems:
                raise InputError(problems)
            if run_dir.exists():
                drop_parts_from(
                    run_dir, 0
                )  # a run that died before writing run.json wrote no table yet
            twin = Twin(built, run_dir, constellation=constellation)
            attach(twin)
            twin.run()
            action = "ran"
    return {
        "status": run_status(run_dir),
        "action": action,
        "wall_s": wallclock.perf_counter() - started,
    }


# ---------------------------------------------------------------------------
# the sweep directory


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _run_scenario_dict(spec: RunSpec, sweep_dir: Path) -> dict:
    scenario = json.loads(json.dumps(spec.scenario))
    scenario["output"]["dir"] = str((sweep_dir / spec.rel_dir).absolute())
    return scenario


def _prepare_dir(sweep: Sweep, sweep_dir: Path) -> list[dict]:
    """Check an existing sweep directory is this sweep's; the run entries of sweep.json."""
    problems = []
    info_path = sweep_dir / SWEEP_INFO
    if info_path.exists():
        try:
            previous = read_json(info_path)
        except (OSError, ValueError) as exc:
            raise InputError([Problem(str(info_path), f"unreadable sweep.json: {exc}")]) from None
        if previous.get("parameters") != sweep.parameters:
            problems.append(
                Problem(
                    str(sweep_dir),
                    f"this directory holds a sweep over {previous.get('parameters')}; "
                    f"this sweep varies {sweep.parameters}: use another --out",
                )
            )
    entries = []
    for spec in sweep.runs:
        run_dir = sweep_dir / spec.rel_dir
        status = run_status(run_dir)
        resolved = run_dir / RESOLVED_SCENARIO
        if status != "absent" and resolved.exists():
            try:
                same = scenario_key(read_json(resolved)) == scenario_key(spec.scenario)
            except (OSError, ValueError):
                same = False
            if not same:
                problems.append(
                    Problem(
                        str(run_dir),
                        "this run directory holds a different scenario than the sweep's run "
                        f"({spec.label()}): use another --out or remove it",
                    )
                )
        entries.append(
            {
                "index": spec.index,
                "dir": spec.rel_dir,
                "params": spec.params,
                "seed": spec.seed,
                "status": "complete"
                if status == "complete"
                else ("interrupted" if status != "absent" else "pending"),
                "error": None,
            }
        )
    if problems:
        raise InputError(problems)
    return entries


def _write_info(sweep: Sweep, sweep_dir: Path, entries: list[dict], state: str, **extra) -> None:
    write_json_atomic(
        sweep_dir / SWEEP_INFO,
        {
            "sweep_file": str(sweep.path),
            "base": str(sweep.base_path),
            "parameters": sweep.parameters,
            "seeds": sweep.seeds,
            "dir_values": sweep.dir_values,
            "n_runs": len(entries),
            "state": state,
            "updated": _now(),
            "runs": entries,
            **extra,
        },
    )


def _client(workers: int, scheduler_address: str | None):
    """(client, cluster): a Client on the given scheduler (cluster None), or on a new
    LocalCluster of single-threaded worker processes. The caller closes both."""
    from dask.distributed import Client, LocalCluster

    if scheduler_address:
        return Client(scheduler_address, set_as_default=False), None
    n = int(workers) if workers and workers > 0 else (os.cpu_count() or 1)
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster, set_as_default=False), cluster


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return "InputError: " + "; ".join(str(p) for p in exc.problems)
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)[-3:] if exc.__traceback__ is not None else []
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{text} (at {where})" if where else text


def run_sweep(
    sweep_path: str | Path,
    *,
    out: str | Path | None = None,
    workers: int = 0,
    scheduler_address: str | None = None,
    resume: str | Path | None = None,
    quiet: bool = False,
    console: Console | None = None,
    client=None,
) -> Path:
    """Run every run of a sweep on dask.distributed; returns the sweep directory.

    sweep_path: the sweep TOML (checked and expanded first: InputError before
    anything is written). out: sweep directory (default the file's
    ``[output] dir``); resume: an existing sweep directory to finish (same as
    ``out``). Runs already complete there are skipped, interrupted ones resume.
    workers: LocalCluster worker processes (0 = one per core), ignored with
    ``scheduler_address`` (an existing scheduler whose workers see the same
    filesystem) or ``client`` (an existing dask Client, not closed here).
    Failed runs are recorded in sweep.json with their error; the others go on;
    at the end a table of failures is printed and SweepFailed (exit code 1) raised.
    """
    from dask.distributed import as_completed

    console = console or Console()
    sweep = expand_sweep(sweep_path)
    if resume is not None:
        sweep_dir = Path(resume)
        if not (sweep_dir / SWEEP_INFO).exists():
            raise InputError(
                [Problem(str(sweep_dir), f"not a sweep directory: {SWEEP_INFO} is missing")]
            )
    else:
        sweep_dir = Path(out) if out is not None else sweep.output_dir
    sweep_dir = sweep_dir.absolute()
    entries = _prepare_dir(sweep, sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / SWEEP_COPY).write_text(sweep.text, encoding="utf-8")
    started = wallclock.perf_counter()
    todo = [e for e in entries if e["status"] != "complete"]
    skipped = len(entries) - len(todo)
    _write_info(sweep, sweep_dir, entries, "running", started=_now())
    if not quiet:
        console.print(
            f"sweep {sweep.path.name}: {len(entries)} runs ({skipped} already complete) -> {sweep_dir}",
            highlight=False,
        )

    if todo:
        owned = client is None
        cluster = None
        if owned:
            client, cluster = _client(workers, scheduler_address)
        try:
            futures = {}
            specs = {spec.index: spec for spec in sweep.runs}
            for entry in todo:
                spec = specs[entry["index"]]
                entry["status"] = "running"
                future = client.submit(
                    run_one,
                    _run_scenario_dict(spec, sweep_dir),
                    str(sweep_dir / spec.rel_dir),
                    str(sweep.path.parent),
                    retries=TASK_RETRIES,
                    pure=False,
                    key=f"twin-run-{spec.index}-{os.urandom(4).hex()}",
                )
                futures[future] = entry
            _write_info(sweep, sweep_dir, entries, "running", started=_now())
            progress = None
            if not quiet:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                progress = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("failed {task.fields[failed]}"),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=console,
                )
                progress.start()
                bar = progress.add_task("runs", total=len(futures), failed=0)
            failed = 0
            try:
                for future in as_completed(list(futures), loop=client.loop):
                    entry = futures[future]
                    try:
                        result = future.result()
                        entry["status"] = result["status"]
                        entry["wall_s"] = round(float(result["wall_s"]), 3)
                        entry["action"] = result["action"]
                        entry["error"] = None
                    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
                        entry["status"] = "failed"
                        entry["error"] = _error_text(exc)
                        failed += 1
                    _write_info(sweep, sweep_dir, entries, "running")
                    if progress is not None:
                        progress.update(bar, advance=1, failed=failed)
            finally:
                if progress is not None:
                    progress.stop()
        finally:
            if owned:
                client.close()
                if cluster is not None:
                    cluster.close()

    failures = [e for e in entries if e["status"] != "complete"]
    wall_s = wallclock.perf_counter() - started
    _write_info(
        sweep, sweep_dir, entries, "failed" if failures else "complete", wall_s=round(wall_s, 3)
    )
    if not quiet:
        table = Table(title=f"sweep {sweep.path.name}", show_header=False)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")  # a long sweep directory folds, never truncated
        table.add_row("sweep directory", str(sweep_dir))
        table.add_row("parameters", ", ".join(sweep.parameters + ["seed"]))
        table.add_row(
            "runs",
            f"{len(entries)}: {len(entries) - len(failures)} complete ({skipped} skipped), {len(failures)} failed",
        )
        table.add_row("wall time", f"{wall_s:.1f} s")
        console.print(table)
        console.print(
            f'tables in Python: twin.results.load("{sweep_dir}")', highlight=False, soft_wrap=True
        )
    if failures:
        table = Table(title=f"{len(failures)} failed run(s)")
        table.add_column("run")
        table.add_column("error", overflow="fold")
        for entry in failures:
            table.add_row(entry["dir"], entry.get("error") or entry["status"])
        console.print(table)
        raise SweepFailed(
            sweep_dir, [{k: e.get(k) for k in ("dir", "params", "seed", "error")} for e in failures]
        )
    return sweep_dir


def sweep_status(sweep_dir: str | Path) -> dict[str, str]:
    """Run directory (relative) -> status read from each run's run.json (``absent`` if never started)."""
    info = read_json(Path(sweep_dir) / SWEEP_INFO)
    return {entry["dir"]: run_status(Path(sweep_dir) / entry["dir"]) for entry in info["runs"]}
