"""Seed 000 communication channel and rate, eqs. (3)-(8) (seed-math B.3, B.8, B.9).

Ka-band Rician satellite-to-UE channel with free-space loss, UE G/T, log-normal
rain attenuation and a multibeam-feed (Bessel) pattern, and the per-UE SINR/rate.

Conventions:

* ``H`` (M, NK): row m is the stacked channel h~_m = [h_{1,m}; ...; h_{K,m}] of
  eq. (6)-(8), satellite-major (entry k*N + n = satellite k, element n). The
  received sample of UE m is y_m = h~_m^H x (conjugate of the row times x), so the
  matched-filter beam is w_m proportional to h~_m and the useful term is |w~_m^H h~_m|^2.
* The LOS component is h^LOS = sqrt(N) a(theta_{k,m}, phi_{k,m}) with a the unit-norm
  steering vector of eq. (12) in the satellite's array frame (same convention as the
  sensing model: the field a transmit vector x produces towards (theta, phi) is a^H x).
* Channel gains are normalised by the UE noise k_B T B (eq. (4)), so the communication
  noise power is 1 (seed-math B.9).
* Element i of the array is also feed i of the multibeam pattern eq. (5); its boresight
  points at ground lattice point (i_x, i_z) of an nx x nz lattice (i_x east, i_z north in
  the local tangent plane of the service-area centre, spacing 2 H tan(eps_3dB)).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import radians

import numpy as np
from scipy.special import jv

from twin.geometry import ecef_to_geodetic, enu_basis, geocentric_nadir_point, geodetic_to_ecef
from twin.isac.physics.model import angles, complex_normal, element_indices, steering
from twin.units import C_LIGHT, K_BOLTZMANN, db_to_lin, dbm_to_w

__all__ = [
    "IsacParams",
    "bessel_feed_gain",
    "feed_boresight_points",
    "feed_off_axis_angles",
    "rain_attenuation",
    "rician_fading",
    "path_gain",
    "ue_positions",
    "comm_channels",
    "sinr_rate",
]

BESSEL_U_3DB = 2.07123  # u at which eq. (5)'s pattern is 3 dB down


@dataclass(frozen=True)
class IsacParams:
    """Seed 000 Table I/II defaults (seed-math B.8) and the B.9 choices.

    dB / dBm / degrees only in the field names that say so; use the properties for SI.
    """

    freq_hz: float = 35e9
    bandwidth_hz: float = 20e6
    g_over_t_db_per_k: float = 34.0  # UE G_m / T
    b_max_dbi: float = 16.0  # satellite feed peak gain
    eps_3db_deg: float = 0.4  # feed 3-dB angle
    rain_mu: float = -2.6  # ln(xi_dB) ~ N(mu, sigma^2)
    rain_sigma: float = 1.63
    rician_k_db: float = 10.0
    sensing_noise_dbm: float = -110.0  # sigma_n^2 of the sensing receivers
    comm_noise_power: float = 1.0  # normalised UE noise (B.9)
    p_max_dbm: float = 30.0  # per satellite
    rate_target_bps_hz: float = 2.0  # eta
    nx: int = 4
    nz: int = 4
    K: int = 5
    M: int = 10
    altitude_m: float = 550e3
    service_radius_m: float = 15e3
    spacing_wl: float = 0.5

    def __post_init__(self):
        if self.freq_hz <= 0 or self.bandwidth_hz <= 0:
            raise ValueError("freq_hz and bandwidth_hz must be > 0")
        if not 0 < self.eps_3db_deg < 90:
            raise ValueError(f"eps_3db_deg must be in (0, 90), got {self.eps_3db_deg}")
        if self.rain_sigma < 0:
            raise ValueError("rain_sigma must be >= 0")
        for name in ("nx", "nz", "K", "M"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    @property
    def N(self) -> int:
        return self.nx * self.nz

    @property
    def wavelength_m(self) -> float:
        return C_LIGHT / self.freq_hz

    @property
    def g_over_t(self) -> float:
        """G/T, linear, 1/K."""
        return float(db_to_lin(self.g_over_t_db_per_k))

    @property
    def b_max(self) -> float:
        return float(db_to_lin(self.b_max_dbi))

    @property
    def eps_3db_rad(self) -> float:
        return radians(self.eps_3db_deg)

    @property
    def rician_k(self) -> float:
        return float(db_to_lin(self.rician_k_db))

    @property
    def sensing_noise_w(self) -> float:
        return float(dbm_to_w(self.sensing_noise_dbm))

    @property
    def p_max_w(self) -> float:
        return float(dbm_to_w(self.p_max_dbm))


def bessel_feed_gain(eps_rad, *, b_max: float, eps_3db_rad: float) -> np.ndarray:
    """Multibeam feed gain, seed 000 eq. (5) with the squared exponent (seed-math B.9).

    b = b_max (J_1(u)/(2u) + 36 J_3(u)/u^3)^2, u = 2.07123 sin(eps)/sin(eps_3dB);
    the bracket tends to 1/4 + 36/48 = 1 as u -> 0, so b -> b_max on boresight, and
    b = b_max/2 at eps = eps_3dB. eps_rad: off-axis angles (...), radians. Returns (...), linear.
    """
    eps = np.asarray(eps_rad, dtype=float)
    u = BESSEL_U_3DB * np.sin(eps) / np.sin(eps_3db_rad)
    small = np.abs(u) < 1e-6
    us = np.where(small, 1.0, u)
    bracket = jv(1, us) / (2.0 * us) + 36.0 * jv(3, us) / us**3
    # series: J1(u)/(2u) = 1/4 - u^2/32 + ..., 36 J3(u)/u^3 = 3/4 - 3u^2/64 + ...
    bracket = np.where(small, 1.0 - 5.0 * u**2 / 64.0, bracket)
    return b_max * bracket**2


def _tangent_to_ground(center_ecef, east_north_m):
    """Points at east/north offsets (..., 2) m in the tangent plane of ``center_ecef``,
    dropped onto the WGS84 ellipsoid (altitude 0). Returns (..., 3) metres."""
    lat, lon, _ = ecef_to_geodetic(center_ecef)
    basis = enu_basis(lat, lon)  # rows east, north, up
    off = np.asarray(east_north_m, dtype=float)
    pts = np.asarray(center_ecef, dtype=float) + off[..., 0:1] * basis[0] + off[..., 1:2] * basis[1]
    la, lo, _ = ecef_to_geodetic(pts)
    return geodetic_to_ecef(la, lo, 0.0)


def feed_boresight_points(center_ecef, params: IsacParams = IsacParams()) -> np.ndarray:
    """Ground points the N feeds point at (seed-math B.9): an nx x nz lattice, spacing
    2 H tan(eps_3dB) (7.68 km at the defaults), centred on ``center_ecef``; feed
    i = i_x*nz + i_z sits at east offset (i_x - (nx-1)/2) s and north offset (i_z - (nz-1)/2) s.
    Returns (N, 3) Earth-fixed metres on the ellipsoid."""
    spacing = 2.0 * params.altitude_m * np.tan(params.eps_3db_rad)
    ix, iz = element_indices(params.nx, params.nz)
    en = np.stack(
        [(ix - (params.nx - 1) / 2.0) * spacing, (iz - (params.nz - 1) / 2.0) * spacing], axis=-1
    )
    return _tangent_to_ground(center_ecef, en)


def feed_off_axis_angles(sat_pos, ue_pos, feed_points) -> np.ndarray:
    """eps_{i,k,m}: angle at satellite k between feed i's boresight (towards feed_points[i])
    and UE m. sat_pos (K, 3), ue_pos (M, 3), feed_points (N, 3) metres. Returns (K, M, N) radians."""
    q = np.asarray(sat_pos, dtype=float)
    to_feed = np.asarray(feed_points, dtype=float)[None, :, :] - q[:, None, :]  # (K, N, 3)
    to_ue = np.asarray(ue_pos, dtype=float)[None, :, :] - q[:, None, :]  # (K, M, 3)
    to_feed /= np.linalg.norm(to_feed, axis=-1, keepdims=True)
    to_ue /= np.linalg.norm(to_ue, axis=-1, keepdims=True)
    cross = np.linalg.norm(np.cross(to_ue[:, :, None, :], to_feed[:, None, :, :]), axis=-1)
    dot = np.einsum("kmx,knx->kmn", to_ue, to_feed)
    return np.arctan2(cross, dot)  # accurate for tiny angles, unlike arccos


def rain_attenuation(
    shape, rng: np.random.Generator, *, mu: float = -2.6, sigma: float = 1.63
) -> np.ndarray:
    """Rain factor chi of eq. (4), one per link (seed-math B.9 reading).

    ln(xi_dB) ~ N(mu, sigma^2) (xi_dB the rain attenuation in dB), amplitude
    10^(-xi_dB/20), common phase U[0, 2 pi). Returns complex array of ``shape``.
    """
    xi_db = np.exp(mu + sigma * rng.standard_normal(shape))
    phase = rng.uniform(0.0, 2.0 * np.pi, shape)
    return 10.0 ** (-xi_db / 20.0) * np.exp(1j * phase)


def rician_fading(h_los, k_factor: float, rng: np.random.Generator) -> np.ndarray:
    """Small-scale part of eq. (3): sqrt(k/(k+1)) h_LOS + sqrt(1/(k+1)) h_NLOS, h_NLOS ~ CN(0, I).

    h_los (..., N) complex (unit-modulus entries for the default h_LOS = sqrt(N) a);
    k_factor linear Rician factor lambda_R. Returns (..., N)."""
    h_los = np.asarray(h_los, dtype=complex)
    if k_factor < 0:
        raise ValueError(f"Rician factor must be >= 0, got {k_factor}")
    return np.sqrt(k_factor / (k_factor + 1.0)) * h_los + np.sqrt(
        1.0 / (k_factor + 1.0)
    ) * complex_normal(h_los.shape, rng)


def path_gain(distance_m, params: IsacParams = IsacParams()) -> np.ndarray:
    """Noise-normalised power gain of eq. (4) without rain and feed pattern:
    (c/(4 pi f d))^2 G_m/(k_B B T) = (lambda/(4 pi d))^2 (G/T) / (k_B B). distance_m (...) m. Linear (...)."""
    d = np.asarray(distance_m, dtype=float)
    return (
        (params.wavelength_m / (4.0 * np.pi * d)) ** 2
        * params.g_over_t
        / (K_BOLTZMANN * params.bandwidth_hz)
    )


def ue_positions(center_ecef, radius_m: float, M: int, rng: np.random.Generator) -> np.ndarray:
    """M UEs uniform (in area) in the disk of ``radius_m`` around ``center_ecef`` (seed-math B.9:
    15 km at the central satellite's nadir): r = R sqrt(U), azimuth U[0, 2 pi) in the local
    tangent plane, dropped onto the WGS84 ellipsoid (altitude 0). Returns (M, 3) metres."""
    if radius_m < 0 or M < 0 or int(M) != M:
        raise ValueError(f"radius_m must be >= 0 and M a non-negative integer, got {radius_m}, {M}")
    r = radius_m * np.sqrt(rng.uniform(size=int(M)))
    az = rng.uniform(0.0, 2.0 * np.pi, size=int(M))
    return _tangent_to_ground(
        center_ecef, np.stack([r * np.cos(az), r * np.sin(az)], axis=-1)
    ).reshape(int(M), 3)


def comm_channels(
    sat_pos,
    ue_pos,
    *,
    frames=None,
    params: IsacParams = IsacParams(),
    rng: np.random.Generator,
    center_ecef=None,
) -> np.ndarray:
    """Stacked UE channels, seed 000 eqs. (3)-(5). Returns H (M, NK), row m = h~_m.

    h_{k,m} = g_{k,m} (.) (sqrt(l/(l+1)) sqrt(N) a(theta_{k,m}, phi_{k,m}) + sqrt(1/(l+1)) CN(0, I_N)),
    g_{k,m} = sqrt(path_gain(d_{k,m})) chi_{k,m} b_{k,m}^{1/2} (eq. (4)), b from eq. (5) with the
    feed lattice of :func:`feed_boresight_points` centred on ``center_ecef`` (default: the
    geocentric nadir point of satellite 0, the central). sat_pos (K, 3), ue_pos (M, 3) Earth-fixed
    metres; frames (K, 3, 3) array frames (None = Earth-fixed axes). UE noise normalised to 1:
    y_m = h~_m^H x + n_m with n_m ~ CN(0, 1).
    """
    q = np.asarray(sat_pos, dtype=float)
    ue = np.asarray(ue_pos, dtype=float)
    if q.ndim != 2 or q.shape[1] != 3 or ue.ndim != 2 or ue.shape[1] != 3:
        raise ValueError(
            f"sat_pos must be (K, 3) and ue_pos (M, 3) metres, got {q.shape}, {ue.shape}"
        )
    K, M, N = q.shape[0], ue.shape[0], params.N
    center = (
        geocentric_nadir_point(q[0])
        if center_ecef is None
        else np.asarray(center_ecef, dtype=float)
    )
    feeds = feed_boresight_points(center, params)
    eps = feed_off_axis_angles(q, ue, feeds)  # (K, M, N)
    b = bessel_feed_gain(eps, b_max=params.b_max, eps_3db_rad=params.eps_3db_rad)
    d = np.linalg.norm(ue[None, :, :] - q[:, None, :], axis=-1)  # (K, M)
    chi = rain_attenuation((K, M), rng, mu=params.rain_mu, sigma=params.rain_sigma)
    g = np.sqrt(path_gain(d, params))[..., None] * chi[..., None] * np.sqrt(b)  # (K, M, N)
    theta, phi = angles(q, ue, frames)  # (M, K)
    h_los = np.sqrt(N) * steering(theta, phi, params.nx, params.nz, params.spacing_wl)  # (M, K, N)
    h = g.transpose(1, 0, 2) * rician_fading(h_los, params.rician_k, rng)  # (M, K, N)
    return h.reshape(M, K * N)


def sinr_rate(H, W, R=None, noise_power: float = 1.0):
    """Per-UE SINR and rate, seed 000 eq. (8).

    sinr_i = |w~_i^H h~_i|^2 / (sum_{m != i} |w~_m^H h~_i|^2 + h~_i^H R h~_i + sigma_i^2),
    rate_i = log2(1 + sinr_i) in bit/s/Hz. H (M, NK) rows h~_m; W (NK, M) beams (column m for
    UE m); R: None, sensing waveform r~ (NK,) (term |r~^H h~_i|^2) or covariance (NK, NK);
    noise_power sigma_i^2 (scalar or (M,)), 1 for the normalised channels of :func:`comm_channels`.
    Returns (sinr (M,), rate_bps_hz (M,)).
    """
    Hm = np.asarray(H, dtype=complex)
    Wm = np.asarray(W, dtype=complex)
    if Hm.ndim != 2 or Wm.ndim != 2 or Wm.shape != (Hm.shape[1], Hm.shape[0]):
        raise ValueError(f"H must be (M, NK) and W (NK, M), got {Hm.shape} and {Wm.shape}")
    S = np.abs(Hm.conj() @ Wm) ** 2  # S[i, m] = |h_i^H w_m|^2
    useful = np.diag(S)
    interference = S.sum(axis=1) - useful
    if R is None:
        sensing = 0.0
    else:
        Rm = np.asarray(R, dtype=complex)
        if Rm.shape == (Hm.shape[1],):
            sensing = np.abs(Hm.conj() @ Rm) ** 2
        elif Rm.shape == (Hm.shape[1],) * 2:
            sensing = np.einsum("in,nm,im->i", Hm.conj(), Rm, Hm).real
        else:
            raise ValueError(f"R must be (NK,) or (NK, NK) with NK = {Hm.shape[1]}, got {Rm.shape}")
    noise = np.asarray(noise_power, dtype=float)
    if np.any(noise < 0):
        raise ValueError("noise_power must be >= 0")
    sinr = useful / (interference + sensing + noise)
    return sinr, np.log2(1.0 + sinr)
