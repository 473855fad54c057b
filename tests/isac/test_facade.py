"""The public façade twin/isac/__init__.py: each name is the deep object, and the kept interfaces
(``twin.isac.location_crb``, ``twin.isac.DesignProblem``, ``twin.isac.fast_design``) take today's
arguments and units and give the deep functions' numbers."""

from __future__ import annotations

import numpy as np
import pytest

import twin.isac
from twin.geometry import geodetic_to_ecef
from twin.isac.design import fast_design as deep_fast_design
from twin.isac.design import problem as design_problem
from twin.isac.estimation import locate
from twin.isac.physics import channel, crb, model, transmit

DEEP = {
    "angles": model,
    "steering": model,
    "isac_array_frames": model,
    "reflection_coefficients": model,
    "transmit_samples": model,
    "echo": model,
    "IsacParams": channel,
    "ue_positions": channel,
    "comm_channels": channel,
    "sinr_rate": channel,
    "matched_filter_isotropic": transmit,
    "transmit_covariance": transmit,
    "location_crb": crb,
    "rcrb": crb,
    "echo_snr": crb,
    "SensingProblem": locate,
    "estimate": locate,
    "DesignProblem": design_problem,
    "DesignResult": design_problem,
    "fast_design": deep_fast_design,
}


def test_all_lists_exactly_the_facade_names():
    assert sorted(twin.isac.__all__) == sorted(DEEP)
    assert len(set(twin.isac.__all__)) == len(twin.isac.__all__)


@pytest.mark.parametrize("name", sorted(DEEP))
def test_each_name_is_the_deep_object(name):
    assert getattr(twin.isac, name) is getattr(DEEP[name], name)


def _geometry(K=3):
    """K satellites at 550 km around (30N, 10E), body-frame arrays, a ground target near the
    first one's nadir. Earth-fixed metres."""
    lat = np.radians([30.0, 30.6, 29.5, 30.3][:K])
    lon = np.radians([10.0, 10.4, 9.7, 9.5][:K])
    q = geodetic_to_ecef(lat, lon, np.full(K, 550e3))
    v = np.cross(q, [0.0, 0.0, 1.0])
    v = 7.6e3 * v / np.linalg.norm(v, axis=1, keepdims=True)
    target = geodetic_to_ecef(np.radians(30.05), np.radians(10.02), 0.0)
    return q, model.isac_array_frames(q, v), target


def test_location_crb_gives_the_deep_number():
    """Today's arguments (positions m, Rx W, beta, noise W, UPA size, alpha, frames, snapshots)."""
    rng = np.random.default_rng(7)
    q, frames, p = _geometry()
    nx, nz = 2, 3
    NK = len(q) * nx * nz
    A = rng.normal(size=(NK, NK)) + 1j * rng.normal(size=(NK, NK))
    Rx = A @ A.conj().T / NK
    beta = model.paper_beta(q, p, rng=rng)
    kw = dict(noise_power=1e-11, nx=nx, nz=nz, alpha=0.8, frames=frames, snapshots=4)
    expected = crb.location_crb(q, p, Rx, beta, **kw)
    got = twin.isac.location_crb(q, p, Rx, beta, **kw)
    assert got.shape == (3, 3)
    np.testing.assert_array_equal(got, expected)
    assert twin.isac.rcrb(q, p, Rx, beta, **kw) == crb.rcrb(q, p, Rx, beta, **kw)


def test_design_problem_and_fast_design_keep_their_interface():
    """DesignProblem with the fields the paper figures pass today, solved by twin.isac.fast_design:
    the deep fast_design's design, W (NK, M) sqrt(W) and R (NK, NK) W."""
    rng = np.random.default_rng(3)
    q, frames, p = _geometry()
    params = channel.IsacParams(nx=2, nz=2, K=len(q), M=2)
    ues = channel.ue_positions(p, 15e3, 2, rng)
    H = channel.comm_channels(q, ues, frames=frames, params=params, rng=rng, center_ecef=p)
    problem = twin.isac.DesignProblem(
        sat_pos=q,
        target=p,
        beta=model.paper_beta(q, p, rng=rng),
        H=H,
        eta=1.0,
        p_max_w=1.0,
        sensing_noise_w=params.sensing_noise_w,
        nx=2,
        nz=2,
        frames=frames,
        snapshots=1,
    )
    got = twin.isac.fast_design(problem)
    expected = deep_fast_design.fast_design(problem)
    assert isinstance(got, twin.isac.DesignResult)
    assert got.W.shape == (12, 2) and got.R.shape == (12, 12)
    np.testing.assert_array_equal(got.W, expected.W)
    np.testing.assert_array_equal(got.R, expected.R)
    assert got.rcrb_m == expected.rcrb_m
