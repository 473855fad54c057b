"""Sensing model of seed 000 (eqs. (9)-(14)): angles, steering vectors, beta models,
echo matrix / structured echo, transmitted samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.isac.physics import model as M
from twin.units import C_LIGHT

R_E = 6378137.0


def _geometry(rng, K=5, P=None):
    up = np.array([0.3, -0.5, 0.8])
    up /= np.linalg.norm(up)
    target = R_E * up
    sats = (R_E + 550e3) * (up + 0.15 * rng.normal(size=(K, 3)))
    sats = (R_E + 550e3) * sats / np.linalg.norm(sats, axis=1, keepdims=True)
    vel = np.cross(sats, rng.normal(size=(K, 3)))
    vel = 7.6e3 * vel / np.linalg.norm(vel, axis=1, keepdims=True)
    pts = target if P is None else target + rng.uniform(-500, 500, size=P + (3,))
    return sats, vel, pts


def test_element_indices_and_kronecker_order():
    ix, iz = M.element_indices(3, 4)
    assert ix.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert iz.tolist() == [0, 1, 2, 3] * 3
    th, ph = 1.1, -0.7
    ax = np.exp(1j * np.pi * np.arange(3) * np.cos(ph) * np.sin(th)) / np.sqrt(3)
    az = np.exp(1j * np.pi * np.arange(4) * np.cos(th)) / np.sqrt(4)
    assert np.allclose(M.steering(th, ph, 3, 4), np.kron(ax, az), atol=1e-15)
    with pytest.raises(ValueError, match="nx"):
        M.element_indices(0, 3)


def test_steering_norm_shape_spacing_and_derivatives():
    rng = np.random.default_rng(0)
    th = rng.uniform(0, np.pi, (4, 5))
    ph = rng.uniform(-np.pi, np.pi, (4, 5))
    a = M.steering(th, ph, 4, 3)
    assert a.shape == (4, 5, 12)
    assert np.allclose(np.linalg.norm(a, axis=-1), 1.0)
    # spacing d = lambda gives phases 2 pi (...)
    a1 = M.steering(th, ph, 4, 3, spacing_wl=1.0)
    ix, iz = M.element_indices(4, 3)
    expect = np.exp(
        2j
        * np.pi
        * (ix * np.cos(ph[..., None]) * np.sin(th[..., None]) + iz * np.cos(th[..., None]))
    ) / np.sqrt(12)
    assert np.allclose(a1, expect)
    a0, dth, dph = M.steering_derivatives(th, ph, 4, 3)
    assert np.allclose(a0, a)
    h = 1e-6
    fd_th = (M.steering(th + h, ph, 4, 3) - M.steering(th - h, ph, 4, 3)) / (2 * h)
    fd_ph = (M.steering(th, ph + h, 4, 3) - M.steering(th, ph - h, 4, 3)) / (2 * h)
    assert np.max(np.abs(fd_th - dth)) < 1e-9
    assert np.max(np.abs(fd_ph - dph)) < 1e-9


def test_angles_match_printed_case_split():
    """eq. (9)-(10) as printed (arctan + pi indicator, with the B.4 correction p^y > q^y)."""
    rng = np.random.default_rng(1)
    sats, _, pts = _geometry(rng, K=4, P=(7,))
    pts = pts + rng.normal(size=pts.shape) * 3e6  # all octants
    theta, phi = M.angles(sats, pts)
    assert theta.shape == phi.shape == (7, 4)
    d = pts[:, None, :] - sats[None]
    rho = np.hypot(d[..., 0], d[..., 1])
    th_print = np.arctan(rho / d[..., 2]) + np.pi * (d[..., 2] < 0)
    ph_print = (
        np.arctan(d[..., 1] / d[..., 0])
        + np.pi * ((d[..., 0] < 0) & (d[..., 1] > 0))
        - np.pi * ((d[..., 0] < 0) & (d[..., 1] < 0))
    )
    assert np.allclose(theta, th_print, atol=1e-12)
    assert np.allclose(phi, ph_print, atol=1e-12)


def test_angles_with_frames_rotate_delta():
    rng = np.random.default_rng(2)
    sats, vel, pts = _geometry(rng, K=3, P=(2, 4))
    frames = M.isac_array_frames(sats, vel)
    theta, phi = M.angles(sats, pts, frames)
    for k in range(3):
        d = (pts - sats[k]) @ frames[k].T
        assert np.allclose(theta[..., k], np.arccos(d[..., 2] / np.linalg.norm(d, axis=-1)))
        assert np.allclose(phi[..., k], np.arctan2(d[..., 1], d[..., 0]))
    with pytest.raises(ValueError, match="frames"):
        M.angles(sats, pts, frames[:2])


def test_isac_array_frames_body_convention():
    rng = np.random.default_rng(3)
    sats, vel, _ = _geometry(rng, K=6)
    F = M.isac_array_frames(sats, vel)
    assert np.allclose(F @ F.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(F), 1.0)
    nadir = -sats / np.linalg.norm(sats, axis=1, keepdims=True)
    assert np.allclose(F[:, 1], nadir)  # boresight body y = geocentric nadir
    assert np.all(np.einsum("ki,ki->k", F[:, 0], vel) > 0)  # x along-track
    assert np.allclose(np.einsum("ki,ki->k", F[:, 0], nadir), 0.0, atol=1e-12)
    # the geocentric sub-satellite point is broadside: theta = phi = pi/2, equal phases
    sub = sats + 550e3 * nadir
    th, ph = M.angles(sats, sub, F)
    assert np.allclose(np.diag(th), np.pi / 2) and np.allclose(np.diag(ph), np.pi / 2)
    a = M.steering(np.diag(th), np.diag(ph), 4, 4)
    assert np.allclose(a, 0.25)


def test_paper_and_radar_beta():
    rng = np.random.default_rng(4)
    sats, _, p = _geometry(rng, K=4)
    d = np.linalg.norm(sats - p, axis=1)
    ph = rng.uniform(0, 2 * np.pi, (4, 4))
    b = M.paper_beta(sats, p, phases=ph, beta_ref=2.0, altitude_ref_m=600e3)
    assert np.allclose(np.abs(b), 2.0 * 600e3**2 / np.outer(d, d))
    assert np.allclose(np.angle(b * np.exp(-1j * ph)), 0.0)
    lam = C_LIGHT / 35e9
    r = M.radar_beta(sats, p, rcs_m2=10.0, wavelength_m=lam, tx_gain=16.0, rx_gain=20.0, phases=ph)
    # received power of the bistatic radar equation with P_t = 1 W, k -> u
    k, u = 1, 3
    p_rx = 1.0 * 16.0 * 20.0 * lam**2 * 10.0 / ((4 * np.pi) ** 3 * d[k] ** 2 * d[u] ** 2)
    assert abs(r[k, u]) ** 2 == pytest.approx(p_rx, rel=1e-12)
    assert np.allclose(
        M.reflection_coefficients("paper", sats, p, phases=ph), M.paper_beta(sats, p, phases=ph)
    )
    b1 = M.reflection_coefficients("radar", sats, p, rng=np.random.default_rng(5))
    b2 = M.radar_beta(sats, p, rng=np.random.default_rng(5))
    assert np.allclose(b1, b2)
    with pytest.raises(ValueError, match="allowed"):
        M.reflection_coefficients("swerling", sats, p, phases=ph)
    with pytest.raises(ValueError, match="phases"):
        M.paper_beta(sats, p)


def _loop_D(theta, phi, beta, nx, nz):
    K = theta.shape[-1]
    N = nx * nz
    D = np.zeros((K * N, K * N), complex)
    for u in range(K):
        for k in range(K):
            au = M.steering(theta[u], phi[u], nx, nz)
            ak = M.steering(theta[k], phi[k], nx, nz)
            D[u * N : (u + 1) * N, k * N : (k + 1) * N] = beta[k, u] * np.outer(au, ak.conj())
    return D


def test_echo_matrix_blocks_and_apply():
    rng = np.random.default_rng(6)
    K, nx, nz = 4, 3, 2
    th = rng.uniform(0, np.pi, (2, 3, K))
    ph = rng.uniform(-np.pi, np.pi, (2, 3, K))
    beta = rng.normal(size=(K, K)) + 1j * rng.normal(size=(K, K))  # not symmetric
    D = M.echo_matrix(th, ph, beta, nx, nz)
    assert D.shape == (2, 3, K * nx * nz, K * nx * nz)
    assert np.allclose(D[1, 2], _loop_D(th[1, 2], ph[1, 2], beta, nx, nz))
    x = rng.normal(size=(K * nx * nz, 5)) + 1j * rng.normal(size=(K * nx * nz, 5))
    y = M.echo_apply(th, ph, beta, x, nx, nz)
    assert y.shape == (2, 3, K * nx * nz, 5)
    assert np.max(np.abs(y - D @ x)) < 1e-13
    y1 = M.echo_apply(th[0, 0], ph[0, 0], beta, x[:, 0], nx, nz)
    assert y1.shape == (K * nx * nz,)
    assert np.allclose(y1, D[0, 0] @ x[:, 0])
    with pytest.raises(ValueError, match="x must"):
        M.echo_apply(th, ph, beta, x[:-1], nx, nz)
    with pytest.raises(ValueError, match="beta"):
        M.echo_matrix(th, ph, beta[:3, :3], nx, nz)


def test_echo_noise_statistics_and_mean():
    rng = np.random.default_rng(7)
    sats, vel, p = _geometry(rng, K=3)
    frames = M.isac_array_frames(sats, vel)
    beta = M.paper_beta(sats, p, rng=rng)
    x = M.transmit_samples(None, np.eye(3 * 4) / 4, 4000, rng)
    s2 = 0.05
    y = M.echo(sats, p, beta, x, alpha=0.8, noise_power=s2, nx=2, nz=2, frames=frames, rng=rng)
    th, ph = M.angles(sats, p, frames)
    n = y - 0.8 * M.echo_matrix(th, ph, beta, 2, 2) @ x
    assert np.mean(np.abs(n) ** 2) == pytest.approx(s2, rel=0.03)
    assert abs(np.mean(n**2)) < 0.03 * s2  # circular: E[n^2] = 0
    assert abs(np.mean(n)) < 0.01


def test_transmit_samples_covariance():
    rng = np.random.default_rng(8)
    NK, Mu, L = 6, 2, 200000
    W = (rng.normal(size=(NK, Mu)) + 1j * rng.normal(size=(NK, Mu))) / 3
    G = rng.normal(size=(NK, 3)) + 1j * rng.normal(size=(NK, 3))
    R = G @ G.conj().T / 5  # rank 3
    x = M.transmit_samples(W, R, L, rng)
    S = x @ x.conj().T / L
    target = W @ W.conj().T + R
    assert np.max(np.abs(S - target)) < 0.02 * np.max(np.abs(target))
    r = G[:, 0] / 2
    x = M.transmit_samples(W, r, L, rng)
    S = x @ x.conj().T / L
    target = W @ W.conj().T + np.outer(r, r.conj())
    assert np.max(np.abs(S - target)) < 0.02 * np.max(np.abs(target))
    with pytest.raises(ValueError, match="positive semidefinite"):
        M.transmit_samples(None, -np.eye(NK), 3, rng)
    with pytest.raises(ValueError, match="L must"):
        M.transmit_samples(W, None, 0, rng)


def test_radar_beta_is_a_constant_multiple_of_paper_beta():
    """Both models scale as 1/(d_k d_u): radar = c * paper with one constant (docs/isac-physics.md
    relies on this to scale every CRB with a single SNR)."""
    rng = np.random.default_rng(9)
    sats, _, p = _geometry(rng, K=5)
    ph = rng.uniform(0, 2 * np.pi, (5, 5))
    ratio = M.radar_beta(sats, p, phases=ph) / M.paper_beta(sats, p, phases=ph)
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-12)
    lam = C_LIGHT / 35e9
    assert ratio[0, 0].real == pytest.approx(
        np.sqrt(16 * 16 * lam**2 * 10 / (4 * np.pi) ** 3) / 550e3**2, rel=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(
    K=st.integers(1, 4),
    nx=st.integers(1, 4),
    nz=st.integers(1, 3),
    L=st.integers(1, 3),
    P=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_echo_apply_equals_dense_for_any_shape(K, nx, nz, L, P, seed):
    rng = np.random.default_rng(seed)
    th = rng.uniform(0, np.pi, (P, K))
    ph = rng.uniform(-np.pi, np.pi, (P, K))
    beta = rng.normal(size=(K, K)) + 1j * rng.normal(size=(K, K))
    x = rng.normal(size=(K * nx * nz, L)) + 1j * rng.normal(size=(K * nx * nz, L))
    D = M.echo_matrix(th, ph, beta, nx, nz)
    y = M.echo_apply(th, ph, beta, x, nx, nz)
    assert y.shape == (P, K * nx * nz, L)
    assert np.max(np.abs(y - D @ x)) <= 1e-12 * (1 + np.max(np.abs(D @ x)))
