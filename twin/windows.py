"""Windowed long runs on dask.distributed: `twin run SCENARIO --workers N`.

One run's epochs are cut into windows ``[k·W, (k+1)·W)`` (W = ``[run] window`` epochs),
the windows run in parallel on dask.distributed (a ``LocalCluster(n_workers=N,
threads_per_worker=1, processes=True)`` by default, an existing scheduler by address), and
each writes its parquet parts straight into the one run directory
(``tables/<table>/part-<first_epoch>.parquet``: epochs are indexed globally, so parts of
different windows never collide). ``twin.results.load`` then reads the same tables, row for
row, as the serial run's (``tests/test_windows.py``).

Why a window run on its own equals the serial run (what is carried from epoch to epoch):

1. **Randomness**: every draw comes from ``SeedSequence([seed, epoch, entity])`` or a
   once-per-run ``SeedSequence([seed, entity, tag])`` (``twin.epoch`` lists them), never
   from a stream that runs across epochs.
2. **Process state** that depends on earlier *results* (ISAC: held plan, fast-design warm
   start, the previous estimate used as the next prior; PNT: held schedule and beams, warm
   starts) is dropped by **every** run, serial included, at every window boundary epoch
   ``b`` (``b > 0``, ``b % W == 0``; ``twin.clock.is_window_boundary``): there every entity
   re-plans cold (``replan_reason = "window"``) and ISAC re-acquires from a fresh prior.
   Only geometry-only process state survives a boundary (PNT's ``valid_before``, "had the
   cluster enough satellites at b-1"), and a window recomputes it from epoch b-1
   (``seed_from_epoch``).
3. **Handover tracker** (the foundation's, ``twin.constellation.handover``): its state after epoch b-1 is
   (central, members, valid) of every entity's serving group at b-1. The group at b-1 is a
   function of epoch b-1's geometry and ISL graph and of one carried value, the central at
   b-2 (hysteresis, ``serving._select_central``). The central chain depends only on
   elevations: with ``prev`` the previous central, ``best`` the highest satellite,
   ``central = prev`` if ``el[prev] >= mask`` and not ``el[best] > el[prev] + hysteresis``,
   else ``best`` if ``el[best] >= mask``, else -1. So ``prev`` is kept exactly when it lies
   in the **candidate set** ``{s : el[s] >= mask and not el[best] > el[s] + hysteresis}``
   (the same floating-point comparisons, on the same elevations: both come from
   ``Twin.look``). A parallel pre-pass (propagation and look angles only, no ISL graph)
   stores per epoch and entity ``best`` (or -1) and the candidate set (a few satellites);
   the driver runs the chain serially over all epochs (:func:`central_chain`, cheap) and
   hands window b the central at b-2. The window then builds epoch b-1 in full (ISL graph,
   groups; rows not recorded) to seed the tracker. Every window checks at every epoch that
   its centrals equal the pre-pass chain and stops with an error otherwise (a wrong result
   is never written silently).
4. **Summary counts** (handovers, visible sums, re-plans) are per window (in each window's
   checkpoint) and summed by the driver.

The cost of the rule in 2: one cold re-plan per entity per window (and at those epochs no
``isac_beams`` / ``pnt_*`` beam-change handover rows, since there is no held plan to
compare with); the cost of 3: propagation and look angles of every epoch twice (pre-pass and
window) and one extra full epoch (b-1) per window.

Entity shards (many ISAC targets / PNT clusters): each window is also cut by entity into
``n_shards`` shards (:func:`entity_shards`; :func:`auto_shards` picks n, ``--shards N``
overrides it), and every (window, shard) is one dask task. A shard builds every epoch of its
window in full (propagation, look angles, ISL graph, serving groups and handovers of every
entity: the shared geometry, recomputed by each shard) but attaches the ISAC / PNT process
for its own entities only (``twin.processes.attach(targets=, terminals=)``), so it holds
only their state. Per-entity results depend on no other entity (point 1; each process keeps
its state per entity), so a shard writes exactly the rows the unsharded run writes for its
entities. Shard 0 also attaches the recorder and writes the foundation's tables and counts;
shard k >= 1 writes its parts as ``part-<first>-s<k:03d>.parquet`` and checkpoints into
``windows/<first>-s<k:03d>.json``. A shard serves one process's entities only (a contiguous
run of ``[isac] targets``, then of ``[pnt] terminals``), so concatenating the parts of one
epoch in shard order gives the serial run's row order, which ``twin.results.load`` restores
with a stable sort by epoch (``handovers``: the serving-group rows of shard 0, then ISAC's,
then PNT's, as the serial run's subscribers write them).

Faults and resume: each window checkpoints into ``windows/<first:08d>.json`` (next epoch,
carried state, stage times, memory samples) every ``checkpoint_every`` epochs, after its
parts (written to a temporary name and renamed). A window task that fails or whose worker
dies is re-run by dask (``retries``; ``allowed-failures`` for killed workers) and continues
from its checkpoint; ``--resume RUN_DIR`` runs only the unfinished (window, shard) tasks,
with the run's own shard count (``run.json`` ``n_shards``).
"""

