"""Light time and Sagnac (twin.signal.flight) against independent computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from twin.constellation.orbits import propagate_itrs
from twin.constellation.tle import read_tle
from twin.geometry import geodetic_to_ecef
from twin.signal.flight import OMEGA_EARTH, flight_range, light_time_closed_form
from twin.units import C_LIGHT

SAMPLE = Path(__file__).parents[1] / "constellation" / "data" / "starlink-2026-05-26-sample.tle"
RX = geodetic_to_ecef(np.radians(48.1), np.radians(11.6), 520.0)


def _leo(rng, n):
    """n satellites 550 km above points near RX, moving 7.6 km/s in random horizontal directions."""
    up = RX / np.linalg.norm(RX)
    pos = up * 6.93e6 + rng.normal(scale=5e5, size=(n, 3))
    vel = np.cross(pos, rng.normal(size=(n, 3)))
    vel = 7600.0 * vel / np.linalg.norm(vel, axis=1, keepdims=True)
    return pos, vel


def test_closed_form_light_time_is_the_fixed_point():
    pos, vel = _leo(np.random.default_rng(1), 50)
    tau = light_time_closed_form(pos, vel, RX)
    brute = np.linalg.norm(pos - RX, axis=1) / C_LIGHT
    for _ in range(50):  # brute-force fixed point of c tau = |s - v tau - u|
        brute = np.linalg.norm(pos - vel * brute[:, None] - RX, axis=1) / C_LIGHT
    assert np.allclose(tau * C_LIGHT, brute * C_LIGHT, rtol=0, atol=1e-6)
    moved = np.linalg.norm(vel, axis=1) * tau
    assert np.all(moved < 60.0) and np.max(moved) > 15.0  # metres moved during the flight


def test_light_time_matches_sgp4_at_the_emission_epoch():
    """Linear motion during the flight vs SGP4 propagated to the emission time itself."""
    sats = read_tle(SAMPLE)
    t_r = np.datetime64("2026-05-26T18:00:00", "ns")
    pos, vel, _ = propagate_itrs(sats, np.array([t_r]))
    pos, vel = pos[0], vel[0]
    tau = np.linalg.norm(pos - RX, axis=1) / C_LIGHT
    for _ in range(4):
        t_e = t_r - np.round(tau * 1e9).astype("timedelta64[ns]")
        emitted = np.array(
            [propagate_itrs(sats.subset([i]), t_e[i : i + 1])[0][0, 0] for i in range(len(tau))]
        )
        tau = np.linalg.norm(emitted - RX, axis=1) / C_LIGHT
    model = flight_range(pos, vel, RX, light_time=True, sagnac=False)
    assert len(model) == 25  # any geometry: the algebra does not care whether RX sees it
    assert np.allclose(model, tau * C_LIGHT, atol=2e-3)  # ns time grid: 0.3 mm/ns


def test_sagnac_matches_an_inertial_frame_solution():
    pos, vel = _leo(np.random.default_rng(2), 30)
    omega = np.array([0.0, 0.0, OMEGA_EARTH])
    model = flight_range(pos, vel, RX, light_time=True, sagnac=True)
    for i in range(len(pos)):
        # inertial frame coinciding with the Earth-fixed one at reception: the satellite moves
        # with its inertial velocity v + omega x s, the receiver is at RX at reception
        inertial_v = vel[i] + np.cross(omega, pos[i])

        def residual(tau, i=i, inertial_v=inertial_v):
            return np.linalg.norm(pos[i] - inertial_v * tau - RX) - C_LIGHT * tau

        tau = brentq(residual, 1e-4, 0.05, xtol=1e-16)
        assert abs(model[i] - C_LIGHT * tau) < 1e-4
    # the Earth-rotation part against the textbook first-order term w/c (x_s y_r - y_s x_r)
    lt = flight_range(pos, vel, RX, light_time=True, sagnac=False)
    emitted = pos - vel * (lt / C_LIGHT)[:, None]
    textbook = OMEGA_EARTH / C_LIGHT * (emitted[:, 0] * RX[1] - emitted[:, 1] * RX[0])
    assert np.allclose(model - lt, textbook, atol=2e-3)
    assert np.max(np.abs(textbook)) > 1.0  # metres: it matters for positioning


def test_no_effect_is_the_instantaneous_range():
    pos, vel = _leo(np.random.default_rng(3), 5)
    assert np.array_equal(
        flight_range(pos, vel, RX, light_time=False, sagnac=False), np.linalg.norm(pos - RX, axis=1)
    )
    assert pd.notna(flight_range(pos, vel, RX, light_time=False, sagnac=True)).all()
