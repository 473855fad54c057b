"""Satellite clock offsets: constant offset, drift and a white-FM random walk, per satellite.

Model (eq. K1) for satellite i at time t (s since the run start), offset in seconds:

    δt_i(t) = b_i + d_i t + w_i(t),   b_i ~ N(0, σ_b²),  d_i ~ N(0, σ_d²),
    w_i(t_k) = Σ_{j ≤ k} n_j,  n_j ~ N(0, q Δt),  q = σ_y(1 s)² · 1 s,

where w is white frequency noise, whose Allan deviation is σ_y(τ) = σ_y(1 s)/√(τ/1 s)
(eq. K2: a Wiener phase with diffusion q has Allan variance q/τ). Every satellite draws from
``SeedSequence([seed, satellite, CLOCK_TAG])``: b, d, then the T increments, so a satellite's
clock depends neither on the other satellites nor on the window a run is split into.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLOCK_TAG", "allan_deviation", "clock_offsets"]

#: Last SeedSequence word of the satellite clock draws.
CLOCK_TAG = 0x434C4B01


def clock_offsets(
    seed: int,
    satellites,
    n_epochs: int,
    step_s: float,
    *,
    offset_sigma_s: float,
    drift_sigma: float,
    allan_1s: float,
) -> np.ndarray:
    """Eq. K1: offsets (T, S) seconds of satellites (S,) (indices) at t_k = k·step_s."""
    t = np.arange(n_epochs) * float(step_s)
    out = np.empty((n_epochs, len(satellites)))
    for col, sat in enumerate(satellites):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(sat), CLOCK_TAG]))
        b, d = rng.normal(size=2) * (offset_sigma_s, drift_sigma)
        steps = rng.normal(size=n_epochs) * allan_1s * np.sqrt(step_s)
        steps[0] = 0.0
        out[:, col] = b + d * t + np.cumsum(steps)
    return out


def allan_deviation(phase_s, tau0_s: float, m: int) -> float:
    """Overlapping Allan deviation at τ = m·tau0 of a phase record (N,) seconds."""
    x = np.asarray(phase_s, float)
    second = x[2 * m :] - 2.0 * x[m:-m] + x[: -2 * m]
    tau = m * tau0_s
    return float(np.sqrt(np.mean(second**2) / (2.0 * tau**2)))