from __future__ import annotations

import json
import os
import time as wallclock
from pathlib import Path

import numpy as np
from rich.console import Console

from twin.clock import Twin
from twin.constellation import build
from twin.errors import InputError, Problem
from twin.processes import attach, served
from twin.rundir import (
    RESOLVED_SCENARIO,
    RUN_INFO,
    WINDOWS,
    current_rss_mb,
    free_run_dir,
    read_json,
    window_checkpoint_path,
    write_json_atomic,
)

__all__ = [
    "run_windowed",
    "window_spans",
    "auto_shards",
    "entity_shards",
    "central_candidates",
    "central_chain",
    "run_window",
    "sum_counts",
]

#: Retries of a window task that raised (a killed worker is covered by ALLOWED_FAILURES).
WINDOW_RETRIES = 2
#: dask's ``distributed.scheduler.allowed-failures`` for clusters this module starts.
ALLOWED_FAILURES = 5
CENTRALS = "centrals.npy"
#: Fewest entities per shard :func:`auto_shards` makes: each shard rebuilds the geometry of
#: its window (about 0.1 s per epoch with 10,000 satellites and ISLs: a third of an ISAC or
#: PNT entity-epoch on the numpy engines, one to three on the compiled ones), which this many
#: entities' work keeps a small share.
SHARD_MIN_ENTITIES = 8


