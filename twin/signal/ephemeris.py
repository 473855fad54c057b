"""Statistical ephemeris errors: per-satellite radial/along-track/cross-track offsets.

Eq. E1: the believed position of satellite i is ŝ_i = s_i + B_i^T (σ ⊙ z_i), with B_i the
RTN basis of the true state (rows R, T, N), σ (3,) the per-axis standard deviations (m) and
z_i ~ N(0, I_3) drawn once per run from ``SeedSequence([seed, satellite, EPHEMERIS_TAG])``.
A believed element set is off by a slowly varying, mostly along-track amount (a timing
error), so z_i is held for the run while σ may grow with the element set's age.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPHEMERIS_TAG", "rtn_basis", "rtn_draws"]

#: Last SeedSequence word of the statistical ephemeris draws.
EPHEMERIS_TAG = 0x45504801


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
