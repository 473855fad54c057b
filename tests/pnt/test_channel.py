"""Seed 002 channel (eq. (8)-(10)) and Table II parameters."""

from __future__ import annotations

import numpy as np
import pytest

from twin.pnt import channel
from twin.units import C_LIGHT, lin_to_db


def test_path_loss_matches_friis():
    d = np.array([600e3, 1200e3, 2000e3])
    f = 4e9
    friis = 20 * np.log10(4 * np.pi * d * f / C_LIGHT)
    got = channel.path_loss_db(d, f)
    assert np.allclose(got, friis, atol=0.01)
    assert channel.path_loss_db(600e3, 4e9) == pytest.approx(160.05, abs=0.01)
    assert channel.path_gain(600e3, 4e9) == pytest.approx(10 ** (-got[0] / 10))
    with pytest.raises(ValueError):
        channel.path_loss_db(0.0, 4e9)


def test_steering_kronecker_order_and_modulus():
    nx, ny = 3, 5
    tx, ty = 0.31, -0.47
    v = channel.steering(tx, ty, nx, ny)
    vx = np.exp(-1j * np.pi * tx * np.arange(nx))
    vy = np.exp(-1j * np.pi * ty * np.arange(ny))
    assert np.allclose(v, np.kron(vx, vy))
    ix, iy = 2, 3
    assert v[ix * ny + iy] == pytest.approx(np.exp(-1j * np.pi * (tx * ix + ty * iy)))
    assert np.allclose(np.abs(v), 1.0)
    batch = channel.steering(np.array([[0.1, 0.2]]), np.array([[0.3, 0.4]]), nx, ny)
    assert batch.shape == (1, 2, nx * ny)


def test_steering_beam_pattern():
    """Matched filter gain N on target; first null of an 8-element axis at Δθ = 2/8."""
    n = 8
    v0 = channel.steering(0.1, 0.0, n, n)
    assert abs(np.vdot(v0, v0)) == pytest.approx(n * n)
    v1 = channel.steering(0.1 + 2 / n, 0.0, n, n)
    assert abs(np.vdot(v0, v1)) < 1e-9 * n * n


def test_body_frames_east_and_along_track():
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(6, 3))
    pos *= 6971e3 / np.linalg.norm(pos, axis=1, keepdims=True)
    vel = rng.normal(size=(6, 3)) * 7e3
    for kind in ("east", "along_track"):
        F = channel.pnt_body_frames(pos, sat_vel=vel, x_axis=kind)
        assert F.shape == (6, 3, 3)
        assert np.allclose(F @ np.swapaxes(F, 1, 2), np.eye(3))
        assert np.allclose(np.linalg.det(F), 1.0)
        assert np.allclose(F[:, 2], -pos / np.linalg.norm(pos, axis=1, keepdims=True))
        assert np.allclose(np.cross(F[:, 2], F[:, 0]), F[:, 1])
    F = channel.pnt_body_frames(pos, x_axis="east")
    assert np.allclose(F[:, 0, 2], 0.0)  # east has no z component
    lon = np.arctan2(pos[:, 1], pos[:, 0])
    assert np.allclose(F[:, 0], np.stack([-np.sin(lon), np.cos(lon), 0 * lon], axis=1))
    F = channel.pnt_body_frames(pos, sat_vel=vel, x_axis="along_track")
    assert np.all(np.sum(F[:, 0] * vel, axis=1) > 0)
    assert np.allclose(np.sum(F[:, 1] * vel, axis=1), 0.0, atol=1e-6)
    with pytest.raises(ValueError):
        channel.pnt_body_frames(pos, x_axis="along_track")
    with pytest.raises(ValueError):
        channel.pnt_body_frames(pos, x_axis="north")
    pole = channel.pnt_body_frames(np.array([[0.0, 0.0, 6971e3]]))
    assert np.allclose(pole[0] @ pole[0].T, np.eye(3))


