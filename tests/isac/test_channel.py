"""Communication channel and rate of seed 000 (eqs. (3)-(8)) and the stand-in
transmit design (matched filter + isotropic sensing)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import integrate
from scipy.special import jv

from twin.geometry import ecef_to_geodetic, geocentric_nadir_point, geodetic_to_ecef
from twin.isac.physics import channel as ch
from twin.isac.physics.model import angles, isac_array_frames, steering
from twin.isac.physics.transmit import (
    matched_filter_isotropic,
    satellite_powers,
    transmit_covariance,
)

P = ch.IsacParams()


def _group(rng, K=5):
    """Central satellite over (30N, 10E) at 550 km plus K-1 others within ~1500 km."""
    lat0, lon0 = np.radians(30.0), np.radians(10.0)
    lats = lat0 + np.concatenate([[0.0], rng.uniform(-0.2, 0.2, K - 1)])
    lons = lon0 + np.concatenate([[0.0], rng.uniform(-0.2, 0.2, K - 1)])
    q = geodetic_to_ecef(lats, lons, np.full(K, 550e3))
    v = np.cross(q, [0.0, 0.0, 1.0])
    v = 7.6e3 * v / np.linalg.norm(v, axis=1, keepdims=True)
    return q, v


def test_params_defaults_and_validation():
    assert P.N == 16 and P.K == 5 and P.M == 10
    assert P.p_max_w == pytest.approx(1.0)
    assert P.sensing_noise_w == pytest.approx(1e-14)
    assert P.rician_k == pytest.approx(10.0)
    assert P.b_max == pytest.approx(10**1.6)
    assert P.wavelength_m == pytest.approx(2.99792458e8 / 35e9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.K = 3
    with pytest.raises(ValueError, match="eps_3db_deg"):
        ch.IsacParams(eps_3db_deg=0.0)


def test_bessel_pattern_limit_and_3db_point():
    bmax, e3 = P.b_max, P.eps_3db_rad
    # u -> 0: b -> b_max, continuous across the series switch
    eps = np.array([0.0, 1e-15, 1e-10, 1e-9, 2e-9, 1e-7, 1e-5, 1e-4])
    b = ch.bessel_feed_gain(eps, b_max=bmax, eps_3db_rad=e3)
    assert np.all(np.isfinite(b))
    assert b[0] == bmax
    u = 2.07123 * np.sin(eps) / np.sin(e3)
    # small-u expansion of the bracket: 1 - 5 u^2 / 64 (J1: 1/4 - u^2/32, 36 J3/u^3: 3/4 - 3u^2/64)
    assert np.allclose(
        b[:-1], bmax * (1 - 5 * u[:-1] ** 2 / 64) ** 2, rtol=1e-9
    )  # u^4 term < 1e-10 there
    assert np.all(np.diff(b) <= 0)  # monotone decreasing near boresight
    # direct formula away from the origin
    e = np.radians(0.25)
    u = 2.07123 * np.sin(e) / np.sin(e3)
    direct = bmax * (jv(1, u) / (2 * u) + 36 * jv(3, u) / u**3) ** 2
    assert ch.bessel_feed_gain(e, b_max=bmax, eps_3db_rad=e3) == pytest.approx(direct, rel=1e-12)
    # squared pattern is 3 dB down at eps_3dB (this is what fixes the exponent to 2)
    assert ch.bessel_feed_gain(e3, b_max=bmax, eps_3db_rad=e3) / bmax == pytest.approx(
        0.5, abs=2e-4
    )


def test_rain_statistics():
    rng = np.random.default_rng(0)
    chi = ch.rain_attenuation((200000,), rng, mu=-2.6, sigma=1.63)
    xi_db = -20 * np.log10(np.abs(chi))
    assert np.all(xi_db > 0)
    ln = np.log(xi_db)
    assert np.mean(ln) == pytest.approx(-2.6, abs=0.015)
    assert np.std(ln) == pytest.approx(1.63, rel=0.01)
    assert abs(np.mean(np.exp(1j * np.angle(chi)))) < 0.01  # uniform phase
    # mean power loss vs numerical integration over the log-normal
    expect, _ = integrate.quad(
        lambda z: 10 ** (-np.exp(-2.6 + 1.63 * z) / 10) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
        -12,
        12,
    )
    assert np.mean(np.abs(chi) ** 2) == pytest.approx(expect, rel=0.005)


def test_rician_statistics():
    rng = np.random.default_rng(1)
    n = 100000
    h_los = np.exp(1j * np.array([0.3, -2.0, 1.1]))
    h = ch.rician_fading(np.broadcast_to(h_los, (n, 3)), 10.0, rng)
    assert np.allclose(h.mean(axis=0), np.sqrt(10 / 11) * h_los, atol=0.005)
    assert np.allclose(np.mean(np.abs(h) ** 2, axis=0), 1.0, atol=0.01)
    assert np.allclose(np.var(h, axis=0), 1 / 11, rtol=0.03)
    with pytest.raises(ValueError):
        ch.rician_fading(h_los, -1.0, rng)


def test_path_gain_budget():
    # independent dB sum: -FSPL + G/T - 10 log10(k_B B)
    d = 550e3
    fspl_db = 20 * np.log10(4 * np.pi * d * 35e9 / 2.99792458e8)
    expect_db = -fspl_db + 34.0 - 10 * np.log10(1.380649e-23 * 20e6)
    assert 10 * np.log10(ch.path_gain(d, P)) == pytest.approx(expect_db, abs=1e-9)
    assert expect_db == pytest.approx(11.5, abs=0.1)


def test_ue_positions_uniform_disk():
    rng = np.random.default_rng(2)
    q, _ = _group(rng)
    center = geocentric_nadir_point(q[0])
    ue = ch.ue_positions(center, 15e3, 20000, rng)
    assert ue.shape == (20000, 3)
    _, _, alt = ecef_to_geodetic(ue)
    assert np.max(np.abs(alt)) < 1e-3
    r = np.linalg.norm(ue - center, axis=1)
    assert r.max() <= 15e3 * 1.0001
    assert np.mean(r < 15e3 / np.sqrt(2)) == pytest.approx(0.5, abs=0.015)  # uniform in area
    assert ch.ue_positions(center, 15e3, 0, rng).shape == (0, 3)


def test_comm_channels_mean_power_and_los_structure():
    rng = np.random.default_rng(3)
    q, v = _group(rng, K=3)
    frames = isac_array_frames(q, v)
    center = geocentric_nadir_point(q[0])
    base = ch.ue_positions(center, 15e3, 2, rng)
    copies = 3000
    ue = np.repeat(base, copies, axis=0)
    H = ch.comm_channels(q, ue, frames=frames, params=P, rng=rng, center_ecef=center)
    assert H.shape == (2 * copies, 3 * 16)
    # E|h_{k,m,i}|^2 = path_gain(d) b_i E[rain power] (E|rician|^2 = 1)
    rain, _ = integrate.quad(
        lambda z: 10 ** (-np.exp(-2.6 + 1.63 * z) / 10) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
        -12,
        12,
    )
    feeds = ch.feed_boresight_points(center, P)
    eps = ch.feed_off_axis_angles(q, base, feeds)
    b = ch.bessel_feed_gain(eps, b_max=P.b_max, eps_3db_rad=P.eps_3db_rad)  # (K, 2, N)
    d = np.linalg.norm(base[None] - q[:, None], axis=-1)
    for m in range(2):
        hm = H[m * copies : (m + 1) * copies].reshape(copies, 3, 16)
        expect = ch.path_gain(d[:, m], P)[:, None] * b[:, m, :] * rain  # (K, N)
        ratio = np.mean(np.abs(hm) ** 2, axis=0) / expect
        assert np.allclose(ratio.mean(axis=1), 1.0, atol=0.04), ratio.mean(axis=1)
    # pure LOS, no rain: h_{k,m} = sqrt(path b) e^{j psi} sqrt(N) a(theta, phi) (y = h^H x convention)
    los = dataclasses.replace(P, rain_mu=-50.0, rician_k_db=300.0)
    H1 = ch.comm_channels(q, base, frames=frames, params=los, rng=rng, center_ecef=center).reshape(
        2, 3, 16
    )
    th, ph = angles(q, base, frames)
    a = steering(th, ph, 4, 4)  # (M, K, N)
    amp = np.sqrt(ch.path_gain(d.T, los)[..., None] * b.transpose(1, 0, 2))
    z = H1 / (amp * 4 * a)
    assert np.allclose(np.abs(z), 1.0, atol=1e-9)
    assert np.allclose(z, z[..., :1], atol=1e-9)  # one common (rain) phase per link


def _loop_sinr(H, W, R, noise):
    M = H.shape[0]
    out = []
    for i in range(M):
        h = H[i]
        num = abs(np.vdot(W[:, i], h)) ** 2
        den = sum(abs(np.vdot(W[:, m], h)) ** 2 for m in range(M) if m != i) + noise
        if R is not None:
            den += abs(np.vdot(R, h)) ** 2 if R.ndim == 1 else np.real(np.vdot(h, R @ h))
        out.append(num / den)
    return np.array(out)


def test_sinr_rate_matches_loop():
    rng = np.random.default_rng(4)
    M, NK = 6, 20
    H = rng.normal(size=(M, NK)) + 1j * rng.normal(size=(M, NK))
    W = (rng.normal(size=(NK, M)) + 1j * rng.normal(size=(NK, M))) / 5
    r = (rng.normal(size=NK) + 1j * rng.normal(size=NK)) / 7
    G = rng.normal(size=(NK, 4)) + 1j * rng.normal(size=(NK, 4))
    for R in (None, r, G @ G.conj().T / 30):
        sinr, rate = ch.sinr_rate(H, W, R, noise_power=0.7)
        ref = _loop_sinr(H, W, R, 0.7)
        assert np.allclose(sinr, ref, rtol=1e-12)
        assert np.allclose(rate, np.log2(1 + ref), rtol=1e-12)
    # rank-one covariance r r^H gives the same as the waveform r
    assert np.allclose(ch.sinr_rate(H, W, r)[0], ch.sinr_rate(H, W, np.outer(r, r.conj()))[0])
    with pytest.raises(ValueError, match="W"):
        ch.sinr_rate(H, W[:, :-1])


def test_matched_filter_isotropic_budget_and_coherence():
    rng = np.random.default_rng(5)
    K, N = 5, 16
    q, v = _group(rng, K)
    center = geocentric_nadir_point(q[0])
    ue = ch.ue_positions(center, 15e3, 10, rng)
    H = ch.comm_channels(
        q, ue, frames=isac_array_frames(q, v), params=P, rng=rng, center_ecef=center
    )
    pmax = np.array([1.0, 0.5, 2.0, 1.0, 0.8])
    W, R = matched_filter_isotropic(H, K, N, pmax, comm_fraction=0.3)
    assert np.allclose(satellite_powers(W, R, K), pmax)  # eq. (2) met with equality
    assert np.allclose(satellite_powers(W, None, K), 0.3 * pmax)
    assert np.allclose(R, np.kron(np.diag(0.7 * pmax / N), np.eye(N)))
    # every satellite's contribution to the useful term is real positive (coherent MRT)
    contrib = np.einsum(
        "mkn,kmn->mk", H.reshape(10, K, N).conj(), W.reshape(K, N, 10).transpose(0, 2, 1)
    )
    assert np.all(contrib.real > 0) and np.allclose(
        contrib.imag, 0, atol=1e-12 * np.abs(contrib).max()
    )
    Rx = transmit_covariance(W, R)
    assert np.allclose(Rx, W @ W.conj().T + R)
    sinr, rate = ch.sinr_rate(H, W, R)
    assert np.all(np.isfinite(rate)) and np.all(rate > 0)
    # single satellite, single UE: MRT SNR = P ||h||^2
    W1, R1 = matched_filter_isotropic(H[:1, :N], 1, N, 2.0, comm_fraction=1.0)
    assert np.allclose(R1, 0)
    s1, _ = ch.sinr_rate(H[:1, :N], W1, R1)
    assert s1[0] == pytest.approx(2.0 * np.linalg.norm(H[0, :N]) ** 2, rel=1e-12)
    with pytest.raises(ValueError, match="comm_fraction"):
        matched_filter_isotropic(H, K, N, pmax, comm_fraction=1.5)
