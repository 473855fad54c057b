"""Reading runs and sweeps back: a run directory's or a sweep directory's tables as pandas
DataFrames, and a run's metadata.

:func:`load` reads the parquet parts of a run directory (layout: ``twin.rundir``, which writes
them) as one DataFrame per table, indexed by UTC time; given a sweep directory (one holding
``sweep.json``, written by ``twin.sweep``) it reads every complete run of the sweep as one
DataFrame per table (:func:`load_sweep`, hive-partitioned parquet dataset, one column per swept
parameter and ``seed``). :func:`run_info` is the run's ``run.json``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from twin.rundir import PART_RE, RUN_INFO, part_key, read_json, run_status

__all__ = [
    "AREA_METRICS",
    "ENTITY_KEYS",
    "LONG_TABLES",
    "SWEEP_INFO",
    "area_summary",
    "column_units",
    "load",
    "load_sweep",
    "run_info",
    "tidy_tables",
]

#: The file that makes a directory a sweep directory (written by ``twin.sweep``).
SWEEP_INFO = "sweep.json"


def _read_table(table_dir: Path) -> pd.DataFrame:
    """A table's parts concatenated in (first epoch, shard) order. With entity-shard parts
    (``part-<first>-s<k>.parquet``, ``twin.windows``) the rows are then stably sorted by epoch:
    the shards of one epoch in shard order, which is the serial run's row order."""
    keyed = sorted((key, p) for p in table_dir.iterdir() if (key := part_key(p.name)) is not None)
    if not keyed:
        return pd.DataFrame()
    frames = [pd.read_parquet(p) for _, p in keyed]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    if any(shard for (_, shard), _ in keyed) and "epoch" in frame.columns:
        order = np.argsort(frame["epoch"].to_numpy(), kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
    return frame


def load(
    run_dir: str | Path, tables: list[str] | None = None, *, tidy: bool = False
) -> dict[str, pd.DataFrame]:
    """The tables of a run directory as DataFrames, keyed by table name.

    Each table is the concatenation of its parts in epoch order, indexed by
    its ``time`` column (a UTC DatetimeIndex, ready for ``resample``,
    ``rolling`` and ``groupby``). A sweep directory (one holding ``sweep.json``)
    is read by :func:`load_sweep` instead. ``tidy=True``: the tables as :func:`tidy` makes them
    (one ``entity`` key, categoricals for names, the list-valued cells as long tables).
    """
    if tidy:
        return tidy_tables(load(run_dir, tables))
    if (
        Path(run_dir) / SWEEP_INFO
    ).exists():  # a sweep directory: one DataFrame per table over all runs
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


def column_units(run_dir: str | Path, table: str) -> dict[str, str]:
    """Column -> unit of a run's table, read from its parquet parts' Arrow field metadata
    (``unit``, written by ``twin.rundir.write_parquet_atomic``); columns without a unit are
    left out."""
    units: dict[str, str] = {}
    for part in sorted((Path(run_dir) / "tables" / table).iterdir()):
        if PART_RE.match(part.name):
            for field in pq.read_schema(part):
                if field.metadata and b"unit" in field.metadata:
                    units[field.name] = field.metadata[b"unit"].decode()
    return units


# ---------------------------------------------------------------------------
# tidy tables

#: The ground-entity key of every per-entity table is ``entity``; tables that name it otherwise
#: keep that column and get ``entity`` as well (`tidy_tables`).
ENTITY_KEYS = {"isac": "target", "pnt": "cluster"}

#: Text columns holding names or labels: categoricals in `tidy_tables`.
NAME_COLUMNS = (
    "entity",
    "target",
    "cluster",
    "role",
    "kind",
    "reason",
    "status",
    "central",
    "best_sat",
    "from_sat",
    "to_sat",
    "reference",
    "design",
    "design_status",
    "beamformer",
    "bf_status",
    "replan_reason",
    "prior_source",
    "sat_a",
    "sat_b",
)

#: The long tables `tidy_tables` adds for list-valued cells: name -> (table, list column, key
#: columns kept, the position column, the value column). ``;``-joined satellite names become
#: one row per satellite (position 0 = the central or reference satellite); the per-UE rates
#: one row per UE.
LONG_TABLES = {
    "group_members": ("groups", "members", ("epoch", "entity"), "rank", "sat"),
    "isac_members": ("isac", "members", ("epoch", "entity"), "rank", "sat"),
    "pnt_sats": ("pnt", "sats", ("epoch", "entity", "ut"), "rank", "sat"),
    "isac_rates": ("isac", "rates_bps_hz", ("epoch", "entity"), "ue", "rate_bps_hz"),
}


def tidy_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The run's tables in one convention (new columns and tables; the stored names stay):

    - every per-entity table has its ground entity as ``entity`` (`ENTITY_KEYS`: ``isac`` copies
      ``target``, ``pnt`` copies ``cluster``; ``pnt`` rows are then keyed by entity and ``ut``);
    - names and labels (`NAME_COLUMNS`) are pandas categoricals;
    - each list-valued cell (``;``-joined satellite names, the per-UE rates) is also given as a
      long table (`LONG_TABLES`), indexed by time like the others.

    Units are not columns: ``twin.results.column_units`` reads them from the parquet metadata.
    """
    out = {}
    for name, frame in tables.items():
        frame = frame.copy()
        key = ENTITY_KEYS.get(name)
        if key is not None and key in frame.columns and "entity" not in frame.columns:
            frame.insert(frame.columns.get_loc(key), "entity", frame[key])
        for column in NAME_COLUMNS:
            if column in frame.columns and not isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype("category")
        out[name] = frame
    for long_name, (table, column, keys, position, value) in LONG_TABLES.items():
        frame = out.get(table)
        if frame is None or column not in frame.columns:
            continue
        out[long_name] = _long_table(frame, column, keys, position, value)
    return out


def _long_table(frame: pd.DataFrame, column: str, keys, position: str, value: str):
    """One row per item of the list-valued `column`: the `keys`, the item's `position` in its
    list and its `value`; indexed by the rows' time."""
    cells = frame[column].tolist()
    if all(isinstance(c, str) or c is None for c in cells):
        items = [[n for n in (c or "").split(";") if n] for c in cells]
    else:
        items = [[] if c is None else list(c) for c in cells]
    lengths = np.array([len(i) for i in items], dtype=np.int64)
    rows = np.repeat(np.arange(len(frame)), lengths)
    long = pd.DataFrame(
        {
            **{k: frame[k].to_numpy()[rows] for k in keys},
            position: np.concatenate([np.arange(n) for n in lengths]) if len(rows) else [],
            value: [v for i in items for v in i],
        },
        index=frame.index[rows] if isinstance(frame.index, pd.DatetimeIndex) else None,
    )
    for k in keys:
        if isinstance(frame[k].dtype, pd.CategoricalDtype):
            long[k] = long[k].astype(frame[k].dtype)
    long[position] = long[position].astype(np.int64)
    long[value] = long[value].astype("category" if value == "sat" else float)
    return long


def _column(values: list) -> pd.Series:
    if all(isinstance(v, (str, int, float, bool)) for v in values):
        return pd.Series(values)
    return pd.Series(
        [json.dumps(v) if isinstance(v, (list, dict)) else v for v in values], dtype=object
    )


def load_sweep(
    path: str | Path, tables: list[str] | None = None, *, include_incomplete: bool = False
) -> dict[str, pd.DataFrame]:
    """Every table of every complete run of a sweep, concatenated, keyed by table name.

    The run directories (``runs/<param>=<value>/.../seed=<s>/tables/<table>/part-*.parquet``)
    are read as one pyarrow dataset with hive partitioning; each DataFrame has
    the run's rows in epoch order, runs in sweep order, one column per swept
    parameter (the values as written in the sweep file; lists/tables as JSON
    text) and ``seed``, indexed by the UTC ``time`` like ``twin.results.load``.
    Runs that are not complete are left out (with a warning) unless
    ``include_incomplete``.
    """
    sweep_dir = Path(path)
    info = read_json(sweep_dir / SWEEP_INFO)
    parameters: list[str] = list(info["parameters"])
    dir_values: dict[str, dict[str, Any]] = info.get("dir_values", {})
    runs = info["runs"]
    left_out = [r["dir"] for r in runs if run_status(sweep_dir / r["dir"]) != "complete"]
    if left_out and not include_incomplete:
        warnings.warn(
            f"{sweep_dir}: {len(left_out)} run(s) not complete, left out of the tables: {', '.join(left_out[:5])}"
            f"{' ...' if len(left_out) > 5 else ''}",
            stacklevel=2,
        )
        runs = [r for r in runs if r["dir"] not in left_out]
    names = set(tables or [])
    if not tables:
        for run in runs:
            run_dir = sweep_dir / run["dir"]
            if (run_dir / RUN_INFO).exists():
                names.update(read_json(run_dir / RUN_INFO).get("tables", []))
            if (run_dir / "tables").exists():
                names.update(p.name for p in (run_dir / "tables").iterdir() if p.is_dir())
    keys = parameters + ["seed"]
    partitioning = ds.partitioning(pa.schema([(k, pa.string()) for k in keys]), flavor="hive")
    result = {}
    for name in sorted(names):
        files = []
        for run in runs:
            table_dir = sweep_dir / run["dir"] / "tables" / name
            if table_dir.exists():
                files += [str(p) for p in sorted(table_dir.iterdir()) if PART_RE.match(p.name)]
        if not files:
            result[name] = pd.DataFrame(columns=keys)
            continue
        schemas = [pq.read_schema(f) for f in files]
        data_schema = pa.unify_schemas(schemas, promote_options="permissive")
        clash = [k for k in keys if k in data_schema.names]
        if clash:
            raise ValueError(
                f"table {name!r} has column(s) {clash} named like swept parameters; cannot add them"
            )
        dataset = ds.dataset(
            files,
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=str(sweep_dir / "runs"),
            schema=pa.unify_schemas([data_schema, partitioning.schema]),
        )
        frame = dataset.to_table().to_pandas()
        for key in keys:
            texts = frame.pop(key).tolist()
            if key == "seed":
                values = [int(t) for t in texts]
            else:
                lookup = dir_values.get(key, {})
                values = [
                    lookup.get("" if t is None else t, t) for t in texts
                ]  # hive reads "p=" as null
            frame[key] = (
                _column(values).to_numpy()
                if key != "seed"
                else pd.Series(values, dtype="int64").to_numpy()
            )
        frame = frame[keys + [c for c in frame.columns if c not in keys]]
        if "time" in frame.columns:
            frame = frame.set_index(pd.DatetimeIndex(frame.pop("time"), name="time"))
        result[name] = frame
    return result


#: Per-location metrics of :func:`area_summary`: table -> (entity column, lat, lon, metrics).
AREA_METRICS = {
    "isac": ("target", "target_lat_deg", "target_lon_deg", ("rcrb_m", "error_m")),
    "pnt": ("cluster", "lat_deg", "lon_deg", ("crlb_m", "fix_error_m")),
}


def area_summary(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Per-location aggregates of a run's ``isac`` and ``pnt`` tables (an area run's maps).

    One row per ISAC target / PNT cluster (index: its name), columns: ``lat_deg``, ``lon_deg``
    (the mean over its rows: the target's track, a cluster's UTs), ``rows``, for each metric of
    :data:`AREA_METRICS` (RCRB and sensing error; √CRLB and fix error, metres) its ``_median``
    and ``_p95`` over the entity's rows (epochs, and UTs of a cluster; missing values left out),
    ``availability`` (share of rows with status "ok" and a finite estimate error: a valid group
    and an estimate) and ``handovers_per_hour`` (the entity's ``handovers`` rows over the
    table's time span, NaN for a single epoch). Tables that are absent, empty or without the
    entity and position columns are left out; a missing metric (or ``status``) column is skipped.
    """
    handovers = tables.get("handovers", pd.DataFrame())
    per_entity = (
        handovers["entity"].value_counts() if "entity" in handovers else pd.Series(dtype=int)
    )
    out = {}
    for table, (who, lat, lon, metrics) in AREA_METRICS.items():
        frame = tables.get(table, pd.DataFrame())
        if frame.empty or not {who, lat, lon} <= set(frame.columns):
            continue
        frame = frame.reset_index()
        grouped = frame.groupby(who, sort=False)
        result = pd.DataFrame(
            {"lat_deg": grouped[lat].mean(), "lon_deg": grouped[lon].mean(), "rows": grouped.size()}
        )
        for metric in (m for m in metrics if m in frame):
            result[f"{metric}_median"] = grouped[metric].median()
            result[f"{metric}_p95"] = grouped[metric].quantile(0.95)
        if "status" in frame and metrics[-1] in frame:
            estimate = frame[metrics[-1]].to_numpy(dtype=float)
            ok = (frame["status"] == "ok") & pd.Series(np.isfinite(estimate), frame.index)
            result["availability"] = ok.groupby(frame[who], sort=False).mean()
        span_h = (frame["time"].max() - frame["time"].min()).total_seconds() / 3600.0
        counts = per_entity.reindex(result.index, fill_value=0).astype(float)
        result["handovers_per_hour"] = counts / span_h if span_h > 0 else np.nan
        result.index.name = who
        out[table] = result
    return out
