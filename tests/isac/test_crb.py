"""Closed-form CRB (seed 000 eqs. (20)-(32), (51)-(57)) against an independent
Fisher-information computation by finite differences of the noiseless echo mean.

The independent path shares NO code with twin.isac: it builds D(p) block by block
with explicit loops from positions (its own angle formulas and steering vectors),
differentiates D with respect to the position by Richardson-extrapolated central
differences (no Jacobian, no angle derivatives), treats alpha as a real nuisance
parameter and takes the Schur complement. beta is held fixed (its dependence on p
through the ranges is not part of the model's FIM, as in the seed).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from twin.isac.physics import crb as C
from twin.isac.physics.model import angles, echo_matrix, isac_array_frames, paper_beta

R_EARTH = 6378137.0  # WGS84 equatorial radius: the Walker altitude is measured from it
H_SAT = 550e3


# ---------------------------------------------------------------------------
# geometry helpers (tests only)


def _unit(lat, lon):
    return np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def random_geometry(K, rng, max_angle_deg=17.0):
    """Target on a spherical Earth, K satellites at 550 km within max_angle of it
    (17 deg geocentric keeps them above the horizon), velocities along random
    horizontal directions (7.6 km/s)."""
    lat, lon = rng.uniform(-1.0, 1.0), rng.uniform(-np.pi, np.pi)
    up = _unit(lat, lon)
    target = R_EARTH * up
    e1 = np.cross([0.0, 0.0, 1.0], up)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    sats, vels = [], []
    for _ in range(K):
        ang = np.radians(rng.uniform(0.5, max_angle_deg))
        az = rng.uniform(0, 2 * np.pi)
        u = np.cos(ang) * up + np.sin(ang) * (np.cos(az) * e1 + np.sin(az) * e2)
        sats.append((R_EARTH + H_SAT) * u)
        t = np.cross(u, rng.normal(size=3))
        vels.append(7.6e3 * t / np.linalg.norm(t))
    return np.array(sats), np.array(vels), target


# ---------------------------------------------------------------------------
# independent Fisher information by finite differences


def _indep_D(sat_pos, p, beta, nx, nz, frames):
    """D(p) built with explicit loops, own angle and steering formulas (eq. (9)-(14))."""
    K = sat_pos.shape[0]
    N = nx * nz

    def steer(k):
        d = p - sat_pos[k]
        if frames is not None:
            d = frames[k] @ d
        th = np.arccos(d[2] / np.sqrt(d @ d))
        ph = np.arctan2(d[1], d[0])
        v = np.empty(N, complex)
        for ix in range(nx):
            for iz in range(nz):
                v[ix * nz + iz] = np.exp(
                    1j * np.pi * (ix * np.cos(ph) * np.sin(th) + iz * np.cos(th))
                )
        return v / np.sqrt(N)

    a = [steer(k) for k in range(K)]
    D = np.zeros((N * K, N * K), complex)
    for u in range(K):
        for k in range(K):
            D[u * N : (u + 1) * N, k * N : (k + 1) * N] = beta[k, u] * np.outer(a[u], a[k].conj())
    return D


def fd_crb(sat_pos, p, Rx, beta, sigma2, nx, nz, alpha=1.0, frames=None, L=1, h=200.0):
    D = _indep_D(sat_pos, p, beta, nx, nz, frames)

    def cdiff(j, step):
        e = np.zeros(3)
        e[j] = step
        return (
            _indep_D(sat_pos, p + e, beta, nx, nz, frames)
            - _indep_D(sat_pos, p - e, beta, nx, nz, frames)
        ) / (2 * step)

    # Richardson: (4 c(h/2) - c(h)) / 3 cancels the h^2 term
    dD = [(4 * cdiff(j, h / 2) - cdiff(j, h)) / 3 for j in range(3)]

    def ip(X, Y):
        return np.trace(X.conj().T @ Y @ Rx).real

    c = 2 * L / sigma2
    Fpp = np.array([[c * alpha**2 * ip(dD[i], dD[j]) for j in range(3)] for i in range(3)])
    Fpa = np.array([c * alpha * ip(dD[i], D) for i in range(3)])
    Faa = c * ip(D, D)
    return np.linalg.inv(Fpp - np.outer(Fpa, Fpa) / Faa)


def _rel(Ca, Cb):
    return np.linalg.norm(Ca - Cb) / np.linalg.norm(Cb)


def _random_rx(NK, rng, rank=None):
    rank = NK if rank is None else rank
    G = (rng.normal(size=(NK, rank)) + 1j * rng.normal(size=(NK, rank))) / np.sqrt(2 * NK)
    return G @ G.conj().T


WORST = {}


@pytest.mark.parametrize("K", [3, 5, 7])
@pytest.mark.parametrize("side", [2, 4, 6])
def test_closed_form_matches_finite_difference_fim(K, side):
    rng = np.random.default_rng(100 * K + side)
    worst = 0.0
    for use_frames in (False, True):
        q, v, p = random_geometry(K, rng)
        frames = isac_array_frames(q, v) if use_frames else None
        beta = paper_beta(q, p, rng=rng)
        NK = K * side * side
        Rx = _random_rx(NK, rng)
        sigma2 = 1e-14
        alpha = 0.7
        Cc = C.location_crb(
            q, p, Rx, beta, noise_power=sigma2, nx=side, nz=side, alpha=alpha, frames=frames
        )
        Cf = fd_crb(q, p, Rx, beta, sigma2, side, side, alpha=alpha, frames=frames)
        err = _rel(Cc, Cf)
        worst = max(worst, err)
        assert err < 1e-6, (K, side, use_frames, err)
        # CRB is a covariance bound: symmetric positive definite
        assert np.all(np.linalg.eigvalsh(Cc) > 0)
    WORST[(K, side)] = worst
    print(
        f"K={K} N={side}x{side}: worst relative error closed form vs finite-difference FIM = {worst:.2e}"
    )


def test_rectangular_array_and_spacing_and_snapshots():
    """nx != nz, alpha as nuisance, L snapshots: CRB(L) = CRB(1)/L and equals the FD FIM
    with the deterministic per-snapshot mean (F = 2/sigma^2 Re sum_l dmu_l^H dmu_l)."""
    rng = np.random.default_rng(7)
    K, nx, nz = 4, 3, 2
    q, v, p = random_geometry(K, rng)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    L = 6
    X = (rng.normal(size=(K * nx * nz, L)) + 1j * rng.normal(size=(K * nx * nz, L))) / np.sqrt(2)
    Rx_sample = X @ X.conj().T / L
    sigma2 = 2e-13
    C_L = C.location_crb(
        q, p, Rx_sample, beta, noise_power=sigma2, nx=nx, nz=nz, frames=frames, snapshots=L
    )
    C_1 = C.location_crb(q, p, Rx_sample, beta, noise_power=sigma2, nx=nx, nz=nz, frames=frames)
    assert _rel(C_L * L, C_1) < 1e-12
    # sum over snapshots of the deterministic-mean FIM == FD with Rx = X X^H, L = 1
    C_fd = fd_crb(q, p, X @ X.conj().T, beta, sigma2, nx, nz, frames=frames)
    assert _rel(C_L, C_fd) < 1e-6


def test_alpha_nuisance_costs_information():
    """The Schur complement (eq. (23)) can only lose information: CRB with alpha unknown
    >= CRB with alpha known (J^T F_OmegaOmega J)^{-1} in the PSD order."""
    rng = np.random.default_rng(3)
    q, v, p = random_geometry(5, rng)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    Rx = _random_rx(5 * 16, rng, rank=3)
    Phi = C.trace_products(q, p, Rx, beta, nx=4, nz=4, frames=frames)
    F_oo = C.fim_angle_angle(Phi, alpha=1.0, noise_power=1e-14)
    J = C.angle_jacobian(q, p, frames)
    C_known = np.linalg.inv(J.T @ F_oo @ J)
    C_unknown = C.location_crb(q, p, Rx, beta, noise_power=1e-14, nx=4, nz=4, frames=frames)
    assert np.min(np.linalg.eigvalsh(C_unknown - C_known)) > -1e-9 * np.max(np.abs(C_known))


def test_derivative_matrices_match_finite_differences_of_angles():
    """Ds[i] = d D / d Omega_i by central differences in the angles themselves (checks the
    receive + transmit placement of the seed-math B.5 [R] note)."""
    rng = np.random.default_rng(11)
    K, nx, nz = 3, 3, 4
    theta = rng.uniform(0.3, 2.8, K)
    phi = rng.uniform(-3, 3, K)
    beta = rng.normal(size=(K, K)) + 1j * rng.normal(size=(K, K))
    Ds = C.angle_derivative_matrices(theta, phi, beta, nx, nz)
    h = 1e-6
    for i in range(2 * K):
        om = np.concatenate([theta, phi])
        op, omn = om.copy(), om.copy()
        op[i] += h
        omn[i] -= h
        fd = (
            echo_matrix(op[:K], op[K:], beta, nx, nz) - echo_matrix(omn[:K], omn[K:], beta, nx, nz)
        ) / (2 * h)
        assert np.max(np.abs(fd - Ds[i])) < 1e-8 * max(1.0, np.max(np.abs(Ds[i])))


def test_structured_traces_equal_dense_operators():
    """trace_products (rank-one block structure) == tr(D_i^H D_j R_x) with the dense operators
    of fim_operators (what the joint design will use)."""
    rng = np.random.default_rng(21)
    K, nx, nz = 4, 2, 3
    q, v, p = random_geometry(K, rng)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    Rx = _random_rx(K * nx * nz, rng)
    D0, Ds = C.fim_operators(q, p, beta, nx=nx, nz=nz, frames=frames)
    ops = np.concatenate([D0[None], Ds])
    dense = np.einsum("iab,jab->ij", ops.conj(), ops @ Rx)
    Phi = C.trace_products(q, p, Rx, beta, nx=nx, nz=nz, frames=frames)
    assert np.max(np.abs(Phi - dense)) < 1e-12 * np.max(np.abs(dense))
    # the isotropic shortcut of the report equals the general path
    r_iso, snr_iso = C.isotropic_rcrb_and_snr(
        q, p, beta, power_per_element=0.3, noise_power=1e-3, nx=nx, nz=nz, frames=frames
    )
    I = 0.3 * np.eye(K * nx * nz)
    assert r_iso == pytest.approx(
        C.rcrb(q, p, I, beta, noise_power=1e-3, nx=nx, nz=nz, frames=frames), rel=1e-10
    )
    assert snr_iso == pytest.approx(
        C.echo_snr(q, p, I, beta, noise_power=1e-3, nx=nx, nz=nz, frames=frames), rel=1e-10
    )
    # echo SNR is E||D x||^2 / sigma^2: check by Monte Carlo over samples x ~ CN(0, I)
    X = (
        rng.normal(size=(K * nx * nz, 20000)) + 1j * rng.normal(size=(K * nx * nz, 20000))
    ) * np.sqrt(0.3 / 2)
    mc = np.mean(np.sum(np.abs(D0 @ X) ** 2, axis=0)) / 1e-3
    assert mc == pytest.approx(snr_iso, rel=0.03)


def test_jacobian_matches_finite_differences():
    rng = np.random.default_rng(5)
    q, v, p = random_geometry(5, rng)
    for frames in (None, isac_array_frames(q, v)):
        J = C.angle_jacobian(q, p, frames)
        h = 1.0
        for j in range(3):
            e = np.zeros(3)
            e[j] = h
            tp, pp = angles(q, p + e, frames)
            tm, pm = angles(q, p - e, frames)
            fd = np.concatenate([tp - tm, np.angle(np.exp(1j * (pp - pm)))]) / (2 * h)
            assert np.max(np.abs(fd - J[:, j])) < 1e-9 * np.max(np.abs(J))


def test_crb_scales_with_noise_and_power_and_rcrb():
    rng = np.random.default_rng(9)
    q, v, p = random_geometry(5, rng)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    Rx = np.eye(80) / 16
    kw = dict(nx=4, nz=4, frames=frames)
    C1 = C.location_crb(q, p, Rx, beta, noise_power=1e-14, **kw)
    C2 = C.location_crb(q, p, 4 * Rx, beta, noise_power=2e-14, **kw)
    assert _rel(C2 * 2, C1) < 1e-10
    r = C.rcrb(q, p, Rx, beta, noise_power=1e-14, **kw)
    assert r == pytest.approx(np.sqrt(np.trace(C1)), rel=1e-12)
    # non-assisted (R only) is worse than with communication beams added on top
    W = rng.normal(size=(80, 3)) + 1j * rng.normal(size=(80, 3))
    r_assisted = C.rcrb(q, p, Rx + 0.01 * W @ W.conj().T, beta, noise_power=1e-14, **kw)
    assert r_assisted < r


def test_bad_inputs():
    rng = np.random.default_rng(1)
    q, v, p = random_geometry(3, rng)
    beta = paper_beta(q, p, rng=rng)
    with pytest.raises(ValueError, match="Rx"):
        C.location_crb(q, p, np.eye(10), beta, noise_power=1.0, nx=2, nz=2)
    with pytest.raises(ValueError, match="noise_power"):
        C.location_crb(q, p, np.eye(12), beta, noise_power=0.0, nx=2, nz=2)
    with pytest.raises(ValueError, match="F_alphaalpha"):
        C.location_crb(q, p, np.zeros((12, 12)), beta, noise_power=1.0, nx=2, nz=2)
    with pytest.raises(ValueError, match="beta"):
        C.location_crb(q, p, np.eye(12), beta[:2, :2], noise_power=1.0, nx=2, nz=2)


def test_monte_carlo_ml_attains_crb():
    """Monte Carlo vs the bound (checks the 2/sigma^2 complex-Gaussian convention the FD test
    shares): least-squares ML of (p, real alpha) from y = alpha D(p) X + CN(0, sigma^2) noise with
    fixed known samples X (L snapshots) has, at high SNR, covariance -> location_crb with
    Rx = X X^H / L and snapshots = L."""
    rng = np.random.default_rng(12)
    K, nx, nz, L = 3, 2, 2, 8
    q, v, p = random_geometry(K, rng)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    X = (rng.normal(size=(K * nx * nz, L)) + 1j * rng.normal(size=(K * nx * nz, L))) / np.sqrt(2)
    alpha = 0.9
    # noise chosen so that the RCRB is ~ 1 m: deep in the asymptotic regime of this geometry
    sigma2 = 1.0
    Cb = C.location_crb(
        q,
        p,
        X @ X.conj().T / L,
        beta,
        noise_power=sigma2,
        nx=nx,
        nz=nz,
        alpha=alpha,
        frames=frames,
        snapshots=L,
    )
    sigma2 = 1.0 / np.trace(Cb)
    Cb = Cb * sigma2
    mean = lambda pos, a: a * (echo_matrix(*angles(q, pos, frames), beta, nx, nz) @ X)  # noqa: E731

    def resid(z, y):
        r = y - mean(p + z[:3], z[3])
        return np.concatenate([r.real.ravel(), r.imag.ravel()])

    y0 = mean(p, alpha)
    errs = []
    for _ in range(300):
        y = y0 + np.sqrt(sigma2 / 2) * (rng.normal(size=y0.shape) + 1j * rng.normal(size=y0.shape))
        sol = least_squares(
            resid,
            np.array([0.0, 0.0, 0.0, alpha]),
            args=(y,),
            x_scale=[1.0, 1.0, 1.0, 1e-3],
            xtol=1e-12,
            ftol=1e-12,
        )
        errs.append(sol.x[:3])
    errs = np.array(errs)
    mse = np.mean(np.sum(errs**2, axis=1))
    print(
        f"MC ML: MSE {mse:.4f} m^2 vs tr(CRB) {np.trace(Cb):.4f} m^2 (ratio {mse / np.trace(Cb):.3f})"
    )
    assert mse == pytest.approx(np.trace(Cb), rel=0.2)
    assert np.max(np.abs(errs.mean(axis=0))) < 0.2  # unbiased at this SNR
