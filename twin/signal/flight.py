"""Signal flight in the Earth-fixed frame: light time and Earth rotation during flight.

A receiver fixed on the Earth at ``u`` receives at ``t_r`` a signal the satellite sent at
``t_e = t_r − τ``. Over the 2–5 ms of a LEO flight the satellite's Earth-fixed motion is a
straight line to 1e-4 m (acceleration ≈ 9 m/s²: a τ²/2 < 1e-4 m), so with ``s`` and ``v`` its
Earth-fixed position and velocity at ``t_r``:

    light time (eq. F1):   c τ = |s − v τ − u|,  solved in closed form (a quadratic):
        τ = (−d·v + √((d·v)² + (c² − |v|²)|d|²)) / (c² − |v|²),   d = s − u;
    Earth rotation (eq. F2, Sagnac): the emission point is expressed in the Earth-fixed
        frame of ``t_r`` by a rotation R3(ω τ) about z (the Earth turned by ω τ during the
        flight); the path length is |R3(ω τ)(s − v τ) − u| with τ solved again by fixed point.

``flight_range`` returns the path length c τ in metres under the chosen effects; its excess
over the instantaneous range |s − u| is what an instantaneous-geometry receiver gets wrong.
"""

from __future__ import annotations

import numpy as np

from twin.units import C_LIGHT

__all__ = ["OMEGA_EARTH", "flight_range", "light_time_closed_form", "rotate_z"]

#: WGS84 Earth rotation rate, rad/s.
OMEGA_EARTH = 7.2921151467e-5


def light_time_closed_form(sat_pos, sat_vel, rx_pos) -> np.ndarray:
    """Eq. F1: flight time τ (...) s of the signal reaching ``rx_pos`` (..., 3) from a satellite
    at ``sat_pos`` (..., 3) m moving at ``sat_vel`` (..., 3) m/s (Earth-fixed, at reception)."""
    d = np.asarray(sat_pos, float) - np.asarray(rx_pos, float)
    v = np.asarray(sat_vel, float)
    dv = np.sum(d * v, axis=-1)
    a = C_LIGHT**2 - np.sum(v * v, axis=-1)
    return (-dv + np.sqrt(dv * dv + a * np.sum(d * d, axis=-1))) / a


def rotate_z(points, angle) -> np.ndarray:
    """R3(angle) applied to points (..., 3): the coordinates of a fixed point in a frame rotated
    by ``angle`` (rad, (...)) about z, i.e. [x cos + y sin, −x sin + y cos, z]."""
    p = np.asarray(points, float)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * p[..., 0] + s * p[..., 1], -s * p[..., 0] + c * p[..., 1], p[..., 2]], -1)


def flight_range(sat_pos, sat_vel, rx_pos, *, light_time=True, sagnac=True, iterations=4):
    """Path length c τ (...) metres from satellite to receiver (see the module docstring).

    sat_pos, sat_vel (..., 3) Earth-fixed at reception, rx_pos (..., 3). light_time False:
    the satellite's position at reception; sagnac False: no Earth rotation during flight.
    Both False: the instantaneous range |s − u|. The fixed point of eq. F2 converges by a
    factor |v|/c ≈ 2.5e-5 per iteration (4 iterations reach the float64 floor)."""
    s = np.asarray(sat_pos, float)
    v = np.asarray(sat_vel, float)
    u = np.asarray(rx_pos, float)
    if not light_time and not sagnac:
        return np.linalg.norm(s - u, axis=-1)
    tau = np.linalg.norm(s - u, axis=-1) / C_LIGHT
    if light_time and not sagnac:
        return C_LIGHT * light_time_closed_form(s, v, u)
    for _ in range(iterations):
        emitted = s - v * tau[..., None] if light_time else s
        tau = np.linalg.norm(rotate_z(emitted, OMEGA_EARTH * tau) - u, axis=-1) / C_LIGHT
    return C_LIGHT * tau
