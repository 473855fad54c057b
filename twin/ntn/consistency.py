"""Step 6: time consistency. Spatially consistent Gaussian fields, one per link, read where the
satellite ray crosses the clutter.

TR 38.901 clause 7.6.3 makes the LOS state and the shadow fading spatially consistent: each is
a zero-mean Gaussian process over position with correlation exp(-Δd / d_corr) (d_corr from
:data:`twin.ntn.tables.SF_CORRELATION_M` and :data:`~twin.ntn.tables.LOS_CORRELATION_M`); the LOS
state is LOS where Φ(g) < Pr_LOS (a spatially consistent uniform). On a satellite link the
geometry that matters moves with the *satellite* as much as with the UE: the twin reads each
link's process at the point where the UE→satellite ray crosses the clutter height h_c,

    p = r_UE + h_c · d_h / d_up        (d = r_sat - r_UE, split into local up and horizontal),

which sweeps h_c / tan(α) towards the satellite's azimuth as the elevation α changes along a
pass and follows the UE when it moves. (The point is the twin's modelling choice; the TR gives
no rule for moving satellites.)

Each process g(p) is a sum of N random-phase plane waves (spectral method):
g(p) = sqrt(2/N) Σ_n cos(k_n · p + φ_n), with k_n drawn from the 3-D spectral density of
exp(-|Δ| / L): direction uniform on the sphere, |k| L = x with CDF
F(x) = (2/π)(arctan x - x / (1 + x²)); then E[g(p) g(p + Δ)] = exp(-|Δ| / L) exactly and g is
close to Gaussian (N = 32). The numbers k_n, φ_n of a link come from a counter-based hash
(splitmix64) of (seed, UE key, satellite key, field, n): no stream, no state. So a link's
channel is a deterministic function of (seed, keys, positions): a held beam sees its channel
drift, a handover (another satellite key) meets another channel, and a resumed or windowed run
reads the same numbers as a serial one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clutter_points", "link_fields", "link_hash", "N_WAVES"]

#: Plane waves per field.
N_WAVES = 32

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)

# |k| L of the 3-D exponential model, F(x) = (2/π)(arctan x - x/(1+x²)), tabulated at the
# centres of _BINS equal-probability bins (a draw u in (0, 1) takes bin floor(u _BINS))
_BINS = 1 << 16
_X = np.logspace(-4, 7, 20001)
_F = (2.0 / np.pi) * (np.arctan(_X) - _X / (1.0 + _X * _X))
_QUANTILES = np.interp((np.arange(_BINS) + 0.5) / _BINS, _F, _X)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser of uint64 array z (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def link_hash(seed: int, rx_keys, sat_keys) -> np.ndarray:
    """(L,) uint64 hash of each link (seed, rx_keys[l], sat_keys[l]); keys (L,) integers >= 0."""
    with np.errstate(over="ignore"):
        base = _mix(np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF) + _GOLDEN)
        h = _mix(base ^ np.asarray(rx_keys, dtype=np.uint64))
        return _mix(h + _GOLDEN ^ np.asarray(sat_keys, dtype=np.uint64))


def _uniform_pairs(h: np.ndarray, counters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two (L, C) uniforms in (0, 1) per counter from link hashes h (L,) and counters (C,)."""
    with np.errstate(over="ignore"):
        z = _mix(h[:, None] + (counters[None, :] + np.uint64(1)) * _GOLDEN)
    hi = ((z >> np.uint64(32)).astype(float) + 0.5) / 4294967296.0
    lo = ((z & _LOW32).astype(float) + 0.5) / 4294967296.0
    return hi, lo


def link_fields(h: np.ndarray, points: np.ndarray, lengths_m, first_field: int = 0) -> np.ndarray:
    """Values (F, L) of F independent unit Gaussian fields per link at ``points`` (L, 3) metres.

    h (L,) link hashes (:func:`link_hash`); lengths_m (F,) correlation distances; field f of a
    link (numbered first_field + f, which picks its waves) has correlation
    exp(-|Δp| / lengths_m[f]) between two points.
    """
    h = np.asarray(h, dtype=np.uint64)
    p = np.asarray(points, dtype=float)
    out = np.empty((len(lengths_m), len(h)))
    for f, length in enumerate(lengths_m):
        counters = np.arange(2 * N_WAVES, dtype=np.uint64) + np.uint64(1000 * (first_field + f + 1))
        u, v = _uniform_pairs(h, counters)  # (L, 2N) each
        cos_t = 2.0 * u[:, :N_WAVES] - 1.0
        phi = 2.0 * np.pi * v[:, :N_WAVES]
        k = _QUANTILES[(u[:, N_WAVES:] * _BINS).astype(np.int64)] / float(length)  # (L, N) rad/m
        phase = 2.0 * np.pi * v[:, N_WAVES:]
        sin_t = np.sqrt(1.0 - cos_t * cos_t)
        arg = k * (
            sin_t * np.cos(phi) * p[:, 0:1] + sin_t * np.sin(phi) * p[:, 1:2] + cos_t * p[:, 2:3]
        )
        out[f] = np.sqrt(2.0 / N_WAVES) * np.cos(arg + phase).sum(axis=1)
    return out


def clutter_points(rx_pos, sat_pos, up, clutter_height_m: float, min_elevation_deg=1.0):
    """Points (L, 3) ECEF metres where the rays rx -> sat cross the clutter height.

    rx_pos, sat_pos (L, 3) ECEF metres; up (L, 3) unit local-up vectors at rx. p = rx +
    h_c d_h / d_up, with d_up floored at sin(min_elevation) |d| (horizon links)."""
    d = np.asarray(sat_pos, dtype=float) - np.asarray(rx_pos, dtype=float)
    d_up = np.einsum("lj,lj->l", d, up)
    norm = np.linalg.norm(d, axis=1)
    d_h = d - d_up[:, None] * up
    d_up = np.maximum(d_up, np.sin(np.radians(min_elevation_deg)) * norm)
    return np.asarray(rx_pos, dtype=float) + clutter_height_m * d_h / d_up[:, None]
