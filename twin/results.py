"""Run directories: the Recorder that writes tidy tables as parquet parts with
atomic checkpoints, and `load()` that reads them back as pandas DataFrames.

Layout of a run directory::

    run_dir/
      scenario.resolved.json   the scenario with every default filled in
      run.json                 versions, seed, satellites, epochs, status, wall-clock figures
      checkpoint.json          next epoch to run and the state carried between epochs
      tables/<table>/part-<first_epoch:08d>.parquet
      windows/<first_epoch:08d>.json   (windowed runs, `twin run --workers N`) one checkpoint per
                               window: next epoch, carried state, stage times, memory samples
      windows/centrals.npy     (windowed runs) the pre-pass's central satellite per epoch x entity

Each part holds the rows of the epochs ``[first_epoch, first_epoch + checkpoint_every)``.
A part is written to a temporary name and renamed into place, and the checkpoint
is renamed into place after its parts, so a killed run leaves either a complete
part or none. On resume, parts at or after the checkpoint's ``next_epoch`` (written
after the last checkpoint) are deleted and those epochs are run again; since
every epoch draws its randomness from ``SeedSequence([seed, epoch])``, the
resumed tables equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import re
import resource
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PART_RE = re.compile(r"^part-(\d{8})\.parquet$")
CHECKPOINT = "checkpoint.json"
RUN_INFO = "run.json"
RESOLVED_SCENARIO = "scenario.resolved.json"
WINDOWS = "windows"


def window_checkpoint_path(run_dir: Path, first_epoch: int) -> Path:
    """The checkpoint of the window starting at `first_epoch` in a windowed run."""
    return Path(run_dir) / WINDOWS / f"{int(first_epoch):08d}.json"


def current_rss_mb() -> float:
    """This process's resident set size now, MiB (``/proc/self/statm``; where that is
    missing, the peak RSS from ``resource.getrusage``, which never decreases)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


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
    columns are written as plain strings (cast inside Arrow: no Python string per row)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, column in enumerate(table.schema):
        if pa.types.is_dictionary(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.string()))
    pq.write_table(table, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
                / f"part-{self.chunk_first_epoch:08d}.parquet",
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


TMP_PART_RE = re.compile(r"^\.part-(\d{8})\.parquet\.tmp$")


def drop_parts_from(run_dir: Path, first_epoch: int, stop: int | None = None) -> list[Path]:
    """Delete parts whose first epoch is >= `first_epoch` (written after the last
    checkpoint by a run that was then killed) and stray temporary files.

    With `stop` (a window of a windowed run), only parts and temporary parts whose first
    epoch is in ``[first_epoch, stop)`` go: other windows may be writing at the same time.
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
            gone = bool(match) and first_epoch <= int(match.group(1)) < stop
        if gone:
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def _read_table(table_dir: Path) -> pd.DataFrame:
    parts = sorted(p for p in table_dir.iterdir() if PART_RE.match(p.name))
    if not parts:
        return pd.DataFrame()
    frames = [pd.read_parquet(p) for p in parts]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load(run_dir: str | Path, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The tables of a run directory as DataFrames, keyed by table name.

    Each table is the concatenation of its parts in epoch order, indexed by
    its ``time`` column (a UTC DatetimeIndex, ready for ``resample``,
    ``rolling`` and ``groupby``). A sweep directory (one holding ``sweep.json``)
    is read by ``twin.sweep.load_sweep`` instead.
    """
    if (
        Path(run_dir) / "sweep.json"
    ).exists():  # a sweep directory: one DataFrame per table over all runs
        from twin.sweep import load_sweep

        return load_sweep(run_dir, tables)
    root = Path(run_dir) / "tables"
    if not root.exists():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no tables/ folder)")
    info_path = Path(run_dir) / RUN_INFO
    declared = read_json(info_path).get("tables", []) if info_path.exists() else []
    names = tables or sorted(set(declared) | {p.name for p in root.iterdir() if p.is_dir()})
    result = {}
    for name in names:
        frame = _read_table(root / name) if (root / name).exists() else pd.DataFrame()
        if "time" in frame.columns:
            frame = frame.set_index(pd.DatetimeIndex(frame.pop("time"), name="time"))
        result[name] = frame
    return result


def run_info(run_dir: str | Path) -> dict:
    """The run's metadata (run.json)."""
    return read_json(Path(run_dir) / RUN_INFO)
