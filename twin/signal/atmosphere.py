"""Atmospheric group delays on a ground–satellite link, in metres of path.

Troposphere (non-dispersive):

- eq. A1, standard atmosphere at height h (m): P = 1013.25 (1 − 2.2557e-5 h)^5.2568 hPa,
  T = 15 − 6.5e-3 h + 273.16 K, water vapour e = RH · 6.108 exp((17.15 T − 4684)/(T − 38.45))
  hPa with RH = 0.7 (the RTKLIB ``tropmodel`` defaults);
- eq. A2, Saastamoinen zenith hydrostatic delay (Davis et al. 1985; IERS Conventions 2010
  eq. 9.11): ZHD = 0.0022768 P / (1 − 0.00266 cos 2φ − 0.28e-6 h);
- eq. A3, Saastamoinen zenith wet delay: ZWD = 0.002277 (1255/T + 0.05) e;
- eq. A4, mapping function of RTCA DO-229 (appendix A.4.2.4): m(E) = 1.001/√(0.002001 + sin²E).

Ionosphere (dispersive, group delay, first order):

- eq. A5: delay = 40.3 · STEC / f²  (STEC in electrons/m², f in Hz; 1 TECU = 1e16 m⁻²);
- eq. A6, thin-shell obliquity factor at shell height h_I (350 km): STEC = VTEC · F,
  F = 1/√(1 − (R_E cos E/(R_E + h_I))²).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "IONO_SHELL_HEIGHT_M",
    "TECU",
    "do229_mapping",
    "ionosphere_delay_m",
    "obliquity_factor",
    "standard_atmosphere",
    "troposphere_delay_m",
    "zenith_delays_m",
]

TECU = 1e16  # electrons per m² in one TEC unit
IONO_SHELL_HEIGHT_M = 350e3
_EARTH_RADIUS_M = 6371e3  # mean radius for the thin-shell factor
_RELATIVE_HUMIDITY = 0.7


def standard_atmosphere(height_m):
    """Eq. A1: (pressure hPa, temperature K, water-vapour pressure hPa) at height (...) m
    (clipped to >= 0)."""
    h = np.maximum(np.asarray(height_m, float), 0.0)
    pressure = 1013.25 * (1.0 - 2.2557e-5 * h) ** 5.2568
    temperature = 15.0 - 6.5e-3 * h + 273.16
    vapour = (
        _RELATIVE_HUMIDITY * 6.108 * np.exp((17.15 * temperature - 4684.0) / (temperature - 38.45))
    )
    return pressure, temperature, vapour


def zenith_delays_m(lat_rad, height_m):
    """Eqs. A2-A3: (zenith hydrostatic, zenith wet) delays (...) metres."""
    h = np.maximum(np.asarray(height_m, float), 0.0)
    pressure, temperature, vapour = standard_atmosphere(h)
    zhd = 0.0022768 * pressure / (1.0 - 0.00266 * np.cos(2.0 * np.asarray(lat_rad)) - 0.28e-6 * h)
    zwd = 0.002277 * (1255.0 / temperature + 0.05) * vapour
    return zhd, zwd


def do229_mapping(elevation_rad):
    """Eq. A4: tropospheric mapping function (...) of elevation (rad)."""
    return 1.001 / np.sqrt(0.002001 + np.sin(np.asarray(elevation_rad, float)) ** 2)


def troposphere_delay_m(lat_rad, height_m, elevation_rad):
    """Slant tropospheric delay (...) m: (ZHD + ZWD) · m(E) (eqs. A2-A4), broadcast over
    the receiver's latitude / height and the link elevation (rad)."""
    zhd, zwd = zenith_delays_m(lat_rad, height_m)
    return (zhd + zwd) * do229_mapping(elevation_rad)


def obliquity_factor(elevation_rad, shell_height_m=IONO_SHELL_HEIGHT_M):
    """Eq. A6: thin-shell slant/vertical TEC ratio (...) at elevation (rad)."""
    ratio = _EARTH_RADIUS_M * np.cos(np.asarray(elevation_rad, float))
    ratio = ratio / (_EARTH_RADIUS_M + shell_height_m)
    return 1.0 / np.sqrt(1.0 - ratio**2)


def ionosphere_delay_m(vtec_tecu, freq_hz, elevation_rad):
    """Eqs. A5-A6: first-order ionospheric group delay (...) m for vertical TEC (TECU) at
    carrier freq_hz and elevation (rad)."""
    stec = np.asarray(vtec_tecu, float) * TECU * obliquity_factor(elevation_rad)
    return 40.3 * stec / np.asarray(freq_hz, float) ** 2