def auto_shards(scenario, workers: int) -> int:
    """The entity shards per window of a windowed run on `workers` workers when ``--shards``
    is not given: ``min(2 * workers, E // SHARD_MIN_ENTITIES)`` with E the ISAC targets plus
    PNT clusters served, at least 1 (so fewer than 16 entities: no sharding). Two shards per
    worker let dask balance shards of different sizes (ISAC and PNT shards are separate)."""
    targets, terminals = served(scenario)
    n = len(targets) + len(terminals)
    return max(1, min(2 * int(workers), n // SHARD_MIN_ENTITIES))


def entity_shards(scenario, n_shards: int) -> list[dict]:
    """The entity shards of a window: ``[{"targets": [...], "terminals": [...]}, ...]``.

    With n_shards = 1 (or nothing served): one shard serving everything, as an unsharded run.
    Otherwise each shard serves a contiguous run of one process's entities (ISAC shards
    first, in ``[isac] targets`` order, then PNT shards): the n shards are shared between the
    processes in proportion to their entity counts, at least one each, and each list is cut
    into near-equal chunks (sizes differ by at most one). n is capped at the entity count.
    """
    targets, terminals = served(scenario)
    n_shards = int(n_shards)
    if n_shards < 1:
        raise ValueError(f"n_shards must be >= 1, got {n_shards}")
    total = len(targets) + len(terminals)
    n_shards = min(n_shards, max(total, 1))
    if n_shards == 1:
        return [{"targets": targets, "terminals": terminals}]
    k_isac = round(n_shards * len(targets) / total)
    if targets and terminals:
        k_isac = min(max(k_isac, 1), n_shards - 1)
    k_isac = min(k_isac, len(targets))
    k_pnt = min(n_shards - k_isac, len(terminals))
    k_isac = n_shards - k_pnt
    shards = (
        [
            {"targets": [str(n) for n in chunk], "terminals": []}
            for chunk in np.array_split(np.asarray(targets, dtype=object), k_isac)
        ]
        if k_isac
        else []
    )
    shards += (
        [
            {"targets": [], "terminals": [str(n) for n in chunk]}
            for chunk in np.array_split(np.asarray(terminals, dtype=object), k_pnt)
        ]
        if k_pnt
        else []
    )
    return shards


def window_spans(n_epochs: int, window: int) -> list[tuple[int, int]]:
    """The windows ``[(first, stop), ...]`` of a run of `n_epochs`, cut at multiples of `window`."""
    if n_epochs < 1 or window < 1:
        raise ValueError(f"need n_epochs >= 1 and window >= 1, got {n_epochs}, {window}")
    return [(first, min(first + window, n_epochs)) for first in range(0, n_epochs, window)]


# ----------------------------------------------------------------------------- worker side
_CACHE: dict = {}


def _twin(scenario, run_dir, span, shard: int = 0):
    """A Twin for `span` (entity shard `shard`), reusing this worker process's constellation
    and plane labels."""
    key = json.dumps(
        [scenario.constellation.model_dump(mode="json"), str(scenario.run.start)],
        sort_keys=True,
        default=str,
    )
    if _CACHE.get("key") != key:
        _CACHE.clear()
        _CACHE["constellation"] = build.build_constellation(
            scenario.constellation, scenario.run.start
        )
        _CACHE["key"] = key
    twin = Twin(
        scenario,
        run_dir,
        constellation=_CACHE["constellation"],
        labels=_CACHE.get("labels"),
        span=span,
        shard=shard,
    )
    _CACHE["labels"] = twin.labels
    return twin


def central_candidates(twin: Twin, first: int, stop: int) -> dict:
    """Pre-pass of epochs ``[first, stop)``: what the central-satellite chain needs.

    Returns {"first": first, "best": (T, G) int64 (the highest satellite, -1 when it is below
    the mask), "ptr": (T*G + 1,) int64, "idx": (n,) int64}: the candidate set of epoch
    first+t, entity g is ``idx[ptr[t*G+g]:ptr[t*G+g+1]]`` (satellites a previous central may
    be and stay central: above the mask and within the hysteresis of the best).
    """
    sc = twin.scenario
    mask, hysteresis = sc.visibility.mask_elevation_rad, sc.serving.hysteresis_rad
    G = len(twin.ground.names)
    best_all = np.full((stop - first, G), -1, dtype=np.int64)
    idx, ptr = [], [0]
    for t, index in enumerate(range(first, stop)):
        elevation = twin.look(index)[4]  # (G, S) rad, as build_epoch sees it
        for g in range(G):
            el = elevation[g][None, :]  # (1, S): the shape serving_group hands to _select_central
            best = np.argmax(el, axis=1)
            best_el = el[0, best]
            best_all[t, g] = int(best[0]) if best_el[0] >= mask else -1
            keep = np.flatnonzero((el[0] >= mask) & ~(best_el > el[0] + hysteresis))
            idx.append(keep)
            ptr.append(ptr[-1] + len(keep))
    return {
        "first": first,
        "best": best_all,
        "ptr": np.asarray(ptr, dtype=np.int64),
        "idx": np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, dtype=np.int64),
    }


def central_chain(parts: list[dict], n_epochs: int, n_entities: int) -> np.ndarray:
    """(n_epochs, G) int64: the central satellite of every entity at every epoch, from the
    pre-pass `parts` (:func:`central_candidates` of consecutive spans covering the run),
    following the hysteresis rule of ``serving._select_central`` from "no previous"."""
    chain = np.full((n_epochs, n_entities), -1, dtype=np.int64)
    prev = np.full(n_entities, -1, dtype=np.int64)
    covered = 0
    for part in sorted(parts, key=lambda p: p["first"]):
        if part["first"] != covered:
            raise ValueError(
                f"pre-pass parts must cover the run without gaps: expected epoch {covered}, "
                f"got a part from {part['first']}"
            )
        best, ptr, idx = part["best"], part["ptr"], part["idx"]
        for t in range(best.shape[0]):
            for g in range(n_entities):
                k = t * n_entities + g
                cands = idx[ptr[k] : ptr[k + 1]]
                prev[g] = prev[g] if (prev[g] >= 0 and np.any(cands == prev[g])) else best[t, g]
            chain[covered + t] = prev
        covered += best.shape[0]
    if covered != n_epochs:
        raise ValueError(f"pre-pass parts cover {covered} of {n_epochs} epochs")
    return chain


def prepass_task(scenario, run_dir: str, first: int, stop: int) -> dict:
    """dask task: :func:`central_candidates` of ``[first, stop)``."""
    return central_candidates(_twin(scenario, Path(run_dir), None), first, stop)


def run_window(
    scenario,
    run_dir: str | Path,
    first: int,
    stop: int,
    *,
    chain: np.ndarray,
    wall_origin: tuple[float, float] | None = None,
    shard: int = 0,
    n_shards: int = 1,
) -> dict:
    """Run (or continue) window ``[first, stop)`` of a windowed run in `run_dir`.

    chain: (n_epochs, G) centrals from :func:`central_chain` (rows first-2 .. stop-1 are
    used: the seed and the check). wall_origin: (unix time, earlier seconds) of the run's
    session, for the memory samples' ``wall_s``. shard, n_shards: run entity shard `shard` of
    ``entity_shards(scenario, n_shards)`` (shard 0 also writes the foundation's tables).
    Returns a small dict (first, stop, shard, next_epoch, summary); the rest stays in the
    window's checkpoint ``windows/<first>[-s<shard>].json`` (results held by dask stay small
    however many windows a run has).
    """
    twin = _twin(scenario, Path(run_dir), (first, stop), shard)
    if n_shards > 1:
        entities = entity_shards(scenario, n_shards)[shard]
        attach(twin, **entities, foundation=shard == 0)
    else:
        attach(twin)
    names = twin.ground.names
    if first >= 2:
        twin.window_seed = {name: int(chain[first - 2, g]) for g, name in enumerate(names)}
    lo = max(first - 1, 0)
    twin.expected_central = (lo, np.asarray(chain[lo:stop]))
    if wall_origin is not None:
        twin.rundir.wall_origin = (float(wall_origin[0]), float(wall_origin[1]))
    state = twin.run()
    return {
        "first": first,
        "stop": stop,
        "shard": shard,
        "next_epoch": state["next_epoch"],
        "summary": state["state"]["summary"],
    }


def sum_counts(counts: list[dict]) -> dict:
    """Key-wise sum of the windows' summary counts."""
    total: dict = {}
    for c in counts:
        for key, value in c.items():
            total[key] = total.get(key, 0) + value
    return total


# ----------------------------------------------------------------------------- driver side
def _window_state(run_dir: Path, span, shard: int = 0) -> dict | None:
    path = window_checkpoint_path(run_dir, span[0], shard)
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, ValueError):  # being replaced right now: read it next time
        return None


