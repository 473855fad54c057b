"""Writing run directories: layout, atomic writes, the Recorder, checkpoints and run.json.

Layout of a run directory::

    run_dir/
      scenario.resolved.json   the scenario with every default filled in
      run.json                 versions, seed, satellites, epochs, status, wall-clock figures
      checkpoint.json          next epoch to run and the state carried between epochs
      tables/<table>/part-<first_epoch:08d>.parquet
      tables/<table>/part-<first_epoch:08d>-s<shard:03d>.parquet   (entity shards k >= 1 of a
                               windowed run: their ISAC/PNT rows; shard 0 writes the plain name)
      windows/<first_epoch:08d>.json   (windowed runs, `twin run --workers N`) one checkpoint per
                               window: next epoch, carried state, stage times, memory samples
      windows/<first_epoch:08d>-s<shard:03d>.json   the same for entity shard k >= 1
      windows/centrals.npy     (windowed runs) the pre-pass's central satellite per epoch x entity

Each part holds the rows of the epochs from its first epoch to the next checkpoint (``checkpoint_every``
epochs, fewer where Ctrl-C checkpointed early: ``twin.terminal``).
A part is written to a temporary name and renamed into place, and the checkpoint
is renamed into place after its parts, so a killed run leaves either a complete
part or none. On resume, parts at or after the checkpoint's ``next_epoch`` (written
after the last checkpoint) are deleted and those epochs are run again; since no draw
depends on an earlier epoch (``twin.epoch`` lists every draw), the resumed tables equal
an uninterrupted run's.

:class:`RunDirectory` is one run's directory as the clock (``twin.clock.Twin``) uses it:
fresh, resumed or one window of a windowed run; it writes the checkpoints (through its
:class:`Recorder`) and ``run.json``. Reading a run back is ``twin.results``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time as wallclock
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import simpy

from twin import __version__
from twin.units import column_unit

#: A part's file name: group 1 its first epoch, group 2 its entity shard (absent: shard 0).
PART_RE = re.compile(r"^part-(\d{8})(?:-s(\d{3}))?\.parquet$")
CHECKPOINT = "checkpoint.json"
RUN_INFO = "run.json"
RESOLVED_SCENARIO = "scenario.resolved.json"
WINDOWS = "windows"


def shard_suffix(shard: int) -> str:
    """The file-name suffix of entity shard `shard` of a windowed run (``twin.windows``):
    "" for shard 0 (so an unsharded run's names are unchanged), ``-s<shard:03d>`` otherwise."""
    if not 0 <= int(shard) <= 999:
        raise ValueError(f"shard must be in 0..999, got {shard}")
    return f"-s{int(shard):03d}" if shard else ""


def part_key(name: str) -> tuple[int, int] | None:
    """(first epoch, shard) of a part's file name, None when it is not a part."""
    match = PART_RE.match(name)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def window_checkpoint_path(run_dir: Path, first_epoch: int, shard: int = 0) -> Path:
    """The checkpoint of the window starting at `first_epoch` (entity shard `shard`) in a
    windowed run."""
    return Path(run_dir) / WINDOWS / f"{int(first_epoch):08d}{shard_suffix(shard)}.json"


def current_rss_mb() -> float:
    """This process's resident set size now, MiB (psutil: /proc on Linux, the task info on
    macOS, the working set on Windows)."""
    return psutil.Process().memory_info().rss / 2**20


def write_json_atomic(path: Path, data) -> None:
    """Write JSON to `path` via a temporary file and an atomic rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as parquet via a temporary file and an atomic rename. Categorical
    columns are written as plain strings (cast inside Arrow: no Python string per row); each
    column's unit goes into its Arrow field metadata (`with_units`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.string()))
    table = with_units(table)
    pq.write_table(table, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def with_units(table: pa.Table) -> pa.Table:
    """`table` with each column's unit (``twin.units.column_unit``) in its Arrow field
    metadata under ``unit``; values and types unchanged."""
    fields = [
        field.with_metadata({**(field.metadata or {}), b"unit": unit.encode()})
        if (unit := column_unit(field.name))
        else field
        for field in table.schema
    ]
    return pa.Table.from_arrays(
        table.columns, schema=pa.schema(fields, metadata=table.schema.metadata)
    )


def read_json(path: Path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@dataclass
class Recorder:
    """Buffers rows per table and flushes them as one parquet part per chunk.

    `add(table, rows)` takes a list of dicts (one per row). `flush(next_epoch,
    state)` writes every buffered table as the part starting at the chunk's
    first epoch, then the checkpoint. Tables listed in `tables` are written;
    rows for other tables are dropped at `add` time.
    """

    run_dir: Path
    tables: tuple[str, ...]
    chunk_first_epoch: int = 0
    checkpoint_path: Path | None = None  # default run_dir / checkpoint.json
    part_suffix: str = ""  # an entity shard's (``shard_suffix``): part-<first>-s<k>.parquet
    _rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, table: str, rows: list[dict] | pd.DataFrame) -> None:
        """Buffer rows of `table`: a list of dicts, or a DataFrame (columnar, for big tables;
        a table takes one kind or the other)."""
        if table not in self.tables or not len(rows):
            return
        buffered = self._rows.setdefault(table, [])
        if isinstance(rows, pd.DataFrame):
            buffered.append(rows)
        else:
            buffered.extend(rows)

    def flush(self, next_epoch: int, state: dict, extra: dict | None = None) -> None:
        """Write the buffered chunk and then the checkpoint (in that order); `extra` adds
        top-level keys to the checkpoint JSON."""
        for table, rows in self._rows.items():
            if isinstance(rows[0], pd.DataFrame):
                frame = pd.concat(rows, ignore_index=True)
            else:
                frame = pd.DataFrame.from_records(rows)
            write_parquet_atomic(
                frame,
                Path(self.run_dir)
                / "tables"
                / table
                / f"part-{self.chunk_first_epoch:08d}{self.part_suffix}.parquet",
            )
        self._rows = {}
        path = (
            self.checkpoint_path
            if self.checkpoint_path is not None
            else Path(self.run_dir) / CHECKPOINT
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {**(extra or {}), "next_epoch": int(next_epoch), "state": state})
        self.chunk_first_epoch = int(next_epoch)


def read_checkpoint(run_dir: Path) -> dict | None:
    path = Path(run_dir) / CHECKPOINT
    return read_json(path) if path.exists() else None


TMP_PART_RE = re.compile(r"^\.part-(\d{8})(?:-s(\d{3}))?\.parquet\.tmp$")


def drop_parts_from(
    run_dir: Path, first_epoch: int, stop: int | None = None, shard: int = 0
) -> list[Path]:
    """Delete parts whose first epoch is >= `first_epoch` (written after the last
    checkpoint by a run that was then killed) and stray temporary files.

    With `stop` (a window of a windowed run), only parts and temporary parts of entity shard
    `shard` whose first epoch is in ``[first_epoch, stop)`` go: other windows and shards may
    be writing at the same time.
    """
    removed = []
    tables = Path(run_dir) / "tables"
    if not tables.exists():
        return removed
    for part in sorted(tables.glob("*/*")):
        match = PART_RE.match(part.name)
        if stop is None:
            gone = (match and int(match.group(1)) >= first_epoch) or part.name.endswith(".tmp")
        else:
            match = match or TMP_PART_RE.match(part.name)
            gone = (
                bool(match)
                and first_epoch <= int(match.group(1)) < stop
                and int(match.group(2) or 0) == int(shard)
            )
        if gone:
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def free_run_dir(path: Path) -> Path:
    """`path` if it is absent or empty, else the first free `path-2`, `path-3`, ...

    A new run never writes into a directory that already holds results.
    """
    path = Path(path)
    if not path.exists() or not any(path.iterdir()):
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.name}-{n}")
        if not candidate.exists() or not any(candidate.iterdir()):
            return candidate
        n += 1


def run_status(run_dir: Path) -> str:
    """``complete``, ``running`` (started, not finished; or killed), ``interrupted`` (stopped
    by Ctrl-C, resumable) or ``absent``."""
    info = Path(run_dir) / RUN_INFO
    if not info.exists():
        return "absent"
    try:
        return str(read_json(info).get("status", "running"))
    except (OSError, ValueError):
        return "running"


def mark_interrupted(run_dir: Path) -> bool:
    """Set run.json's status to ``interrupted`` unless the run is complete; False when there is
    no run.json (nothing was written yet)."""
    info_path = Path(run_dir) / RUN_INFO
    if not info_path.exists():
        return False
    info = read_json(info_path)
    if info.get("status") != "complete":
        info["status"] = "interrupted"
        write_json_atomic(info_path, info)
    return True


class RunDirectory:
    """One run's directory as the clock writes it: fresh, resumed, or one window
    ``span = (first, stop)`` of a windowed run (checkpoint in ``windows/<first>.json``, no
    run.json), or one entity shard `shard` >= 1 of such a window (parts and checkpoint with
    ``shard_suffix(shard)``).

    facts: the run's constant run.json keys (scenario, name, seed, start, step_s, n_epochs,
    n_satellites, n_ground_entities); tables: the tables the Recorder writes. Carries the
    memory samples, the wall-clock origin and extra run.json keys (``info_extra``: a windowed
    run's "mode", "workers", "windows", ...).
    """

    def __init__(
        self,
        path: Path,
        tables: tuple[str, ...],
        facts: dict,
        span: tuple[int, int] | None = None,
        shard: int = 0,
    ):
        if shard and span is None:
            raise ValueError("an entity shard is one window of a windowed run: give its span")
        self.path = Path(path)
        self.facts = facts
        self.span = span
        self.shard = int(shard)
        self.memory: list[dict] = []  # {epoch, rss_mb, wall_s, pid} at every checkpoint
        self.info_extra: dict = {}  # more run.json keys (a windowed run's "mode", "workers", "windows")
        self.wall_origin = (
            wallclock.time(),
            0.0,
        )  # (unix time of this session's start, wall s of earlier sessions)
        self.recorder = Recorder(
            self.path,
            tables,
            checkpoint_path=None
            if span is None
            else window_checkpoint_path(self.path, span[0], self.shard),
            part_suffix=shard_suffix(self.shard),
        )

    def wall_s(self) -> float:
        """Wall seconds of this run so far (earlier sessions included)."""
        return self.wall_origin[1] + wallclock.time() - self.wall_origin[0]

    # ----------------------------------------------------------------- opening
    def start_fresh(self, resolved_scenario: dict) -> None:
        """A new run: the directory, the resolved scenario and run.json ("running")."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path / RESOLVED_SCENARIO, resolved_scenario)
        self.write_info("running", wall_s=0.0, stage_s={})

    def resume(self) -> tuple[int, dict | None]:
        """(first epoch to run, carried state of the checkpoint or None) of an interrupted
        run; n_epochs when run.json says "complete". Parts written after the checkpoint go."""
        checkpoint = read_checkpoint(self.path)
        info = read_json(self.path / RUN_INFO)
        self.memory = [
            m
            for m in info.get("memory", [])
            if checkpoint is None or m["epoch"] <= checkpoint["next_epoch"]
        ]
        self.wall_origin = (self.wall_origin[0], float(info.get("wall_s_total", 0.0)))
        state = None if checkpoint is None else checkpoint["state"]
        if info.get("status") == "complete":
            return int(self.facts["n_epochs"]), state
        first = 0 if checkpoint is None else int(checkpoint["next_epoch"])
        self.start_at(first)
        return first, state

    def open_window(self) -> dict | None:
        """The window's checkpoint (next epoch, state, stage times, memory) or None."""
        path = window_checkpoint_path(self.path, self.span[0], self.shard)
        checkpoint = read_json(path) if path.exists() else None
        if checkpoint is not None:
            self.memory = list(checkpoint.get("memory", []))
        return checkpoint

    def start_at(self, first_epoch: int) -> None:
        """Drop the parts from `first_epoch` on (within the window for a span) and start the
        Recorder's next part there."""
        drop_parts_from(
            self.path, first_epoch, None if self.span is None else self.span[1], self.shard
        )
        self.recorder.chunk_first_epoch = first_epoch

    # ----------------------------------------------------------------- writing
    def checkpoint(self, next_epoch: int, state: dict, *, stage_s: dict) -> None:
        """A memory sample, the buffered parts, then the checkpoint (and run.json while a
        serial run is not finished). state: the carried state; stage_s: seconds per stage."""
        self.memory.append(
            {
                "epoch": int(next_epoch),
                "rss_mb": round(current_rss_mb(), 3),
                "wall_s": round(self.wall_s(), 3),
                "pid": os.getpid(),
            }
        )
        extra = None
        if self.span is not None:
            extra = {
                "first": self.span[0],
                "stop": self.span[1],
                "memory": self.memory,
                "stage_s": stage_s,
                **({"shard": self.shard} if self.shard else {}),
            }
        self.recorder.flush(next_epoch, state, extra)
        if self.span is None and next_epoch < self.facts["n_epochs"]:
            self.write_info(
                "running", wall_s=0.0, stage_s=stage_s
            )  # the memory samples, for plots of a long run

    def write_info(self, status: str, *, wall_s: float, stage_s: dict) -> None:
        """Write run.json: `status`, the facts, versions, wall time (this session's `wall_s`
        added to earlier sessions'), memory samples and sessions (stage seconds `stage_s`)."""
        import sgp4
        import skyfield

        previous = {}
        if (self.path / RUN_INFO).exists():
            previous = read_json(self.path / RUN_INFO)
        wall_total = float(previous.get("wall_s_total", 0.0)) + wall_s
        info = {
            "status": status,
            **self.facts,
            "tables": list(self.recorder.tables),
            "versions": {
                "twin": __version__,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "pandas": pd.__version__,
                "sgp4": sgp4.__version__,
                "skyfield": skyfield.__version__,
                "simpy": simpy.__version__,
                "networkx": nx.__version__,
            },
            "wall_s_total": wall_total,
            "memory": self.memory,
            "sessions": previous.get("sessions", [])
            + (
                [
                    {
                        "wall_s": wall_s,
                        "stage_s": stage_s,
                        "ended": datetime.now(UTC).isoformat(),
                    }
                ]
                if wall_s
                else []
            ),
            **self.info_extra,
        }
        write_json_atomic(self.path / RUN_INFO, info)
