"""Step 2: shadow fading and clutter loss of TR 38.811 Tables 6.6.2-1 (dense urban), 6.6.2-2
(urban) and 6.6.2-3 (suburban and rural), eq. (6.6-2): PL_b = FSPL + SF + CL, SF ~ N(0, σ_SF²),
CL only in NLOS."""

from __future__ import annotations

import numpy as np

from twin.ntn.elevation import at_elevation
from twin.ntn.los import check_scenario
from twin.ntn.tables import BANDS, SF_CL

__all__ = ["shadow_fading_clutter", "check_band"]


def check_band(band: str) -> str:
    if band not in BANDS:
        raise ValueError(f"band must be one of {BANDS}, got {band!r}")
    return band


def shadow_fading_clutter(scenario: str, band: str, elevation_deg):
    """``(sigma_sf_los_db, sigma_sf_nlos_db, clutter_loss_nlos_db)`` of ``scenario`` in ``band``
    (``"S"`` or ``"Ka"``) at ``elevation_deg`` (scalar or (...)): floats for a scalar elevation,
    else three arrays of its shape. Nearest tabulated elevation (:mod:`twin.ntn.elevation`)."""
    table = SF_CL[check_scenario(scenario)][check_band(band)]  # (3, 9)
    values = at_elevation(table, elevation_deg)  # (3, ...)
    if np.ndim(elevation_deg) == 0:
        return tuple(float(v) for v in values)
    return values[0], values[1], values[2]
