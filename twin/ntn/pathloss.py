"""Step 3: free-space path loss, TR 38.811 eq. (6.6-3)."""

from __future__ import annotations

import numpy as np

__all__ = ["free_space_path_loss_db"]


def free_space_path_loss_db(distance_m, freq_hz) -> np.ndarray:
    """FSPL(d, f_c) = 32.45 + 20 log10(f_c / GHz) + 20 log10(d / m) dB, eq. (6.6-3).

    distance_m (...) slant range metres > 0; freq_hz scalar or (...) > 0. Returns (...) dB.
    (32.45 = 20 log10(4π · 10⁹ / c) rounded; the exact constant is 32.4478.)"""
    d = np.asarray(distance_m, dtype=float)
    f = np.asarray(freq_hz, dtype=float)
    if np.any(d <= 0) or np.any(f <= 0):
        raise ValueError("free_space_path_loss_db needs distance_m > 0 and freq_hz > 0")
    return 32.45 + 20.0 * np.log10(f / 1e9) + 20.0 * np.log10(d)
