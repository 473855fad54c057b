"""The belief: the satellite states and clocks the receivers use, beside the truth.

Built once per run from the scenario's ``[errors]`` section (``twin.config.schema.ErrorsConfig``)
and the truth `Constellation`; the clock asks it, at every epoch, for the believed positions,
velocities and clock offsets of all S satellites (``Epoch.belief_pos`` ...):

- ``exact``: the truth itself;
- ``tle_age``: a second `Constellation` of the same satellites from older element sets
  (:func:`older_constellation`), propagated on the truth's epoch blocks;
- ``statistical``: truth + eq. E1 of :mod:`twin.signal.ephemeris` (per-satellite RTN draws
  held for the run, σ fixed or the fitted growth × age).

Satellite clocks (eq. K1 of :mod:`twin.signal.clocks`) are drawn for all S satellites at the
start (seeded per satellite, so windows and resumed runs see the same offsets); the believed
offset is ``(1 − clock_residual)`` × the true one.
"""

from __future__ import annotations

import warnings

import numpy as np

from twin.constellation import orbits
from twin.constellation.tle import Constellation, read_tle
from twin.signal.clocks import clock_offsets
from twin.signal.ephemeris import STATISTICAL_SIGMA_RTN_M_PER_DAY, rtn_basis, rtn_draws

__all__ = ["Belief", "older_constellation"]


def older_constellation(truth: Constellation, paths, start, min_age_days: float):
    """(belief Constellation aligned with `truth`, known (S,) bool): for each truth satellite
    the newest record in the TLE files `paths` with the same catalogue number and an epoch at
    least `min_age_days` before `start` (datetime64[ns] UTC); satellites without one keep
    their truth record (known False)."""
    limit = np.datetime64(start, "ns") - np.timedelta64(int(round(min_age_days * 86400e9)), "ns")
    best: dict[int, tuple[np.datetime64, object]] = {}
    for path in paths:
        older = read_tle(path, strict=False)
        for number, epoch, satrec in zip(older.norad, older.epochs, older.satrecs):
            if epoch <= limit and (int(number) not in best or epoch > best[int(number)][0]):
                best[int(number)] = (epoch, satrec)
    known = np.array([int(n) in best for n in truth.norad], dtype=bool)
    satrecs = [best[int(n)][1] if ok else s for n, ok, s in zip(truth.norad, known, truth.satrecs)]
    return (
        Constellation(
            names=list(truth.names),
            norad=truth.norad,
            satrecs=satrecs,
            satrec_array=type(truth.satrec_array)(satrecs),
            source=";".join(str(p) for p in paths),
            epochs=np.array(
                [best[int(n)][0] if ok else e for n, ok, e in zip(truth.norad, known, truth.epochs)]
            ),
        ),
        known,
    )


class Belief:
    """What the receivers believe about the S satellites at each epoch (module docstring)."""

    def __init__(self, config, truth: Constellation, times, seed: int):
        """config: ``[errors]``; truth: the scenario's constellation; times: the run's epochs
        (pandas DatetimeIndex, UTC); seed: ``[run] seed``."""
        self.config = config
        self.kind = config.ephemeris
        self.times = times
        n_sat = len(truth)
        self.known = np.ones(n_sat, dtype=bool)
        self.constellation = None
        if self.kind == "tle_age":
            start = times[0].tz_convert("UTC").tz_localize(None).to_datetime64()
            self.constellation, self.known = older_constellation(
                truth, config.tle_files, start, config.min_age_days
            )
            if not self.known.all():
                warnings.warn(
                    f"[errors] tle_age: {int((~self.known).sum())} of {n_sat} satellites have no "
                    "older record; the belief uses their truth",
                    UserWarning,
                    stacklevel=2,
                )
        if self.kind == "statistical":
            self.z = rtn_draws(seed, range(n_sat))
        self.clock = None
        if config.clock != "none":
            self.clock = clock_offsets(
                seed,
                range(n_sat),
                len(times),
                float((times[1] - times[0]).total_seconds()) if len(times) > 1 else 1.0,
                offset_sigma_s=config.clock_offset_sigma_ns * 1e-9,
                drift_sigma=config.clock_drift_sigma,
                allan_1s=config.clock_allan_1s,
            )
        self._block = None

    def sigma_rtn_m(self, index: int) -> np.ndarray:
        """(3,) per-axis σ (m) of the statistical belief at epoch `index`."""
        cfg = self.config
        if cfg.sigma_rtn_m is not None:
            return np.asarray(cfg.sigma_rtn_m, dtype=float)
        elapsed_days = (self.times[index] - self.times[0]).total_seconds() / 86400.0
        return np.asarray(STATISTICAL_SIGMA_RTN_M_PER_DAY) * (cfg.age_days + elapsed_days)

    def propagate_block(self, first: int, stop: int) -> None:
        """Propagate the tle_age belief for epochs [first, stop) (the clock's block)."""
        if self.constellation is None:
            return
        pos, vel, _ = orbits.propagate_itrs(self.constellation, self.times[first:stop].to_numpy())
        self._block = (first, pos, vel)

    def states(self, index: int, pos, vel):
        """(belief_pos (S, 3) m, belief_vel (S, 3) m/s, sat_clock_s (S,) or None,
        belief_clock_s (S,) or None) at epoch `index` for truth states pos, vel (S, 3)."""
        if self.kind == "tle_age":
            first, bpos, bvel = self._block
            belief_pos, belief_vel = bpos[index - first], bvel[index - first]
        elif self.kind == "statistical":
            offsets = self.z * self.sigma_rtn_m(index)  # (S, 3) RTN metres
            belief_pos = pos + np.einsum("sij,si->sj", rtn_basis(pos, vel), offsets)
            belief_vel = vel
        else:
            belief_pos, belief_vel = pos, vel
        if self.clock is None:
            return belief_pos, belief_vel, None, None
        truth_clock = self.clock[index]
        return belief_pos, belief_vel, truth_clock, truth_clock * (1.0 - self.config.clock_residual)
