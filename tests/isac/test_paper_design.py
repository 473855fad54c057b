"""Seed 000 figures with the joint design: `paper.transmit_design` with design="fast" meets every
rate target and power budget (recomputed here from the channels, independently of the design
code) and senses better at the service-area centre than the stand-in design."""

from dataclasses import replace

import numpy as np
import pytest

from twin.isac.physics import channel
from twin.isac.physics.crb import location_crb
from twin.isac.physics.model import isac_array_frames, reflection_coefficients
from twin.isac.physics.transmit import satellite_powers
from twin.paper.isac import figures as paper
from twin.units import dbm_to_w


@pytest.fixture(scope="module")
def setting():
    op = paper.OperatingPoint(nx=2, nz=2, n_ue=4, collaboration="II", eta_bps_hz=2.0)
    g = paper.group_geometry(op)
    frames = isac_array_frames(g.sat_pos, g.sat_vel)
    return op, g, frames


def _channels(op, g, frames):
    """The UE channels transmit_design draws (same generator, same order)."""
    rng = np.random.default_rng(op.channel_seed)
    params = channel.IsacParams(
        nx=op.nx,
        nz=op.nz,
        K=len(g.members),
        M=op.n_ue,
        p_max_dbm=op.p_max_dbm,
        rate_target_bps_hz=op.eta_bps_hz,
        altitude_m=op.altitude_m,
        service_radius_m=op.area_radius_m,
        sensing_noise_dbm=op.sensing_noise_dbm,
    )
    ues = channel.ue_positions(g.central_nadir_ecef, op.area_radius_m, op.n_ue, rng)
    H = channel.comm_channels(
        g.sat_pos, ues, frames=frames, params=params, rng=rng, center_ecef=g.central_nadir_ecef
    )
    return H, rng


def test_fast_design_meets_rates_and_power_and_beats_the_stand_in(setting):
    op, g, frames = setting
    W, R = paper.transmit_design(replace(op, design="fast"), g, frames)
    H, rng = _channels(op, g, frames)
    _, rates = channel.sinr_rate(H, W, R)
    assert np.all(rates >= op.eta_bps_hz * (1 - 1e-6))
    assert np.all(satellite_powers(W, R, len(g.members)) <= dbm_to_w(op.p_max_dbm) * (1 + 1e-9))
    beta = reflection_coefficients(op.beta_model, g.sat_pos, g.central_nadir_ecef, rng=rng)
    kw = dict(noise_power=float(dbm_to_w(op.sensing_noise_dbm)), nx=op.nx, nz=op.nz, frames=frames)
    W0, R0 = paper.transmit_design(op, g, frames)
    crb_fast = np.trace(
        location_crb(g.sat_pos, g.central_nadir_ecef, W @ W.conj().T + R, beta, **kw)
    )
    crb_stand_in = np.trace(
        location_crb(g.sat_pos, g.central_nadir_ecef, W0 @ W0.conj().T + R0, beta, **kw)
    )
    assert crb_fast < crb_stand_in


def test_unknown_design_refused(setting):
    op, g, frames = setting
    with pytest.raises(ValueError, match="unknown design"):
        paper.transmit_design(replace(op, design="sdr"), g, frames)
