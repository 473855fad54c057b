"""Data-driven ephemeris error: an older element set propagated to a newer one's epochs.

For every catalogue number in both sets, the OLD record is propagated with SGP4 to the NEW
record's own epoch and compared with the NEW record there (SGP4 at ``tsince = 0``, the fitted
state). The error ``OLD − NEW`` (what a receiver holding the old set believes minus the best
estimate of the truth) is resolved on the NEW state's radial / along-track / cross-track axes:

    R = r/|r|,   N = (r × v)/|r × v|,   T = N × R            (r, v: NEW, TEME, inertial)

so ``err_along_m`` is the in-plane component perpendicular to the radius (along the velocity
for a circular orbit). The axes use the TEME (quasi-inertial) velocity, the convention of
orbit-determination error budgets; the 3-D error is the same in any frame.

The `statistical` belief's default sigmas (``twin.signal.ephemeris.STATISTICAL_SIGMA_RTN_M_PER_DAY``) were
fitted with :func:`fit_sigma_per_day` on the shared Starlink snapshots (docs/error-budget.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.constellation.ephemeris import write_parquet_atomic
from twin.constellation.tle import Constellation, read_tle
from twin.signal.ephemeris import STATISTICAL_SIGMA_RTN_M_PER_DAY, rtn_basis

__all__ = [
    "COLUMNS",
    "STATISTICAL_SIGMA_RTN_M_PER_DAY",
    "age_summary",
    "ephemeris_error",
    "fit_sigma_per_day",
    "rtn_basis",
    "write_ephemeris_error",
]

COLUMNS = ("norad", "age_days", "err_3d_m", "err_radial_m", "err_along_m", "err_cross_m")


def ephemeris_error(old: Constellation, new: Constellation) -> pd.DataFrame:
    """One row per catalogue number in both sets (NEW's order): the COLUMNS.

    age_days = NEW epoch − OLD epoch (days, signed); err_*_m = OLD propagated to the NEW
    epoch minus NEW there, 3-D norm and signed RTN components (m). Rows where SGP4 fails
    for either record are dropped.
    """
    where_old = {int(n): i for i, n in enumerate(old.norad)}
    rows = []
    for j, number in enumerate(new.norad):
        i = where_old.get(int(number))
        if i is None:
            continue
        sat_new, sat_old = new.satrecs[j], old.satrecs[i]
        jd, fr = sat_new.jdsatepoch, sat_new.jdsatepochF
        e_new, r_new, v_new = sat_new.sgp4(jd, fr)
        e_old, r_old, _ = sat_old.sgp4(jd, fr)
        if e_new or e_old:
            continue
        age = (jd - sat_old.jdsatepoch) + (fr - sat_old.jdsatepochF)
        rows.append((int(number), age, r_old, r_new, v_new))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS}).astype({"norad": "int64"})
    norad, age, r_old, r_new, v_new = (np.asarray(a) for a in zip(*rows))
    diff = (r_old - r_new) * 1e3  # km -> m
    rtn = np.einsum("sij,sj->si", rtn_basis(r_new, v_new), diff)
    return pd.DataFrame(
        {
            "norad": norad.astype(np.int64),
            "age_days": age.astype(float),
            "err_3d_m": np.linalg.norm(diff, axis=1),
            "err_radial_m": rtn[:, 0],
            "err_along_m": rtn[:, 1],
            "err_cross_m": rtn[:, 2],
        }
    )


def age_summary(frame: pd.DataFrame, edges_days=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, np.inf)):
    """Median and 95th percentile of |error| per axis in age bins [edges) (days), plus 'all'."""
    frame = frame[frame["age_days"] >= 0]
    bins = pd.cut(frame["age_days"], list(edges_days), right=False)
    columns = ["err_3d_m", "err_radial_m", "err_along_m", "err_cross_m"]
    absolute = frame[columns].abs()
    parts = []
    for label, group in [*absolute.groupby(bins, observed=True), ("all", absolute)]:
        row = {"age_days": str(label), "n": len(group)}
        for column in columns:
            row[f"{column}_p50"] = float(np.median(group[column])) if len(group) else np.nan
            row[f"{column}_p95"] = float(np.percentile(group[column], 95)) if len(group) else np.nan
        parts.append(row)
    return pd.DataFrame(parts)


def fit_sigma_per_day(frames) -> tuple[float, float, float]:
    """Per-axis sigma growth (m/day) of ``sigma = rate · age`` from ephemeris_error frames:
    rate = 1.4826 · median(|err| / age) over rows with age >= 0.25 day (the MAD-based sigma
    of a zero-mean Gaussian, robust to the manoeuvring satellites' heavy tail)."""
    data = pd.concat(list(frames), ignore_index=True)
    data = data[data["age_days"] >= 0.25]
    rates = []
    for column in ("err_radial_m", "err_along_m", "err_cross_m"):
        rates.append(float(1.4826 * np.median(np.abs(data[column]) / data["age_days"])))
    return tuple(rates)


def write_ephemeris_error(old_path, new_path, out) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read both TLE files (``read_tle``, refusing bad records with file:line), write
    :func:`ephemeris_error` to parquet `out` atomically; returns (frame, age summary)."""
    frame = ephemeris_error(read_tle(old_path), read_tle(new_path))
    write_parquet_atomic(frame, out)
    return frame, age_summary(frame)
