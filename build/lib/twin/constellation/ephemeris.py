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
from twin.constellation.orbits import propagate_itrs, to_datetime64
from twin.constellation.tle import Constellation, read_tle
from twin.errors import InputError
from twin.geometry import ecef_to_geodetic


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
    source, start: datetime, duration_s: float, step_s: float, out
) -> pd.DataFrame:
    """Write the ITRS ephemeris of a TLE file or a scenario TOML to parquet.

    source: a TLE file, or a scenario ``.toml`` (its constellation section is
    used: Walker shells at epoch `start`, or its TLE file). Times: start,
    start + step, ... up to start + duration (inclusive when on the grid).
    Refuses (InputError) when any satellite has an sgp4 error or is below
    150 km at one of the times. The parquet file is written atomically
    (temporary file + os.replace). Returns the DataFrame written.
    """
    source, out = Path(source), Path(out)
    start_t64 = to_datetime64([start])[0]
    start_dt = pd.Timestamp(start_t64).tz_localize("UTC").to_pydatetime()
    times = ephemeris_times(start_dt, float(duration_s), float(step_s))
    if source.suffix.lower() == ".toml":
        constellation = build_constellation(load_scenario(source).constellation, start_dt)
    else:
        constellation = read_tle(source)
    problems = check_at_times(constellation, times)
    if problems:
        raise InputError(problems)
    frame = ephemeris_frame(constellation, times)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return frame
