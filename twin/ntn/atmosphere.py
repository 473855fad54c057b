"""Step 4: atmospheric gas absorption (clause 6.6.4) and scintillation (clause 6.6.6)."""

from __future__ import annotations

import numpy as np

from twin.ntn.elevation import at_elevation
from twin.ntn.shadowing import check_band
from twin.ntn.tables import (
    IONOSPHERIC_4GHZ_PEAK_DB,
    TROPOSPHERIC_SCINTILLATION_DB,
    ZENITH_GAS_DB,
    ZENITH_GAS_FREQ_GHZ,
)

__all__ = ["gas_absorption_db", "scintillation_db", "zenith_gas_db", "MIN_GAS_ELEVATION_DEG"]

#: Lowest elevation of the 1/sin(α) slant scaling; below it the 5° value is used (P.676's
#: approximate slant method is stated for 5°-90°).
MIN_GAS_ELEVATION_DEG = 5.0


def zenith_gas_db(freq_hz) -> np.ndarray:
    """A_zenith(f) dB: :data:`twin.ntn.tables.ZENITH_GAS_DB` (1-100 GHz) linearly interpolated in
    frequency. freq_hz scalar or (...) in 1-100 GHz."""
    f = np.asarray(freq_hz, dtype=float) / 1e9
    if np.any(f < 1.0) or np.any(f > 100.0):
        raise ValueError("zenith_gas_db covers 1-100 GHz")
    return np.interp(f, ZENITH_GAS_FREQ_GHZ, ZENITH_GAS_DB)


def gas_absorption_db(freq_hz, elevation_deg) -> np.ndarray:
    """PL_A = A_zenith(f) / sin(α), clause 6.6.4 eq. (6.6-4), where the TR asks for it (carrier
    above 10 GHz, or any carrier at elevations below 10°), else 0. freq_hz scalar,
    elevation_deg (...). Returns (...) dB; α is floored at :data:`MIN_GAS_ELEVATION_DEG`."""
    el = np.asarray(elevation_deg, dtype=float)
    alpha = np.radians(np.maximum(el, MIN_GAS_ELEVATION_DEG))
    loss = zenith_gas_db(freq_hz) / np.sin(alpha)
    applies = (float(freq_hz) > 10e9) | (el < 10.0)
    return np.where(applies, loss, 0.0)


def scintillation_db(band: str, freq_hz, elevation_deg) -> np.ndarray:
    """Scintillation loss (...) dB at elevation_deg (...).

    S band: ionospheric, clause 6.6.6.1.4 eqs. (6.6-12)-(6.6-13),
    PL_IS = (P_fluc(4 GHz) / sqrt 2) (f / 4 GHz)^-1.5 with P_fluc(4 GHz) = 1.1 dB (independent of
    elevation). Ka band: tropospheric, Table 6.6.6.2.1-1 at the nearest tabulated elevation.
    """
    el = np.asarray(elevation_deg, dtype=float)
    if check_band(band) == "S":
        value = IONOSPHERIC_4GHZ_PEAK_DB / np.sqrt(2.0) * (float(freq_hz) / 4e9) ** -1.5
        return np.full(el.shape, value)
    return at_elevation(TROPOSPHERIC_SCINTILLATION_DB, el)
