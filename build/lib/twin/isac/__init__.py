"""Cooperative ISAC of seed 000 as a library: what a notebook user calls, in one namespace.

Every name below is the deep object re-exported unchanged (same arguments, SI units, shapes as
documented on it); the modules stay the place to read and to import from inside the package.

Geometry and signals (:mod:`twin.isac.physics.model`)
    ``angles(sat_pos, points, frames=None)``, ``steering(theta, phi, nx, nz)``,
    ``isac_array_frames(sat_pos, sat_vel)``, ``reflection_coefficients(model, sat_pos, target)``,
    ``transmit_samples(W, r, L, rng)``, ``echo(sat_pos, target, beta, x, *, noise_power, nx, nz,
    rng)``.
Communication (:mod:`twin.isac.physics.channel`)
    ``IsacParams`` (seed 000 Table II), ``ue_positions(center_ecef, radius_m, M, rng)``,
    ``comm_channels(sat_pos, ue_pos, *, params, rng)``, ``sinr_rate(H, W, R)``.
Stand-in transmit design (:mod:`twin.isac.physics.transmit`)
    ``matched_filter_isotropic(H, K, N, p_max_w)``, ``transmit_covariance(W, R)``.
Bounds (:mod:`twin.isac.physics.crb`)
    ``location_crb(sat_pos, target, Rx, beta, *, noise_power, nx, nz)`` (3, 3) m²,
    ``rcrb(...)`` m, ``echo_snr(...)`` linear.
Localisation (:mod:`twin.isac.estimation.locate`)
    ``SensingProblem``, ``estimate(method, problem, y, rng)``.
Joint transmit design (:mod:`twin.isac.design`)
    ``DesignProblem``, ``DesignResult``, ``fast_design(problem)``.

Example::

    from twin.isac import location_crb, rcrb
"""

from __future__ import annotations

from twin.isac.design.fast_design import fast_design
from twin.isac.design.problem import DesignProblem, DesignResult
from twin.isac.estimation.locate import SensingProblem, estimate
from twin.isac.physics.channel import IsacParams, comm_channels, sinr_rate, ue_positions
from twin.isac.physics.crb import echo_snr, location_crb, rcrb
from twin.isac.physics.model import (
    angles,
    echo,
    isac_array_frames,
    reflection_coefficients,
    steering,
    transmit_samples,
)
from twin.isac.physics.transmit import matched_filter_isotropic, transmit_covariance

__all__ = [
    # physics: geometry and signals
    "angles",
    "steering",
    "isac_array_frames",
    "reflection_coefficients",
    "transmit_samples",
    "echo",
    # physics: communication
    "IsacParams",
    "ue_positions",
    "comm_channels",
    "sinr_rate",
    # physics: stand-in transmit design
    "matched_filter_isotropic",
    "transmit_covariance",
    # physics: bounds
    "location_crb",
    "rcrb",
    "echo_snr",
    # estimation
    "SensingProblem",
    "estimate",
    # design
    "DesignProblem",
    "DesignResult",
    "fast_design",
]
