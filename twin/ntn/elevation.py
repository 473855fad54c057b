"""Reading a clause 6.6 table at an elevation angle: the nearest tabulated row.

TR 38.811 tabulates its large-scale parameters at 10°, 20°, ..., 90° only. Between rows the twin
takes the **nearest tabulated elevation** (halves round up, 15° -> 20°), and the 10° row below
10° (and the 90° row above 90°), as ns-3 (``GetQuantizedElevationAngle``, citing TR 38.811
V15.4.0 clause 6.6.1) and OpenNTN (``round(elevation / 10) * 10``) do; no linear interpolation.
"""

from __future__ import annotations

import numpy as np

from twin.ntn.tables import ELEVATIONS_DEG

__all__ = ["table_row", "at_elevation"]


def table_row(elevation_deg) -> np.ndarray:
    """Row index (...,) int in 0..8 of the tabulated elevation nearest to ``elevation_deg`` (...)."""
    el = np.asarray(elevation_deg, dtype=float)
    if np.any(np.isnan(el)):
        raise ValueError("elevation_deg must not be NaN")
    return np.clip(np.floor(el / 10.0 + 0.5).astype(int) - 1, 0, len(ELEVATIONS_DEG) - 1)


def at_elevation(table, elevation_deg) -> np.ndarray:
    """``table`` (..., 9) read at ``elevation_deg`` (E...) -> (..., E...) float."""
    table = np.asarray(table, dtype=float)
    return table[..., table_row(elevation_deg)]