def test_channels_link_budget_and_structure():
    """600 km nadir, P = 26 dBW, N = 64, B = 50 MHz: matched-filter SNR ≈ 11.0 dB (seed-math A.4)."""
    p = channel.PntParams()
    ut = np.array([[6371e3, 0.0, 0.0], [6371e3, 60e3, 0.0]])
    sat = np.array([[6371e3 + p.altitude_m, 0.0, 0.0]])
    F = channel.pnt_body_frames(sat)
    rng = np.random.default_rng(5)
    H = channel.channels(sat, ut, F, freq_hz=p.freq_hz, nx=p.nx, ny=p.ny, rng=rng)
    assert H.shape == (1, 2, 64)
    # nadir UT: all direction cosines 0 -> equal entries; one phase per link
    assert np.allclose(H[0, 0], H[0, 0, 0])
    snr_db = lin_to_db(p.power_w * np.sum(np.abs(H[0, 0]) ** 2) / p.noise_w)
    assert snr_db == pytest.approx(11.0, abs=0.1)
    # off-nadir UT: H / steering is one constant (the per-link phase times √g)
    d = ut[1] - sat[0]
    u = d / np.linalg.norm(d)
    v = channel.steering(u @ F[0, 0], u @ F[0, 1], p.nx, p.ny)
    ratio = H[0, 1] / v
    assert np.allclose(ratio, ratio[0])
    assert abs(ratio[0]) ** 2 == pytest.approx(channel.path_gain(np.linalg.norm(d), p.freq_hz))
    # element gain scales |h|² linearly; same rng seed -> same phases
    H2 = channel.channels(
        sat,
        ut,
        F,
        freq_hz=p.freq_hz,
        nx=8,
        ny=8,
        element_gain_dbi=5.5,
        rng=np.random.default_rng(5),
    )
    assert np.allclose(np.abs(H2) ** 2, np.abs(H) ** 2 * 10**0.55)
    assert np.allclose(np.angle(H2 / H), 0.0)


def test_channel_phases_uniform():
    sat = np.array([[6971e3, 0.0, 0.0]])
    ut = np.tile([[6371e3, 0.0, 0.0]], (4000, 1))
    H = channel.channels(
        sat, ut, channel.pnt_body_frames(sat), freq_hz=4e9, nx=2, ny=2, rng=np.random.default_rng(9)
    )
    ph = np.angle(H[0, :, 0]) % (2 * np.pi)
    hist, _ = np.histogram(ph, bins=8, range=(0, 2 * np.pi))
    assert np.all(np.abs(hist - 500) < 5 * np.sqrt(500))


def test_noise_and_params():
    assert lin_to_db(channel.noise_power_w(50e6)) + 30 == pytest.approx(-97.01, abs=0.01)
    assert channel.noise_power_w(50e6, ut_gain_dbi=3.0) == pytest.approx(
        channel.noise_power_w(50e6) / 10**0.3
    )
    p = channel.PntParams()
    assert (p.nx, p.ny, p.n_beams, p.i_tdoa, p.n_sats, p.n_cells) == (8, 8, 12, 4, 21, 61)
    assert p.power_w == pytest.approx(10**2.6)
    assert p.ref_toa_var_s2 == 1e-19 and p.freq_hz == 4e9 and p.bandwidth_hz == 50e6
    with pytest.raises(ValueError):
        channel.noise_power_w(0.0)


def test_element_phase_model_keeps_gain_and_decorrelates_ut_channels():
    """phase="element" (the text's phase vector): |h_n|² = g per element as with one phase
    per link, but two UTs seen in almost the same direction get nearly orthogonal channels:
    E|h_c^H h_c'|² / (||h_c||² ||h_c'||²) = 1/N for independent uniform phases (Monte Carlo),
    while one phase per link keeps the correlation near 1."""
    sat = np.array([[6971e3, 0.0, 0.0]])
    F = channel.pnt_body_frames(sat)
    ut = np.tile([[6371e3, 0.0, 0.0], [6371e3, 5e3, 0.0]], (2000, 1))  # 2000 pairs, 5 km apart
    kw = dict(freq_hz=4e9, nx=8, ny=8)
    He = channel.channels(sat, ut, F, rng=np.random.default_rng(1), phase="element", **kw)[0]
    Hl = channel.channels(sat, ut, F, rng=np.random.default_rng(1), **kw)[0]
    np.testing.assert_allclose(np.abs(He) ** 2, np.abs(Hl) ** 2, rtol=1e-12)

    def corr2(H):
        a, b = H[0::2], H[1::2]
        num = np.abs(np.sum(a.conj() * b, axis=1)) ** 2
        return num / (np.sum(np.abs(a) ** 2, axis=1) * np.sum(np.abs(b) ** 2, axis=1))

    ce = corr2(He)
    assert ce.mean() == pytest.approx(1 / 64, rel=0.1)  # MC error ~ 1/sqrt(2000) = 2 %
    assert corr2(Hl).min() > 0.9
    with pytest.raises(ValueError, match="phase must be"):
        channel.channels(sat, ut[:2], F, rng=np.random.default_rng(1), phase="satellite", **kw)