def _client(workers: int, scheduler_address: str | None):
    """(client, cluster or None): a LocalCluster of `workers` single-threaded processes, or
    a client of the scheduler at `scheduler_address`."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler_address:
        return Client(scheduler_address), None
    if workers < 1:
        raise ValueError(f"workers must be >= 1 for a windowed run, got {workers}")
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        cluster = LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster


def _prepare_run_dir(scenario, out, resume) -> tuple[Path, dict]:
    if resume is not None:
        run_dir = Path(resume)
        info = read_json(run_dir / RUN_INFO) if (run_dir / RUN_INFO).exists() else {}
        if info.get("mode") != "windowed":
            raise InputError(
                [
                    Problem(
                        str(run_dir),
                        "this run was not started with --workers: resume it without "
                        "--workers (its checkpoint.json is a serial run's)",
                    )
                ]
            )
        return run_dir, info
    run_dir = free_run_dir(Path(out) if out is not None else Path(scenario.output.dir))
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / RESOLVED_SCENARIO, scenario.to_resolved_dict())
    return run_dir, {}


def run_windowed(
    scenario,
    constellation,
    *,
    out: Path | None = None,
    resume: Path | None = None,
    workers: int = 2,
    scheduler_address: str | None = None,
    quiet: bool = False,
    console: Console | None = None,
    shards: int | None = None,
) -> tuple[Path, Twin, float]:
    """Run (or resume) a scenario as parallel windows on dask.distributed; returns (the run
    directory, the driver Twin holding the summed counts and stage times, this session's wall
    seconds). Its tables equal the serial run's (``twin run`` without ``--workers``).

    scenario, constellation: checked by ``twin.runner.prepare`` (``twin.runner.run_scenario``
    calls this and prints the summary). workers: local worker processes (one thread each)
    when no `scheduler_address` is given. shards: entity shards per window (1: none; None:
    :func:`auto_shards` of the workers); a resumed run keeps its own (``run.json``
    ``n_shards``) and refuses a different `shards`.
    """
    from distributed import wait

    console = console or Console()
    run_dir, previous_info = _prepare_run_dir(scenario, out, resume)
    driver = Twin(
        scenario, run_dir, constellation=constellation
    )  # run.json writer, summary, no epochs
    attach(driver)  # the processes' names and settings, for the summary
    spans = window_spans(driver.n_epochs, driver.window)
    n_shards = _n_shards(
        scenario, run_dir, previous_info, resume, shards, workers, scheduler_address
    )
    tasks = [(span, shard) for span in spans for shard in range(n_shards)]
    driver.rundir.memory = list(previous_info.get("memory", []))
    driver.rundir.info_extra = {
        "mode": "windowed",
        "window_epochs": driver.window,
        "n_windows": len(spans),
        "n_shards": n_shards,
        "workers": scheduler_address or int(workers),
    }
    session_started = wallclock.perf_counter()
    wall_origin = (wallclock.time(), float(previous_info.get("wall_s_total", 0.0)))
    driver.rundir.write_info("running", wall_s=0.0, stage_s=driver.timer.seconds)
    todo = [
        (span, shard)
        for span, shard in tasks
        if (_window_state(run_dir, span, shard) or {}).get("next_epoch") != span[1]
    ]
    G = len(driver.ground.names)
    if todo:
        client, cluster = _client(workers, scheduler_address)
        try:
            centrals_path = run_dir / WINDOWS / CENTRALS
            chain = np.load(centrals_path) if centrals_path.exists() else None
            if chain is None or chain.shape != (driver.n_epochs, G):
                prepass_started = wallclock.perf_counter()
                pre = [
                    client.submit(
                        prepass_task,
                        scenario,
                        str(run_dir),
                        a,
                        b,
                        retries=WINDOW_RETRIES,
                        pure=False,
                    )
                    for a, b in spans
                ]
                chain = central_chain(client.gather(pre), driver.n_epochs, G)
                del pre
                centrals_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = centrals_path.with_name(f".{CENTRALS}.tmp")
                with open(tmp, "wb") as handle:
                    np.save(handle, chain)
                os.replace(tmp, centrals_path)
                driver.rundir.info_extra["prepass_wall_s"] = round(
                    wallclock.perf_counter() - prepass_started, 3
                )
            chain_future = client.scatter(chain, broadcast=True)
            futures = {
                client.submit(
                    run_window,
                    scenario,
                    str(run_dir),
                    a,
                    b,
                    chain=chain_future,
                    wall_origin=wall_origin,
                    shard=shard,
                    n_shards=n_shards,
                    retries=WINDOW_RETRIES,
                    pure=False,
                    key=f"twin-window-{a:08d}-s{shard:03d}-{os.getpid()}-{wallclock.time_ns()}",
                ): ((a, b), shard)
                for (a, b), shard in todo
            }
            _follow(futures, tasks, run_dir, driver, scenario, quiet, console, wait)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    states = [_window_state(run_dir, span, shard) for span, shard in tasks]
    missing = [
        task
        for task, state in zip(tasks, states)
        if state is None or state["next_epoch"] != task[0][1]
    ]
    if missing:
        raise RuntimeError(f"windows (span, shard) {missing} did not finish")
    driver.summary_counts = sum_counts([s["state"]["summary"] for s in states])
    driver.timer.seconds = {}
    for state in states:
        for stage, seconds in state.get("stage_s", {}).items():
            driver.timer.seconds[stage] = driver.timer.seconds.get(stage, 0.0) + seconds
    driver.rundir.memory = _merged_memory(states, tasks)
    driver.rundir.memory.append(
        {
            "epoch": driver.n_epochs,
            "rss_mb": round(current_rss_mb(), 3),
            "wall_s": round(wall_origin[1] + wallclock.time() - wall_origin[0], 3),
            "pid": os.getpid(),
            "window": "driver",
        }
    )
    driver.rundir.info_extra["summary"] = driver.summary_counts
    driver.rundir.write_info(
        "complete",
        wall_s=wallclock.perf_counter() - session_started,
        stage_s=driver.timer.seconds,
    )
    return run_dir, driver, wallclock.perf_counter() - session_started


def _n_shards(scenario, run_dir, previous_info, resume, shards, workers, scheduler_address) -> int:
    """The run's entity shards per window: a resumed run's own (refusing another `shards`),
    else `shards` or :func:`auto_shards` (of the scheduler's workers with an address),
    capped by :func:`entity_shards`."""
    if resume is not None:
        own = int(previous_info.get("n_shards", 1))
        if shards is not None and int(shards) != own:
            raise InputError(
                [
                    Problem(
                        str(run_dir),
                        f"this run was started with {own} entity shard(s) per window: resume it "
                        f"with --shards {own} or without --shards, not --shards {shards}",
                    )
                ]
            )
        return own
    if shards is None:
        n_workers = int(workers)
        if scheduler_address:
            from distributed import Client

            with Client(scheduler_address) as client:
                n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        shards = auto_shards(scenario, n_workers)
    return len(entity_shards(scenario, int(shards)))


def _merged_memory(states, tasks) -> list[dict]:
    """Every (window, shard)'s memory samples, tagged with the window's first epoch (and the
    shard, when sharded), in wall-time order."""
    samples = []
    for state, (span, shard) in zip(states, tasks):
        for sample in (state or {}).get("memory", []):
            samples.append({**sample, "window": span[0], **({"shard": shard} if shard else {})})
    return sorted(samples, key=lambda s: (s["wall_s"], s["epoch"]))


def _follow(
    futures: dict, tasks, run_dir: Path, driver: Twin, scenario, quiet: bool, console: Console, wait
) -> None:
    """Wait for the (window, shard) futures with a progress bar over epochs x shards (read
    from the checkpoints); each finished task's memory samples go into run.json at once."""
    from contextlib import nullcontext

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = (
        nullcontext()
        if quiet
        else Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("windows {task.fields[win]}"),
            TextColumn("wall"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
        )
    )
    pending = set(futures)
    finished: dict = {}  # (first epoch, shard) -> final state of a finished task (read once)
    n_shards = 1 + max(shard for _, shard in tasks)

    def states():
        out = []
        for span, shard in tasks:
            state = finished.get((span[0], shard))
            if state is None:
                state = _window_state(run_dir, span, shard)
                if state is not None and state["next_epoch"] == span[1]:
                    finished[(span[0], shard)] = state
            out.append(state)
        return out

    with progress:
        task = (
            None
            if quiet
            else progress.add_task(
                f"{scenario.run.name} (windowed"
                + (f", {n_shards} entity shards)" if n_shards > 1 else ")"),
                total=driver.n_epochs * n_shards,
                win=f"0/{len(tasks)}",
            )
        )
        while pending:
            try:
                done, pending = wait(pending, timeout=0.5, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                future.result()  # raises the window's error after its retries
                futures.pop(future, None)  # let dask forget the finished task
            now = states() if (done or task is not None) else None
            if done:
                driver.rundir.memory = _merged_memory(now, tasks)
                driver.rundir.write_info("running", wall_s=0.0, stage_s=driver.timer.seconds)
            if task is not None:
                epochs = sum(
                    (s["next_epoch"] - span[0]) if s else 0 for s, (span, _) in zip(now, tasks)
                )
                progress.update(task, completed=epochs, win=f"{len(finished)}/{len(tasks)}")
