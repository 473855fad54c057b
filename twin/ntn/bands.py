"""Which TR 38.811 band's tables (S or Ka) a carrier frequency gets.

TR 38.811 tabulates its clause 6.6 clutter loss, shadow fading and scintillation, and its clause
6.7 fast-fading parameters, for two bands only: S band (the 2 GHz carrier) and Ka band (20 GHz
downlink, 30 GHz uplink). :data:`BAND_RANGES_HZ` are the carriers each band's tables stand for
here: S 1.5-2.5 GHz (the TR's 2 GHz and the NR-NTN L/S bands around it), Ka 17.3-30 GHz (the
TR's 20 GHz downlink to 30 GHz uplink). A carrier outside both ranges gets the *nearest* band on
a log-frequency scale (the boundary is the geometric mean of 2.5 and 17.3 GHz, 6.58 GHz), with
a warning: e.g. seed 002's 4 GHz PNT carrier gets the S-band tables, seed 000's 35 GHz ISAC
carrier the Ka-band tables.
"""

from __future__ import annotations

import math

from twin.ntn.tables import BANDS

__all__ = ["BAND_RANGES_HZ", "nearest_band", "band_warning", "describe_range"]

#: Carrier range (low, high) in Hz that each band's tables stand for, inclusive.
BAND_RANGES_HZ = {"S": (1.5e9, 2.5e9), "Ka": (17.3e9, 30.0e9)}


def _log_distance(freq_hz: float, band: str) -> float:
    lo, hi = BAND_RANGES_HZ[band]
    if lo <= freq_hz <= hi:
        return 0.0
    return abs(math.log(freq_hz / (lo if freq_hz < lo else hi)))


def nearest_band(freq_hz: float) -> str:
    """The band ("S" or "Ka") whose range holds ``freq_hz`` (Hz, > 0), else the nearest one in
    log frequency."""
    if not freq_hz > 0:
        raise ValueError(f"freq_hz must be > 0, got {freq_hz!r}")
    return min(BANDS, key=lambda band: _log_distance(float(freq_hz), band))


def describe_range(band: str) -> str:
    lo, hi = BAND_RANGES_HZ[band]
    return f"{lo / 1e9:g}-{hi / 1e9:g} GHz"


def band_warning(freq_hz: float, band: str) -> str | None:
    """None when ``freq_hz`` lies in ``band``'s range, else the text of the warning."""
    if _log_distance(float(freq_hz), band) == 0.0:
        return None
    return (
        f"carrier {freq_hz / 1e9:g} GHz is outside the TR 38.811 {band}-band range "
        f"({describe_range(band)}): the {band}-band tables are used as the nearest"
    )
