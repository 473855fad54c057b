"""Orbits: vectorised SGP4 propagation of a `Constellation` in TEME and ITRS, and the UTC time
conversion it needs.

Frames: SGP4 gives TEME positions/velocities. TEME -> ITRS uses skyfield's
own rotation matrices (`skyfield.sgp4lib.TEME.rotation_at` and
`skyfield.framelib.itrs.rotation_at`), composed once per epoch and applied to
all satellites at once, so the result matches
``EarthSatellite(...).at(t).frame_xyz_and_velocity(itrs)`` (no polar motion
unless the timescale has a polar-motion table; ours is built-in, no download).

The satellites come from `twin.constellation.tle` (TLE files) or `twin.constellation.walker`
(Walker-Delta shells); `twin.constellation.build` picks one from a scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from skyfield.api import load
from skyfield.constants import DAY_S
from skyfield.framelib import itrs
from skyfield.sgp4lib import TEME

from twin.constellation.tle import Constellation

__all__ = [
    "propagate_teme",
    "propagate_itrs",
    "teme_to_itrs_matrices",
    "to_datetime64",
]

_TS = load.timescale(builtin=True)
_NS_PER_DAY = 86_400_000_000_000
_UNIX_EPOCH_JD = 2440587.5


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
