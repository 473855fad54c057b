"""Statistical ephemeris errors: per-satellite radial/along-track/cross-track offsets.

Eq. E1: the believed position of satellite i is ŝ_i = s_i + B_i^T (σ ⊙ z_i), with B_i the
RTN basis of the true state (rows R, T, N), σ (3,) the per-axis standard deviations (m) and
z_i ~ N(0, I_3) drawn once per run from ``SeedSequence([seed, satellite, EPHEMERIS_TAG])``.
A believed element set is off by a slowly varying, mostly along-track amount (a timing
error), so z_i is held for the run while σ may grow with the element set's age.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPHEMERIS_TAG", "STATISTICAL_SIGMA_RTN_M_PER_DAY", "rtn_basis", "rtn_draws"]

#: Last SeedSequence word of the statistical ephemeris draws.
EPHEMERIS_TAG = 0x45504801

#: Default RTN error standard deviations (m) per day of element-set age of the `statistical`
#: belief: sigma_axis(age) = rate_axis * age_days. Fitted by ``twin.constellation.ephemeris_error.fit_sigma_per_day``
#: (robust: 1.4826 x median absolute error / age, all pairs pooled) on the shared Starlink
#: snapshots 2026-05-24 -> 26, 26 -> 28, 24 -> 28 (docs/error-budget.md gives the command and
#: the per-pair numbers).
STATISTICAL_SIGMA_RTN_M_PER_DAY = (197.0, 13285.0, 226.0)


def rtn_basis(pos, vel) -> np.ndarray:
    """(..., 3, 3) rows R, T, N (unit vectors) of the states pos, vel (..., 3): R = r/|r|,
    N = r × v/|r × v|, T = N × R."""
    pos = np.asarray(pos, dtype=float)
    vel = np.asarray(vel, dtype=float)
    r = pos / np.linalg.norm(pos, axis=-1, keepdims=True)
    h = np.cross(pos, vel)
    n = h / np.linalg.norm(h, axis=-1, keepdims=True)
    return np.stack([r, np.cross(n, r), n], axis=-2)


def rtn_draws(seed: int, satellites) -> np.ndarray:
    """z (S, 3): one standard normal RTN draw per satellite index (eq. E1)."""
    return np.array(
        [
            np.random.default_rng(
                np.random.SeedSequence([int(seed), int(s), EPHEMERIS_TAG])
            ).normal(size=3)
            for s in satellites
        ]
    ).reshape(-1, 3)
