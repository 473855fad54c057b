"""Troposphere and ionosphere (twin.signal.atmosphere) against independent computations."""

from __future__ import annotations

import numpy as np
from scipy import constants
from scipy.integrate import quad

from twin.signal.atmosphere import (
    IONO_SHELL_HEIGHT_M,
    do229_mapping,
    ionosphere_delay_m,
    obliquity_factor,
    standard_atmosphere,
    troposphere_delay_m,
    zenith_delays_m,
)

R_E = 6371e3


def test_zenith_hydrostatic_delay_is_the_integral_of_the_refractivity():
    """ZHD = 1e-6 ∫ k1 P/T dh over the 1976 US standard atmosphere (troposphere lapse 6.5 K/km
    to 11 km, isothermal 216.65 K above), with gravity falling as (R/(R+h))²."""
    k1, r_d, g0 = 77.604, 287.0531, 9.80665

    def pressure(h):  # hydrostatic integration of dP/dh = -P g(h) / (R_d T(h))
        temperature = lambda z: 288.15 - 6.5e-3 * min(z, 11e3)  # noqa: E731
        exponent = quad(lambda z: g0 * (R_E / (R_E + z)) ** 2 / (r_d * temperature(z)), 0, h)[0]
        return 1013.25 * np.exp(-exponent), temperature(h)

    heights = np.linspace(0.0, 80e3, 801)
    refractivity = [k1 * p / t for p, t in (pressure(h) for h in heights)]
    integral = 1e-6 * np.trapezoid(refractivity, heights)
    zhd, zwd = zenith_delays_m(np.radians(45.0), 0.0)
    assert abs(zhd - 2.3069) < 5e-4  # IERS 2010 eq. 9.11 at 1013.25 hPa, 45°, sea level
    assert abs(zhd - integral) / integral < 0.01
    assert 0.05 < zwd < 0.35  # a temperate wet delay, tens of centimetres


def test_pressure_falls_with_height_like_the_standard_atmosphere():
    p, t, _ = standard_atmosphere(np.array([0.0, 5000.0]))
    assert np.allclose(p, [1013.25, 540.2], rtol=2e-3)  # US standard atmosphere table values
    assert np.allclose(t, [288.16, 255.66], atol=0.01)


def test_do229_mapping_against_a_spherical_slant_integral():
    """Slant over zenith integral of an exponential refractivity (scale height 8.5 km) along a
    straight ray over a spherical Earth."""
    scale = 8.5e3

    def slant(elev):
        def n_at(s):
            h = np.sqrt(R_E**2 + s**2 + 2 * R_E * s * np.sin(elev)) - R_E
            return np.exp(-h / scale)

        return quad(n_at, 0, 600e3, limit=200)[0] / scale

    for deg, tol in ((90, 1e-3), (60, 2e-3), (30, 5e-3), (15, 0.01), (5, 0.04)):
        assert abs(do229_mapping(np.radians(deg)) / slant(np.radians(deg)) - 1) < tol, deg


def test_slant_troposphere_grows_as_the_mapping():
    lat = np.radians(48.1)
    zenith = troposphere_delay_m(lat, 520.0, np.pi / 2)
    assert 2.2 < zenith < 2.6
    assert np.isclose(
        troposphere_delay_m(lat, 520.0, np.radians(25.0)),
        zenith * do229_mapping(np.radians(25.0)) / do229_mapping(np.pi / 2),
    )


def test_ionosphere_constant_and_obliquity():
    k = constants.e**2 / (8 * np.pi**2 * constants.epsilon_0 * constants.m_e)
    assert abs(k - 40.3) < 0.01
    # 10 TECU at L1: 1.62 m (the classic 16 cm per TECU)
    assert abs(ionosphere_delay_m(10.0, 1575.42e6, np.pi / 2) - 1.6237) < 1e-3
    # obliquity: path length through a thin shell at 350 km over its thickness
    for deg in (90, 45, 20, 5):
        e = np.radians(deg)
        dh = 1.0
        inner, outer = R_E + IONO_SHELL_HEIGHT_M, R_E + IONO_SHELL_HEIGHT_M + dh

        def reach(radius, e=e):  # distance along the ray from the ground to a sphere
            return -R_E * np.sin(e) + np.sqrt((R_E * np.sin(e)) ** 2 + radius**2 - R_E**2)

        assert abs((reach(outer) - reach(inner)) / dh - obliquity_factor(e)) < 1e-4
    # Ka band, 20 TECU at 30°: centimetres
    assert 0.01 < ionosphere_delay_m(20.0, 20e9, np.radians(30)) < 0.05
