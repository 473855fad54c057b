"""Orbits: Walker-Delta shells and TLE sets as one SGP4 `Constellation`,
vectorised propagation (TEME and ITRS), run-time checks and ephemeris export.

Frames: SGP4 gives TEME positions/velocities. TEME -> ITRS uses skyfield's
own rotation matrices (`skyfield.sgp4lib.TEME.rotation_at` and
`skyfield.framelib.itrs.rotation_at`), composed once per epoch and applied to
all satellites at once, so the result matches
``EarthSatellite(...).at(t).frame_xyz_and_velocity(itrs)`` (no polar motion
unless the timescale has a polar-motion table; ours is built-in, no download).

Reading/validating/fetching TLE files lives in `twin.constellation.tle`; its public names
are re-exported here.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sgp4.api import SGP4_ERRORS, WGS72, Satrec, SatrecArray
from skyfield.api import load
from skyfield.constants import DAY_S
from skyfield.framelib import itrs
from skyfield.sgp4lib import TEME

from twin.constellation.tle import (  # noqa: F401  (re-exported API)
    Constellation,
    epoch_age_report,
    fetch_tle,
    parse_tle_text,
    read_tle,
    satrec_epochs,
    stale,
    tle_checksum,
)
from twin.errors import InputError, Problem
from twin.geometry import ecef_to_geodetic

__all__ = [
    "Constellation",
    "walker_delta",
    "walker_shells",
    "read_tle",
    "check_at_times",
    "epoch_age_report",
    "stale",
    "propagate_teme",
    "propagate_itrs",
    "export_ephemeris",
    "fetch_tle",
    "build_constellation",
    "to_datetime64",
]

_TS = load.timescale(builtin=True)
_NS_PER_DAY = 86_400_000_000_000
_UNIX_EPOCH_JD = 2440587.5
_SGP4_EPOCH = datetime(1949, 12, 31, tzinfo=UTC)  # sgp4init epoch origin
_MU_WGS72_M3S2 = 398600.8e9
_R_EQ_WGS84_M = 6378137.0
WALKER_ECCENTRICITY = 1e-7  # sgp4init accepts it; SGP4 clamps e to >= 1e-6 while propagating
MIN_ALTITUDE_M = 150e3
MAX_ALTITUDE_M = 40_000e3
MAX_SATNUM = 339_999  # largest Alpha-5 catalog number sgp4 accepts


# ---------------------------------------------------------------- time


def to_datetime64(times) -> np.ndarray:
    """(T,) datetime64[ns] UTC (naive) from datetime64 values (taken as UTC),
    aware or naive (UTC) datetimes, ISO strings, or pandas timestamps."""
    if isinstance(times, np.ndarray) and np.issubdtype(times.dtype, np.datetime64):
        return np.atleast_1d(times).astype("datetime64[ns]").ravel()
    if isinstance(times, (pd.DatetimeIndex, pd.Series)):
        idx = pd.DatetimeIndex(times)
    else:
        values = times if isinstance(times, (list, tuple, np.ndarray)) else [times]
        idx = pd.DatetimeIndex(
            [pd.Timestamp(v) for v in np.ravel(np.asarray(values, dtype=object))]
        )
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return idx.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _sgp4_times(times):
    """(jd, fr, t64, skyfield Time) for T instants: sgp4's UTC Julian date split
    into whole days (jd, at midnight) and day fraction (fr), both (T,)."""
    t64 = to_datetime64(times)
    ns = t64.astype(np.int64)
    days = ns // _NS_PER_DAY
    ns_of_day = ns - days * _NS_PER_DAY
    jd = _UNIX_EPOCH_JD + days.astype(float)
    fr = ns_of_day / float(_NS_PER_DAY)
    t = _TS.utc(1970, 1, 1 + days, 0, 0, ns_of_day / 1e9)
    return jd, fr, t64, t


# ---------------------------------------------------------------- propagation


BLOCK_ELEMENTS = 1 << 18  # satellite-epochs per SGP4 call: keeps the (S,B,3) buffers in cache


def _epoch_blocks(n_sat: int, n_t: int):
    """Slices of the T epochs so that each SGP4 call handles ~BLOCK_ELEMENTS satellite-epochs."""
    step = max(1, BLOCK_ELEMENTS // max(n_sat, 1))
    return [slice(k, min(k + step, n_t)) for k in range(0, n_t, step)]


def _nan_where_error(err, *states):
    """SGP4 still returns numbers for some errors (e.g. 6, decayed): blank them to NaN."""
    if err.any():
        bad = err != 0
        for state in states:
            state[bad] = np.nan


def propagate_teme(constellation: Constellation, times):
    """SGP4 for all S satellites at all T times with `SatrecArray.sgp4`
    (all satellites per call, epochs in cache-sized blocks).

    times: (T,) datetime64 (UTC) or aware datetimes. Returns r_m (T,S,3) and
    v_mps (T,S,3) in TEME (metres, m/s) and err (T,S) uint8 sgp4 error codes
    (0 = fine; positions are NaN where err != 0).
    """
    jd, fr, _, _ = _sgp4_times(times)
    n_t, n_s = len(jd), len(constellation)
    r = np.empty((n_t, n_s, 3))
    v = np.empty((n_t, n_s, 3))
    err = np.empty((n_t, n_s), dtype=np.uint8)
    for b in _epoch_blocks(n_s, n_t):
        e, r_km, v_kms = constellation.satrec_array.sgp4(jd[b], fr[b])
        np.multiply(r_km.transpose(1, 0, 2), 1e3, out=r[b])
        np.multiply(v_kms.transpose(1, 0, 2), 1e3, out=v[b])
        err[b] = e.T
    _nan_where_error(err, r, v)
    return r, v, err


def teme_to_itrs_matrices(t):
    """(T,3,3) rotations TEME -> ITRS and (3,3) velocity term W [1/s], from skyfield.

    For each epoch M = R_itrs(t) R_TEME(t)^T (R_frame rotates GCRS into the
    frame). ITRS velocity = M v_teme + W r_itrs, W = skyfield's
    ``itrs._dRdt_times_RT_at`` (Earth rotation; per day) divided by DAY_S —
    exactly what ``frame_xyz_and_velocity(itrs)`` does.
    """
    r_teme = np.asarray(TEME.rotation_at(t), dtype=float)
    r_itrs = np.asarray(itrs.rotation_at(t), dtype=float)
    if r_teme.ndim == 2:
        r_teme, r_itrs = r_teme[..., None], r_itrs[..., None]
    m = np.einsum("ijt,kjt->tik", r_itrs, r_teme)
    w = np.asarray(itrs._dRdt_times_RT_at(t), dtype=float) / DAY_S
    return m, w


def propagate_itrs(constellation: Constellation, times):
    """Earth-fixed (ITRS) states of all S satellites at T times.

    times: (T,) datetime64 (UTC) or aware datetimes. Returns pos_m (T,S,3),
    vel_mps (T,S,3) (velocity relative to the rotating Earth) and err (T,S)
    uint8 sgp4 error codes (NaN states where err != 0). SGP4 runs on all
    satellites at once for cache-sized blocks of epochs; each epoch's
    TEME -> ITRS rotation is applied to all satellites by one batched matmul.
    """
    jd, fr, _, t = _sgp4_times(times)
    n_t, n_s = len(jd), len(constellation)
    m, w = teme_to_itrs_matrices(t)
    mt_km = (m * 1e3).transpose(0, 2, 1)  # (T,3,3) M^T with the km -> m scale folded in
    pos = np.empty((n_t, n_s, 3))
    vel = np.empty((n_t, n_s, 3))
    err = np.empty((n_t, n_s), dtype=np.uint8)
    for b in _epoch_blocks(n_s, n_t):
        e, r_km, v_kms = constellation.satrec_array.sgp4(jd[b], fr[b])
        # (B,S,3) @ (B,3,3): each epoch's rotation applied to all satellites
        np.matmul(r_km.transpose(1, 0, 2), mt_km[b], out=pos[b])
        np.matmul(v_kms.transpose(1, 0, 2), mt_km[b], out=vel[b])
        if w.ndim == 2:
            vel[b] += pos[b] @ w.T
        else:  # per-epoch (3,3,T)
            vel[b] += np.einsum("ijt,tsj->tsi", w[:, :, b], pos[b])
        err[b] = e.T
    _nan_where_error(err, pos, vel)
    return pos, vel, err


# ---------------------------------------------------------------- Walker Delta


def _check_walker(total, planes, phasing, altitude_m, inclination_rad):
    for label, value in (("total", total), ("planes", planes), ("phasing", phasing)):
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"walker {label} must be an integer, got {value!r}")
    if total < 1:
        raise ValueError(f"walker total must be >= 1 satellite, got {total}")
    if planes < 1 or planes > total:
        raise ValueError(f"walker planes must be in 1..total ({total}), got {planes}")
    if total % planes != 0:
        raise ValueError(f"walker total ({total}) must be a multiple of planes ({planes})")
    if not 0 <= phasing <= planes - 1:
        raise ValueError(
            f"walker phasing F must be in 0..planes-1 (0..{planes - 1}), got {phasing}"
        )
    if not (MIN_ALTITUDE_M <= altitude_m <= MAX_ALTITUDE_M):
        raise ValueError(
            f"walker altitude_m must be in {MIN_ALTITUDE_M:.0f}..{MAX_ALTITUDE_M:.0f} m "
            f"(150 km..40,000 km), got {altitude_m!r}"
        )
    if not (0.0 <= inclination_rad <= math.pi):
        raise ValueError(f"walker inclination_rad must be in 0..pi, got {inclination_rad!r}")


def _sgp4_epoch_days(epoch: datetime) -> float:
    if epoch.tzinfo is None:
        epoch = epoch.replace(tzinfo=UTC)
    return (epoch - _SGP4_EPOCH).total_seconds() / 86400.0


def _circular_satrec(
    satnum, epoch_days, no_kozai_rad_min, inclination_rad, raan_rad, mean_anomaly_rad
):
    sat = Satrec()
    sat.sgp4init(
        WGS72, "i", int(satnum), epoch_days, 0.0, 0.0, 0.0, WALKER_ECCENTRICITY,
        0.0, float(inclination_rad), float(mean_anomaly_rad), float(no_kozai_rad_min), float(raan_rad),
    )  # fmt: skip
    if sat.error:
        raise ValueError(
            f"sgp4init refused satellite {satnum}: {SGP4_ERRORS.get(sat.error, sat.error)}"
        )
    return sat


ALTITUDE_REFERENCES = ("geodetic", "equatorial")


def mean_altitude_m(sat: Satrec, reference: str = "geodetic", samples: int = 720) -> float:
    """Mean altitude (m) of one satellite over one orbit after its epoch,
    sampled uniformly in time over 2 pi / no_kozai.

    reference "geodetic": WGS84 geodetic altitude (a rotation about z does not
    change it, so TEME positions are used directly); "equatorial": geocentric
    radius minus the WGS84 equatorial radius 6378137 m.
    """
    period_min = 2.0 * math.pi / sat.no_kozai
    t_min = np.arange(samples) * period_min / samples
    jd = np.full(samples, sat.jdsatepoch)
    err, r_km, _ = sat.sgp4_array(jd, sat.jdsatepochF + t_min / 1440.0)
    if np.any(err):
        raise ValueError(f"sgp4 error {int(err.max())} while calibrating a Walker orbit")
    if reference == "geodetic":
        return float(np.mean(ecef_to_geodetic(r_km * 1e3)[2]))
    if reference == "equatorial":
        return float(np.mean(np.linalg.norm(r_km * 1e3, axis=-1)) - _R_EQ_WGS84_M)
    raise ValueError(f"altitude reference must be one of {ALTITUDE_REFERENCES}, got {reference!r}")


def walker_mean_motion(
    altitude_m: float,
    inclination_rad: float,
    epoch: datetime,
    *,
    reference: str = "geodetic",
    tol_m: float = 0.1,
):
    """SGP4 (Kozai) mean motion [rad/min] of a circular orbit whose mean
    altitude over one orbit (see `mean_altitude_m` for `reference`) equals
    `altitude_m`.

    Starts from Kepler's law (WGS72 mu) with a = R_eq(WGS84) + altitude, then
    corrects the semi-major axis by the measured altitude residual
    (d altitude / d a ~ 1) until it is below tol_m (2-4 iterations).
    Returns (no_kozai_rad_min, residual_m) of the calibration satellite.
    """
    if reference not in ALTITUDE_REFERENCES:
        raise ValueError(
            f"altitude reference must be one of {ALTITUDE_REFERENCES}, got {reference!r}"
        )
    epoch_days = _sgp4_epoch_days(epoch)
    a_m = _R_EQ_WGS84_M + altitude_m
    residual = math.inf
    for _ in range(12):
        n = math.sqrt(_MU_WGS72_M3S2 / a_m**3) * 60.0
        sat = _circular_satrec(1, epoch_days, n, inclination_rad, 0.0, 0.0)
        residual = mean_altitude_m(sat, reference) - altitude_m
        if abs(residual) < tol_m:
            break
        a_m -= residual
    return n, residual


def walker_delta(
    total: int,
    planes: int,
    phasing: int,
    altitude_m: float,
    inclination_rad: float,
    *,
    epoch: datetime,
    raan_offset_rad: float = 0.0,
    shell_id: int = 0,
    name_prefix: str = "WALKER",
    first_catalog: int = 90000,
    altitude_reference: str = "geodetic",
) -> Constellation:
    """Walker-Delta shell i:T/P/F as SGP4 mean elements (WGS72, 'i' mode, bstar 0).

    Plane p (0..P-1) has RAAN = raan_offset + 2 pi p / P; slot s (0..T/P-1)
    has argument of latitude (argp = 0, so mean anomaly)
    M = 2 pi s / (T/P) + 2 pi F p / T. Orbits are circular (e = 1e-7) with the
    mean motion from `walker_mean_motion`: the mean WGS84 geodetic altitude over
    one orbit equals altitude_m (altitude_reference="geodetic", default), or
    the mean of |r| - 6378137 m does ("equatorial"). Names are f"{name_prefix}-{p:02d}-{s:02d}", catalog
    numbers first_catalog .. first_catalog + T - 1.
    """
    _check_walker(total, planes, phasing, altitude_m, inclination_rad)
    total, planes, phasing = int(total), int(planes), int(phasing)
    if not 1 <= first_catalog <= MAX_SATNUM - total + 1:
        raise ValueError(
            f"first_catalog must leave room for {total} numbers below {MAX_SATNUM}, got {first_catalog}"
        )
    per_plane = total // planes
    plane = np.repeat(np.arange(planes), per_plane)
    slot = np.tile(np.arange(per_plane), planes)
    raan = np.mod(raan_offset_rad + 2.0 * np.pi * plane / planes, 2.0 * np.pi)
    mean_anomaly = np.mod(
        2.0 * np.pi * slot / per_plane + 2.0 * np.pi * phasing * plane / total, 2.0 * np.pi
    )
    n, _ = walker_mean_motion(altitude_m, inclination_rad, epoch, reference=altitude_reference)
    epoch_days = _sgp4_epoch_days(epoch)
    norad = first_catalog + np.arange(total, dtype=np.int64)
    satrecs = [
        _circular_satrec(norad[k], epoch_days, n, inclination_rad, raan[k], mean_anomaly[k])
        for k in range(total)
    ]
    return Constellation(
        names=[f"{name_prefix}-{p:02d}-{s:02d}" for p, s in zip(plane, slot)],
        norad=norad,
        satrecs=satrecs,
        satrec_array=SatrecArray(satrecs),
        source="walker",
        epochs=satrec_epochs(satrecs),
        tle_lines=None,
        shell=np.full(total, int(shell_id), dtype=np.int64),
        plane=plane.astype(np.int64),
        slot=slot.astype(np.int64),
    )


def _get(shell, key, default=None):
    if isinstance(shell, dict):
        return shell.get(key, default)
    return getattr(shell, key, default)


def concat_constellations(parts: list[Constellation]) -> Constellation:
    """One Constellation from several (e.g. Walker shells); per-satellite arrays concatenated."""
    if not parts:
        raise ValueError("need at least one constellation to concatenate")
    satrecs = [s for c in parts for s in c.satrecs]

    def cat(attr):
        vals = [getattr(c, attr) for c in parts]
        return None if any(v is None for v in vals) else np.concatenate(vals)

    sources = {c.source for c in parts}
    return Constellation(
        names=[n for c in parts for n in c.names],
        norad=np.concatenate([c.norad for c in parts]),
        satrecs=satrecs,
        satrec_array=SatrecArray(satrecs),
        source=sources.pop() if len(sources) == 1 else "+".join(sorted(sources)),
        epochs=np.concatenate([c.epochs for c in parts]),
        tle_lines=None
        if any(c.tle_lines is None for c in parts)
        else [x for c in parts for x in c.tle_lines],
        shell=cat("shell"),
        plane=cat("plane"),
        slot=cat("slot"),
    )


def walker_shells(shells, epoch: datetime, *, first_catalog: int = 90000) -> Constellation:
    """Several Walker shells (dicts or objects with total, planes, phasing,
    altitude_m, inclination_rad, optional raan_offset_rad, name and
    altitude_reference) as one
    Constellation; shell ids 0..len-1, consecutive distinct catalog numbers."""
    parts, next_catalog = [], first_catalog
    for i, shell in enumerate(shells):
        try:
            part = walker_delta(
                _get(shell, "total"),
                _get(shell, "planes"),
                _get(shell, "phasing"),
                _get(shell, "altitude_m"),
                _get(shell, "inclination_rad"),
                epoch=epoch,
                raan_offset_rad=_get(shell, "raan_offset_rad", 0.0) or 0.0,
                shell_id=i,
                name_prefix=_get(shell, "name", None) or f"SHELL{i}",
                first_catalog=next_catalog,
                altitude_reference=_get(shell, "altitude_reference", None) or "geodetic",
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"shells[{i}]: {exc}") from None
        parts.append(part)
        next_catalog += len(part)
    return concat_constellations(parts)


# ---------------------------------------------------------------- run-time checks


CHECK_BLOCK_ELEMENTS = 1 << 20  # satellite-epochs per block of `check_at_times` (~50 MB of states)


def check_at_times(
    constellation: Constellation,
    times,
    *,
    min_altitude_m: float = MIN_ALTITUDE_M,
    block_epochs: int | None = None,
) -> list[Problem]:
    """Problems at the run's epochs: sgp4 error codes 1-6 (6 = decayed) and
    orbits below `min_altitude_m` (WGS84 geodetic) at any epoch. One Problem
    per satellite (sorted by satellite index), named by its file:line (or
    walker name): its first sgp4 error if it has one at any epoch, else its
    first epoch below the altitude.

    times: (T,) datetime64 (UTC) or aware datetimes. The epochs are streamed
    in blocks of `block_epochs` (default: about CHECK_BLOCK_ELEMENTS
    satellite-epochs per block), so memory is O(S x block), not O(S x T);
    the result does not depend on the block size.
    """
    t64 = to_datetime64(times)
    n_t, n_s = len(t64), len(constellation)
    if block_epochs is None:
        block_epochs = max(1, CHECK_BLOCK_ELEMENTS // max(n_s, 1))
    if int(block_epochs) != block_epochs or block_epochs < 1:
        raise ValueError(f"block_epochs must be a positive integer, got {block_epochs!r}")
    block_epochs = int(block_epochs)
    err_problems: dict[int, Problem] = {}
    alt_problems: dict[int, Problem] = {}
    for b0 in range(0, n_t, block_epochs):
        tb = t64[b0 : b0 + block_epochs]
        r, _, err = propagate_teme(constellation, tb)
        for s in np.flatnonzero(err.any(axis=0)):
            if s in err_problems:
                continue
            k = int(np.argmax(err[:, s] != 0))
            code = int(err[k, s])
            what = "decayed: " if code == 6 else ""
            err_problems[s] = Problem(
                constellation.where(s),
                f"{constellation.names[s]}: sgp4 error {code} at {_iso(tb[k])}: {what}{SGP4_ERRORS.get(code, 'unknown error')}",
            )
        # Geodetic altitude >= |r| - R_eq, so only low-radius points need the exact test.
        radius = np.linalg.norm(r, axis=-1)
        cand = np.argwhere(
            (err == 0) & (radius - _R_EQ_WGS84_M < min_altitude_m)
        )  # time-major order
        if len(cand):
            alt = ecef_to_geodetic(r[cand[:, 0], cand[:, 1]])[2]
            low = alt < min_altitude_m
            for (k, s), h in zip(cand[low], alt[low]):
                if s not in alt_problems:
                    alt_problems[s] = Problem(
                        constellation.where(s),
                        f"{constellation.names[s]}: decayed: altitude {h / 1e3:.1f} km below "
                        f"{min_altitude_m / 1e3:.0f} km at {_iso(tb[k])}",
                    )
        del r, err
    problems = {**alt_problems, **err_problems}  # an sgp4 error wins over a low altitude
    return [problems[s] for s in sorted(problems)]


def _iso(t) -> str:
    return str(np.datetime_as_string(np.datetime64(t, "s"))) + "Z"


# ---------------------------------------------------------------- scenario glue and export


def build_constellation(constellation_cfg, start: datetime) -> Constellation:
    """Constellation from a scenario's `constellation` section (duck-typed):
    kind "walker" -> `walker_shells(cfg.shells, epoch=start)`; kind "tle" ->
    `read_tle(cfg.tle_file, max_satellites=cfg.max_satellites)` (0 or None = all)."""
    kind = _get(constellation_cfg, "kind")
    if kind == "walker":
        return walker_shells(_get(constellation_cfg, "shells") or [], epoch=start)
    if kind == "tle":
        path = _get(constellation_cfg, "tle_file")
        if path is None:
            raise ValueError("constellation.kind = 'tle' needs constellation.tle_file")
        return read_tle(
            path, max_satellites=_get(constellation_cfg, "max_satellites") or None
        )  # 0 = all
    raise ValueError(f"constellation.kind must be 'walker' or 'tle', got {kind!r}")


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
        from twin.config.loader import load_scenario  # lazy: orbits stands alone otherwise

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
