"""Seed 002 TDOA CRLB (eq. (3)-(7), (16)-(17), (36)) against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from twin.pnt import crlb
from twin.units import C_LIGHT

B = 50e6
REF_VAR = 1e-19

# ---- random geometries (spherical Earth, ENU look angles); also used by test_beamforming

R_EARTH_M = 6371e3
ALT_M = 600e3


def enu_basis(ut):
    """East, north, up unit vectors (3,) at an Earth-fixed point."""
    up = ut / np.linalg.norm(ut)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    north = np.cross(up, east)
    return east, north, up


def sat_at(ut, elevation_rad, azimuth_rad, alt_m=ALT_M):
    """Satellite position (3,) seen from ut at (elevation, azimuth), altitude alt_m."""
    east, north, up = enu_basis(ut)
    d = (
        np.cos(elevation_rad) * (np.sin(azimuth_rad) * east + np.cos(azimuth_rad) * north)
        + np.sin(elevation_rad) * up
    )
    r = R_EARTH_M + alt_m
    b = ut @ d
    rho = -b + np.sqrt(b * b - (ut @ ut - r * r))
    return ut + rho * d


def random_geometry(rng, n_sats=4, min_el_deg=30.0):
    """UT (3,), satellites (L, 3), reference (3,) at random look angles."""
    lat = rng.uniform(-1.0, 1.0)
    lon = rng.uniform(-np.pi, np.pi)
    ut = R_EARTH_M * np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    el = np.radians(rng.uniform(min_el_deg, 89.0, size=n_sats + 1))
    az = rng.uniform(0, 2 * np.pi, size=n_sats + 1)
    sats = np.array([sat_at(ut, e, a) for e, a in zip(el, az)])
    return ut, sats[1:], sats[0]


def fd_jacobian(ut, sats, ref, h=1.0):
    """Central finite differences of (d_i - d_0)/v w.r.t. the UT position (s/m)."""
    J = np.zeros((len(sats), 3))
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        J[:, k] = (
            crlb.tdoa_measurements(ut + e, sats, ref) - crlb.tdoa_measurements(ut - e, sats, ref)
        ) / (2 * h)
    return J


def test_toa_variance_eq3():
    sinr = np.array([1.0, 10.0, 31.6])
    got = crlb.toa_variance(sinr, B)
    assert np.allclose(got * sinr * 4 * np.pi**2 * B**2, 3.0)
    assert crlb.toa_variance(0.0, B) == np.inf
    with pytest.raises(ValueError):
        crlb.toa_variance(1.0, 0.0)
    with pytest.raises(ValueError):
        crlb.toa_variance(-1.0, B)


@pytest.mark.parametrize("seed", range(20))
def test_jacobian_and_crlb_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    ut, sats, ref = random_geometry(rng, n_sats=int(rng.integers(3, 7)))
    A = crlb.tdoa_jacobian(ut, sats, ref)
    J = fd_jacobian(ut, sats, ref)
    assert np.max(np.abs(A - J)) <= 1e-6 * np.max(np.abs(A))
    toa_var = crlb.toa_variance(10 ** rng.uniform(0.5, 2.0, size=len(sats)), B)
    R = crlb.tdoa_covariance(toa_var, REF_VAR)
    crlb_fd = np.linalg.inv(J.T @ np.linalg.inv(R) @ J)
    got = crlb.tdoa_crlb(ut, sats, ref, toa_var, REF_VAR)
    assert np.allclose(got, got.T)
    assert np.max(np.abs(got - crlb_fd)) <= 1e-6 * np.max(np.abs(crlb_fd))
    assert crlb.positioning_accuracy(ut, sats, ref, toa_var, REF_VAR) == pytest.approx(
        np.sqrt(np.trace(crlb_fd)), rel=1e-6
    )


def test_covariance_structure():
    R = crlb.tdoa_covariance(np.array([1.0, 2.0, 3.0]), 0.5)
    assert np.allclose(R, 0.5 + np.diag([1.0, 2.0, 3.0]))


def test_needs_three_satellites():
    rng = np.random.default_rng(1)
    ut, sats, ref = random_geometry(rng, n_sats=2)
    with pytest.raises(ValueError, match="at least 3"):
        crlb.tdoa_crlb(ut, sats, ref, np.ones(2) * 1e-18, REF_VAR)


def test_monte_carlo_gauss_newton_reaches_crlb():
    """Efficient estimator at high SNR: RMSE of the weighted GN fix = √tr(CRLB) within 5 %.

    T = 6000 trials. The relative standard error of the RMSE estimate is
    std(‖e‖²)/(2 √T · MSE) (delta method), ≈ 1 % here, so 5 % is > 4 standard
    errors; the test also asserts that the tolerance is at least 3 standard errors.
    """
    rng = np.random.default_rng(2024)
    ut, sats, ref = random_geometry(rng, n_sats=4, min_el_deg=40.0)
    sinr = 10 ** (np.array([20.0, 22.0, 18.0, 25.0]) / 10)
    toa_var = crlb.toa_variance(sinr, B)
    R = crlb.tdoa_covariance(toa_var, REF_VAR)
    bound = crlb.tdoa_crlb(ut, sats, ref, toa_var, REF_VAR)
    T = 6000
    noise = rng.multivariate_normal(np.zeros(4), R, size=T)
    meas = crlb.tdoa_measurements(ut, sats, ref) + noise
    x0 = ut + rng.normal(0.0, 200.0, size=(T, 3))
    est = crlb.gauss_newton_tdoa(meas, sats, ref, x0, cov=R)
    err2 = np.sum((est - ut) ** 2, axis=1)
    rmse = np.sqrt(err2.mean())
    target = np.sqrt(np.trace(bound))
    rel_se = err2.std(ddof=1) / (2 * np.sqrt(T) * err2.mean())
    print(
        f"MC: RMSE {rmse:.4f} m, sqrt(CRLB) {target:.4f} m, ratio {rmse / target:.4f}, rel. s.e. {rel_se:.4f}"
    )
    assert 3 * rel_se < 0.05
    assert abs(rmse / target - 1) < 0.05
    # The error covariance itself also matches the bound (largest entry within 10 %).
    cov = np.cov((est - ut).T)
    assert np.max(np.abs(cov - bound)) < 0.1 * np.max(np.abs(bound))


def test_gauss_newton_metres_unit_noise_free():
    rng = np.random.default_rng(3)
    ut, sats, ref = random_geometry(rng, n_sats=5)
    meas_m = C_LIGHT * crlb.tdoa_measurements(ut, sats, ref)
    est = crlb.gauss_newton_tdoa(meas_m, sats, ref, ut + np.array([3e3, -2e3, 1e3]), unit="m")
    assert np.linalg.norm(est - ut) < 1e-4


@pytest.mark.parametrize("seed", range(10))
def test_sinr_gradient_matches_finite_differences(seed):
    rng = np.random.default_rng(100 + seed)
    L = int(rng.integers(3, 6))
    ut, sats, ref = random_geometry(rng, n_sats=L)
    sinr = 10 ** rng.uniform(0.8, 1.8, size=L)
    grad = crlb.crlb_sinr_gradient(ut, sats, ref, sinr, B, REF_VAR)
    assert np.all(grad < 0)

    def trace_crlb(s):
        return np.trace(crlb.tdoa_crlb(ut, sats, ref, crlb.toa_variance(s, B), REF_VAR))

    fd = np.empty(L)
    for i in range(L):
        h = 1e-4 * sinr[i]
        up, dn = sinr.copy(), sinr.copy()
        up[i] += h
        dn[i] -= h
        fd[i] = (trace_crlb(up) - trace_crlb(dn)) / (2 * h)
    assert np.allclose(grad, fd, rtol=1e-5)


@pytest.mark.parametrize("seed", range(10))
def test_gdop_matches_least_squares_brute_force(seed):
    """GDOP² = Σ_k ‖Δx_k‖² where Δx_k is the min-norm LS position error caused by a unit
    error on range difference k (Jacobian by finite differences, lstsq solve)."""
    rng = np.random.default_rng(200 + seed)
    L = int(rng.integers(1, 7))
    ut, sats, ref = random_geometry(rng, n_sats=L)
    J = fd_jacobian(ut, sats, ref) * C_LIGHT  # unitless: metres of range difference per metre
    brute = 0.0
    for k in range(L):
        e = np.zeros(L)
        e[k] = 1.0
        dx = np.linalg.lstsq(J, e, rcond=1e-9)[0]
        brute += dx @ dx
    assert crlb.gdop(ut, sats, ref) == pytest.approx(np.sqrt(brute), rel=1e-5)


def test_gdop_equals_accuracy_with_unit_iid_errors():
    rng = np.random.default_rng(7)
    ut, sats, ref = random_geometry(rng, n_sats=4)
    # iid range-difference errors of 1 m: σ² = 1/v² s², no reference error.
    acc = crlb.positioning_accuracy(ut, sats, ref, np.full(4, 1 / C_LIGHT**2), 0.0)
    assert acc == pytest.approx(crlb.gdop(ut, sats, ref), rel=1e-9)


def test_accuracy_per_ut_matches_loop():
    rng = np.random.default_rng(11)
    I, C, L = 9, 7, 4
    ut0, _, ref = random_geometry(rng, n_sats=1)
    uts = np.array([random_geometry(np.random.default_rng(500 + c), n_sats=1)[0] for c in range(C)])
    uts = ut0 + 0.01 * (uts - uts.mean(axis=0))  # UTs within a few tens of km
    sats = np.array(
        [sat_at(ut0, np.radians(rng.uniform(40, 89)), rng.uniform(0, 2 * np.pi)) for _ in range(I)]
    )
    delta = np.zeros((I, C), dtype=bool)
    for c in range(C):
        delta[rng.choice(I, size=L, replace=False), c] = True
    delta[:, C - 1] = False
    delta[:2, C - 1] = True  # a UT with only two satellites -> inf
    sinr = 10 ** rng.uniform(1.0, 1.5, size=(I, C))
    got = crlb.accuracy_per_ut(uts, sats, ref, delta, sinr, B, REF_VAR)
    for c in range(C - 1):
        idx = np.flatnonzero(delta[:, c])
        want = crlb.positioning_accuracy(
            uts[c], sats[idx], ref, crlb.toa_variance(sinr[idx, c], B), REF_VAR
        )
        assert got[c] == pytest.approx(want, rel=1e-12)
    assert got[C - 1] == np.inf
