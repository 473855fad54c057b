"""Ephemeris export: the ITRS positions of a TLE set or a scenario's constellation on a time grid,
as a long table written to parquet."""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from twin.config.loader import load_scenario
from twin.constellation.build import build_constellation
from twin.constellation.checks import check_at_times
from twin.constellation.checks import drop_decayed as drop_decayed_satellites
from twin.constellation.omm import read_elements
from twin.constellation.orbits import propagate_itrs, to_datetime64
from twin.constellation.tle import Constellation
from twin.errors import InputError, Problem
from twin.geometry import ecef_to_geodetic

DEFAULT_DURATION_S = 7200.0  # an element-set file's export without --duration: 2 h
DEFAULT_STEP_S = 60.0


def ephemeris_times(start: datetime, duration_s: float, step_s: float) -> np.ndarray:
    """(T,) datetime64[ns] UTC: start + k step for k = 0..floor(duration/step) (end included when on the grid)."""
    if not (step_s > 0 and math.isfinite(step_s)):
        raise ValueError(f"step_s must be a positive number of seconds, got {step_s!r}")
    if not (duration_s >= 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s must be >= 0 seconds, got {duration_s!r}")
    count = int(math.floor(duration_s / step_s + 1e-9)) + 1
    offsets_ns = np.round(np.arange(count) * step_s * 1e9).astype(np.int64)
    return to_datetime64([start])[0] + offsets_ns.astype("timedelta64[ns]")


def ephemeris_frame(constellation: Constellation, times) -> pd.DataFrame:
    """Long table, one row per (time, satellite), time-major: time (UTC), sat,
    norad, x_m, y_m, z_m (ITRS), lat_deg, lon_deg, alt_m (WGS84)."""
    t64 = to_datetime64(times)
    pos, _, _ = propagate_itrs(constellation, t64)
    lat, lon, alt = ecef_to_geodetic(pos)
    n_t, n_s = pos.shape[:2]
    flat = pos.reshape(-1, 3)
    return pd.DataFrame(
        {
            "time": pd.DatetimeIndex(np.repeat(t64, n_s)).tz_localize("UTC"),
            "sat": np.tile(np.asarray(constellation.names, dtype=object), n_t),
            "norad": np.tile(np.asarray(constellation.norad, dtype=np.int64), n_t),
            "x_m": flat[:, 0],
            "y_m": flat[:, 1],
            "z_m": flat[:, 2],
            "lat_deg": np.degrees(lat).ravel(),
            "lon_deg": np.degrees(lon).ravel(),
            "alt_m": alt.ravel(),
        }
    )


def export_ephemeris(
    source,
    start: datetime | None,
    duration_s: float | None,
    step_s: float | None,
    out,
    *,
    drop_decayed: bool = False,
    overwrite: bool = False,
    dropped: list | None = None,
) -> pd.DataFrame:
    """Write the ITRS ephemeris of an element-set file or a scenario TOML to parquet.

    source: a TLE or OMM file (``twin.constellation.omm.read_elements``), or a scenario
    ``.toml`` (its constellation section is used: Walker shells at epoch `start`, or its
    element-set file; start, duration and step default to its run's). Times: start,
    start + step, ... up to start + duration (inclusive when on the grid); an element-set file
    needs `start` (duration 2 h and step 60 s by default).
    Refuses (InputError) when any satellite has an sgp4 error or is below 150 km at one of
    the times, unless `drop_decayed` (or the scenario's ``constellation.drop_decayed``): then
    those satellites are left out and their problems appended to `dropped` (a list, if given).
    Refuses to replace an existing `out` unless `overwrite`. The parquet file is written
    atomically (temporary file + os.replace). Returns the DataFrame written.
    """
    source, out = Path(source), Path(out)
    scenario = load_scenario(source) if source.suffix.lower() == ".toml" else None
    if scenario is not None:
        start = scenario.run.start if start is None else start
        duration_s = scenario.run.duration_s if duration_s is None else duration_s
        step_s = scenario.run.step_s if step_s is None else step_s
        drop_decayed = drop_decayed or bool(scenario.constellation.drop_decayed)
    if start is None:
        raise InputError(
            [Problem(str(source), "an element-set file needs --start (a scenario gives its own)")]
        )
    duration_s = DEFAULT_DURATION_S if duration_s is None else duration_s
    step_s = DEFAULT_STEP_S if step_s is None else step_s
    start_t64 = to_datetime64([start])[0]
    start_dt = pd.Timestamp(start_t64).tz_localize("UTC").to_pydatetime()
    times = ephemeris_times(start_dt, float(duration_s), float(step_s))
    if scenario is not None:
        constellation = build_constellation(scenario.constellation, start_dt)
    else:
        constellation = read_elements(source)
    if out.exists() and not overwrite:  # checked before the (long) propagation
        raise InputError([Problem(str(out), "exists; not overwritten (use --force to replace it)")])
    if drop_decayed:
        constellation, problems = drop_decayed_satellites(constellation, times)
        if dropped is not None:
            dropped.extend(problems)
    else:
        problems = check_at_times(constellation, times)
        if problems:
            raise InputError(problems)
    frame = ephemeris_frame(constellation, times)
    write_parquet_atomic(frame, out)
    return frame


def write_parquet_atomic(frame: pd.DataFrame, out: Path) -> None:
    """Write `frame` (no index) to parquet `out` through a temporary file in the same folder
    and ``os.replace``, so `out` is either the old file or the whole new one."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
