"""Step 5 (optional): building entry loss, TR 38.811 clause 6.6.3 -> ITU-R P.2109 eq. (1)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from twin.ntn.tables import BEL_COEFFICIENTS

__all__ = ["building_entry_loss_db", "BUILDING_TYPES"]

BUILDING_TYPES = ("none",) + tuple(BEL_COEFFICIENTS)


def building_entry_loss_db(building: str, freq_hz, elevation_deg, probability: float = 0.5):
    """Loss (...) dB not exceeded with ``probability`` for ``building`` ("traditional",
    "thermally_efficient"; "none" -> 0) at elevation_deg (...) (path elevation at the façade).

    P.2109: L = 10 log10(10^(0.1 A) + 10^(0.1 B) + 10^(0.1 C)), A = F⁻¹(P) σ1 + L_h + 0.212 |θ|,
    B = F⁻¹(P) σ2 + w + x log10 f, C = -3, L_h = r + s log10 f + t (log10 f)², σ1 = u + v log10 f,
    σ2 = y + z log10 f, f in GHz, F⁻¹ the inverse standard normal CDF."""
    el = np.asarray(elevation_deg, dtype=float)
    if building == "none":
        return np.zeros(el.shape)
    if building not in BEL_COEFFICIENTS:
        raise ValueError(f"building must be one of {BUILDING_TYPES}, got {building!r}")
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    r, s, t, u, v, w, x, y, z = BEL_COEFFICIENTS[building]
    lf = np.log10(float(freq_hz) / 1e9)
    q = ndtri(probability)
    a = q * (u + v * lf) + r + s * lf + t * lf**2 + 0.212 * np.abs(el)
    b = q * (y + z * lf) + w + x * lf
    return 10.0 * np.log10(10.0 ** (0.1 * a) + 10.0 ** (0.1 * b) + 10.0 ** (-0.3))
