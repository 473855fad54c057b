"""Seed 000 sensing model: steering vectors, angles, reflection coefficients and the echo.

UPA steering vectors, angles, reflection coefficients and the cooperative echo (eqs. (9)-(14)
of seed 000, restated in ``seed-math.md`` B.4 and B.9), and the input checks they share.

Conventions (SI everywhere):

* Positions are Earth-fixed metres, xyz last: ``sat_pos`` (K, 3), points (..., 3).
* Each satellite carries an ``nx x nz`` uniform planar array, N = nx*nz elements;
  element n = i_x*nz + i_z with i_x in 0..nx-1, i_z in 0..nz-1 (eq. (12), indices
  from 0, Kronecker order a_x (x) a_z).
* Stacked vectors are satellite-major: entry k*N + n belongs to satellite k,
  element n. Length NK.
* ``beta[k, u]`` is the reflection coefficient from TRANSMITTER k to RECEIVER u
  (eq. (11)); it is not symmetric in general (independent phases).
* ``frames`` (K, 3, 3): row i of ``frames[k]`` is the Earth-fixed unit vector of
  array axis i of satellite k, so ``frames[k] @ delta`` gives array-frame
  components. ``None`` means the identity (Earth-fixed axes, as printed in the
  seed). The default body frame (seed-math B.9) is :func:`isac_array_frames`.
"""

from __future__ import annotations

import numpy as np

from twin.geometry import nadir_frames
from twin.units import C_LIGHT

__all__ = [
    "element_indices",
    "angles",
    "steering",
    "steering_derivatives",
    "isac_array_frames",
    "paper_beta",
    "radar_beta",
    "reflection_coefficients",
    "echo_matrix",
    "echo_apply",
    "echo",
    "transmit_samples",
    "complex_normal",
    "as_positions",
    "check_frames",
    "check_beta",
]


# ---------------------------------------------------------------------------
# small helpers


def complex_normal(shape, rng: np.random.Generator, variance: float = 1.0) -> np.ndarray:
    """Circularly-symmetric complex Gaussian samples CN(0, variance), array of ``shape``."""
    scale = np.sqrt(variance / 2.0)
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def _check_array_size(nx, nz):
    for name, value in (("nx", nx), ("nz", nz)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(nx), int(nz)


def as_positions(x, name, lead=None):
    """``x`` as a float array of Earth-fixed positions (..., 3) m (``lead`` + 1 dimensions when
    given), finite; ValueError naming ``name`` otherwise."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3) in Earth-fixed metres, got {arr.shape}")
    if lead is not None and arr.ndim != lead + 1:
        raise ValueError(f"{name} must have {lead + 1} dimensions (..., 3), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def check_frames(frames, K):
    """Array frames as a float (K, 3, 3) array, or None (Earth-fixed axes); ValueError otherwise."""
    if frames is None:
        return None
    fr = np.asarray(frames, dtype=float)
    if fr.shape != (K, 3, 3):
        raise ValueError(f"frames must have shape (K, 3, 3) = ({K}, 3, 3), got {fr.shape}")
    return fr


# ---------------------------------------------------------------------------
# array geometry


def element_indices(nx: int, nz: int) -> tuple[np.ndarray, np.ndarray]:
    """Element index pair of each UPA element, seed 000 eq. (12).

    Returns ``(ix, iz)``, each int array (N,), N = nx*nz, with element
    n = ix[n]*nz + iz[n]; indices start at 0 (seed-math B.4 correction).
    """
    nx, nz = _check_array_size(nx, nz)
    n = np.arange(nx * nz)
    return n // nz, n % nz


def angles(sat_pos, points, frames=None) -> tuple[np.ndarray, np.ndarray]:
    """Polar and azimuth angles of ``points`` seen from each satellite, seed 000 eqs. (9)-(10).

    sat_pos: (K, 3) Earth-fixed metres. points: (..., 3) Earth-fixed metres.
    frames: optional (K, 3, 3) array frames (rows = array axes in Earth-fixed
    coordinates); Delta = p - q_k is rotated as ``frames[k] @ Delta``. None =
    Earth-fixed axes as printed in the seed.

    Returns ``(theta, phi)`` in radians, each (..., K):
    theta = arccos(Delta_z / |Delta|) in [0, pi], phi = atan2(Delta_y, Delta_x) in (-pi, pi]
    (atan2 replaces the seed's case split, seed-math B.4 [C]).
    """
    q = as_positions(sat_pos, "sat_pos", lead=1)
    p = as_positions(points, "points")
    fr = check_frames(frames, q.shape[0])
    delta = p[..., None, :] - q  # (..., K, 3)
    if fr is not None:
        delta = np.einsum("kij,...kj->...ki", fr, delta)
    dist = np.linalg.norm(delta, axis=-1)
    if np.any(dist == 0.0):
        raise ValueError("a point coincides with a satellite position; angles are undefined")
    theta = np.arccos(np.clip(delta[..., 2] / dist, -1.0, 1.0))
    phi = np.arctan2(delta[..., 1], delta[..., 0])
    return theta, phi


def _phase_terms(theta, phi, nx, nz, spacing_wl):
    ix, iz = element_indices(nx, nz)
    th = np.asarray(theta, dtype=float)[..., None]
    ph = np.asarray(phi, dtype=float)[..., None]
    k = 2.0 * np.pi * float(spacing_wl)
    return ix, iz, th, ph, k


def steering(theta, phi, nx: int, nz: int, spacing_wl: float = 0.5) -> np.ndarray:
    """UPA steering vector, seed 000 eq. (12).

    a(theta, phi)[n] = N^{-1/2} exp(j 2 pi d/lambda (i_x cos(phi) sin(theta) + i_z cos(theta))),
    n = i_x*nz + i_z. theta, phi: radians, broadcastable arrays (...).
    spacing_wl: element spacing d/lambda (0.5 = half wavelength, the seed's default).
    Returns complex (..., N), unit norm.
    """
    nx, nz = _check_array_size(nx, nz)
    k = 2.0 * np.pi * float(spacing_wl)
    th = np.asarray(theta, dtype=float)[..., None]
    ph = np.asarray(phi, dtype=float)[..., None]
    # Kronecker form of eq. (12): a = a_x (x) a_z, nx + nz complex exponentials per direction
    px = (k * np.cos(ph) * np.sin(th)) * np.arange(nx)
    pz = (k * np.cos(th)) * np.arange(nz)
    ax = np.cos(px) + 1j * np.sin(px)
    az = np.cos(pz) + 1j * np.sin(pz)
    a = ax[..., :, None] * az[..., None, :]
    return a.reshape(a.shape[:-2] + (nx * nz,)) / np.sqrt(nx * nz)


def steering_derivatives(theta, phi, nx: int, nz: int, spacing_wl: float = 0.5):
    """Steering vector and its partial derivatives (seed-math B.5), from eq. (12).

    da/dtheta = j 2 pi d/lambda (i_x cos(phi) cos(theta) - i_z sin(theta)) * a,
    da/dphi   = -j 2 pi d/lambda i_x sin(phi) sin(theta) * a.
    Returns ``(a, da_dtheta, da_dphi)``, each complex (..., N) (per radian).
    """
    ix, iz, th, ph, k = _phase_terms(theta, phi, nx, nz, spacing_wl)
    a = steering(theta, phi, nx, nz, spacing_wl)
    da_dtheta = 1j * k * (ix * np.cos(ph) * np.cos(th) - iz * np.sin(th)) * a
    da_dphi = -1j * k * ix * np.sin(ph) * np.sin(th) * a
    return a, da_dtheta, da_dphi


def isac_array_frames(sat_pos, sat_vel) -> np.ndarray:
    """Array (body) frames of the ISAC satellites, seed-math B.9 default.

    The array lies in the body x-z plane, boresight = body y = geocentric nadir,
    x = along-track. From :func:`twin.geometry.nadir_frames`
    (rows x_along, y = z x x, z_nadir; Earth-fixed velocity as given) the array
    frame rows are (x_along, z_nadir, -y), a right-handed orthonormal triad.
    A target at the sub-satellite point then has theta = pi/2, phi = pi/2 and the
    steering vector is all-equal-phase (broadside).

    sat_pos, sat_vel: (K, 3) Earth-fixed metres, metres/second.
    Returns (K, 3, 3), rows = array axes as Earth-fixed unit vectors.
    """
    q = as_positions(sat_pos, "sat_pos", lead=1)
    v = as_positions(sat_vel, "sat_vel", lead=1)
    if v.shape != q.shape:
        raise ValueError(f"sat_vel shape {v.shape} must match sat_pos shape {q.shape}")
    nf = np.asarray(nadir_frames(q, v), dtype=float)
    return np.stack([nf[:, 0, :], nf[:, 2, :], -nf[:, 1, :]], axis=1)


# ---------------------------------------------------------------------------
# reflection coefficients beta[k, u] (transmitter k -> target -> receiver u)


def _phases(K, phases, rng):
    if phases is not None:
        ph = np.asarray(phases, dtype=float)
        if ph.shape != (K, K):
            raise ValueError(f"phases must have shape (K, K) = ({K}, {K}) radians, got {ph.shape}")
        return ph
    if rng is None:
        raise ValueError(
            "give either phases (K, K) radians or rng (numpy Generator) for the beta phases"
        )
    return rng.uniform(0.0, 2.0 * np.pi, size=(K, K))


def _ranges(sat_pos, target):
    q = as_positions(sat_pos, "sat_pos", lead=1)
    p = as_positions(target, "target", lead=0)
    d = np.linalg.norm(q - p, axis=-1)
    if np.any(d == 0.0):
        raise ValueError("target coincides with a satellite")
    return d


def paper_beta(
    sat_pos, target, *, altitude_ref_m: float = 550e3, beta_ref: float = 1.0, phases=None, rng=None
) -> np.ndarray:
    """Seed-math B.9 "paper" reflection-coefficient model (seed 000 gives none).

    beta[k, u] = beta_ref * H^2 / (d_k d_u) * exp(j phi_{k,u}),
    d_k = |q_k - p| (metres), H = ``altitude_ref_m``; so a satellite at range H
    sees |beta| = beta_ref. Phases ``phases`` (K, K) radians, or drawn i.i.d.
    U[0, 2 pi) from ``rng``; they are known to the receiver.
    This is a dimensionless normalised gain, NOT a physical link budget
    (see docs/isac-physics.md, echo SNR section).
    Returns complex (K, K), [transmitter k, receiver u].
    """
    d = _ranges(sat_pos, target)
    if altitude_ref_m <= 0 or beta_ref < 0:
        raise ValueError("altitude_ref_m must be > 0 and beta_ref >= 0")
    amp = beta_ref * altitude_ref_m**2 / np.outer(d, d)
    return amp * np.exp(1j * _phases(d.size, phases, rng))


def radar_beta(
    sat_pos,
    target,
    *,
    rcs_m2: float = 10.0,
    wavelength_m: float = C_LIGHT / 35e9,
    tx_gain: float = 16.0,
    rx_gain: float = 16.0,
    phases=None,
    rng=None,
) -> np.ndarray:
    """Physical bistatic radar-equation reflection coefficients.

    |beta[k, u]| = sqrt(G_t G_r lambda^2 sigma / ((4 pi)^3 d_k^2 d_u^2)), dimensionless
    amplitude gain from transmit power to received power:
    P_rx = P_tx G_t G_r lambda^2 sigma / ((4 pi)^3 d_k^2 d_u^2) (bistatic radar equation).

    * ``rcs_m2`` sigma: bistatic radar cross-section of the target, m^2.
    * ``wavelength_m`` lambda = c / f (default f = 35 GHz, seed 000 Table II).
    * ``tx_gain``, ``rx_gain``: linear FULL-ARRAY gains G_t, G_r toward the target
      (array gain N times element gain). The steering vectors of eq. (12) are unit
      norm, so the array gain is not counted again by the model: with
      x_k = sqrt(P) a_k the matched-filter output at receiver u has SNR
      |beta|^2 P / sigma_n^2, which equals the radar equation with these gains and
      per-element noise power sigma_n^2 = k_B T B. Default 16 = 4x4 array of
      isotropic elements (12.0 dBi).
    * Noise temperature and bandwidth enter via ``noise_power`` (k_B T B) of the
      echo / CRB, and coherent integration over L = B * T_cpi snapshots via the
      number of snapshots (FIM x L); they are not part of beta.
    * Phases ``phases`` (K, K) radians or i.i.d. U[0, 2 pi) from ``rng``.
    Returns complex (K, K), [transmitter k, receiver u].
    """
    d = _ranges(sat_pos, target)
    if rcs_m2 < 0 or wavelength_m <= 0 or tx_gain <= 0 or rx_gain <= 0:
        raise ValueError("rcs_m2 must be >= 0 and wavelength_m, tx_gain, rx_gain > 0")
    amp = np.sqrt(tx_gain * rx_gain * wavelength_m**2 * rcs_m2 / (4.0 * np.pi) ** 3) / np.outer(
        d, d
    )
    return amp * np.exp(1j * _phases(d.size, phases, rng))


def reflection_coefficients(model: str, sat_pos, target, **kwargs) -> np.ndarray:
    """beta (K, K) [transmitter k, receiver u] from the chosen model.

    model: ``"paper"`` (:func:`paper_beta`, seed-math B.9 default) or ``"radar"``
    (:func:`radar_beta`, physical bistatic radar equation). kwargs go to that function.
    """
    if model == "paper":
        return paper_beta(sat_pos, target, **kwargs)
    if model == "radar":
        return radar_beta(sat_pos, target, **kwargs)
    raise ValueError(f"unknown beta model {model!r}; allowed: 'paper', 'radar'")


# ---------------------------------------------------------------------------
# echo


def check_beta(beta, K):
    """beta as a complex (K, K) array [transmitter, receiver]; ValueError on another shape."""
    b = np.asarray(beta)
    if b.shape != (K, K):
        raise ValueError(
            f"beta must have shape (K, K) = ({K}, {K}) [transmitter, receiver], got {b.shape}"
        )
    return b.astype(complex)


def echo_matrix(theta, phi, beta, nx: int, nz: int, spacing_wl: float = 0.5) -> np.ndarray:
    """Cooperative echo matrix D = A (.) B, seed 000 eqs. (13)-(14) (seed-math B.4 blockwise form).

    theta, phi: (..., K) radians (angles of the target seen by each satellite,
    in its array frame). beta: (K, K) [transmitter k, receiver u].
    Block (u, k) of D (rows u*N.., columns k*N..) is beta[k, u] a(theta_u, phi_u) a^H(theta_k, phi_k).
    Returns complex (..., NK, NK).
    """
    a = steering(theta, phi, nx, nz, spacing_wl)  # (..., K, N)
    K, N = a.shape[-2], a.shape[-1]
    b = check_beta(beta, K)
    blocks = b.T[:, None, :, None] * a[..., :, :, None, None] * np.conj(a)[..., None, None, :, :]
    return blocks.reshape(a.shape[:-2] + (K * N, K * N))


def echo_apply(theta, phi, beta, x, nx: int, nz: int, spacing_wl: float = 0.5) -> np.ndarray:
    """D(theta, phi) @ x without forming D (hot path of the likelihood).

    Uses block u of D x = a_u * sum_k beta[k, u] (a_k^H x_k), seed 000 eq. (11).
    theta, phi: (..., K) radians; beta (K, K); x: (NK,) or (NK, L) complex.
    Returns (..., NK) or (..., NK, L), matching x. Cost O(P K N L + P K^2 L) for
    P leading points, versus O(P (NK)^2 L) with the dense matrix.
    """
    a = steering(theta, phi, nx, nz, spacing_wl)  # (..., K, N)
    K, N = a.shape[-2], a.shape[-1]
    b = check_beta(beta, K)
    xx = np.asarray(x)
    vector = xx.ndim == 1
    if vector:
        xx = xx[:, None]
    if xx.ndim != 2 or xx.shape[0] != K * N:
        raise ValueError(f"x must have shape (NK,) or (NK, L) with NK = {K * N}, got {np.shape(x)}")
    xk = xx.reshape(K, N, -1)  # (K, N, L)
    L = xk.shape[-1]
    lead = a.shape[:-2]
    a2 = a.reshape((-1, K, N))  # (P, K, N)
    # c[k, p, l] = a_k^H x_k: one batched matmul per satellite, (K, P, N) @ (K, N, L)
    c = np.matmul(np.ascontiguousarray(np.conj(a2).transpose(1, 0, 2)), xk)  # (K, P, L)
    z = (b.T @ c.reshape(K, -1)).reshape(K, -1, L)  # z[u] = sum_k beta[k, u] c[k]
    out = a2[:, :, :, None] * z.transpose(1, 0, 2)[:, :, None, :]  # (P, K, N, L)
    out = out.reshape(lead + (K * N, L))
    return out[..., 0] if vector else out


def echo(
    sat_pos,
    target,
    beta,
    x,
    *,
    alpha: float = 1.0,
    noise_power: float,
    nx: int,
    nz: int,
    frames=None,
    rng: np.random.Generator,
    spacing_wl: float = 0.5,
) -> np.ndarray:
    """Noisy stacked echo at all K satellites, seed 000 eqs. (11)/(14).

    y = alpha D(p) x + n, n ~ CN(0, noise_power I_NK) i.i.d. per snapshot.
    sat_pos (K, 3), target (3,) Earth-fixed metres; beta (K, K); x (NK, L) transmitted
    samples (e.g. from :func:`transmit_samples`), in sqrt(W); noise_power in W
    (per element, per snapshot). Returns complex (NK, L) (or (NK,) for x (NK,)).
    """
    if noise_power < 0:
        raise ValueError(f"noise_power must be >= 0 W, got {noise_power}")
    theta, phi = angles(sat_pos, target, frames)
    mean = alpha * echo_apply(theta, phi, beta, x, nx, nz, spacing_wl)
    return mean + complex_normal(mean.shape, rng, noise_power)


def _psd_sqrt(R):
    R = np.asarray(R, dtype=complex)
    Rh = 0.5 * (R + R.conj().T)
    w, U = np.linalg.eigh(Rh)
    scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
    if np.min(w, initial=0.0) < -1e-9 * scale:
        raise ValueError(
            f"sensing covariance is not positive semidefinite (min eigenvalue {np.min(w):.3g})"
        )
    return (U * np.sqrt(np.clip(w, 0.0, None))) @ U.conj().T


def transmit_samples(W, r, L: int, rng: np.random.Generator) -> np.ndarray:
    """Transmitted dual-function samples x_bar = V s + r_tilde, seed 000 eq. (1) stacked (B.2).

    W: (NK, M) communication beams V = [w_1 .. w_M] (sqrt(W)); may be None / M = 0.
    r: sensing part, one of
      * None: no sensing signal;
      * (NK,) vector r_tilde: rank-one sensing, sampled as r_tilde * z_l with
        z_l ~ CN(0, 1) i.i.d. per snapshot (so E[x x^H] = V V^H + r r^H);
      * (NK, NK) covariance R (PSD, full rank allowed): sampled as R^{1/2} z_l,
        z_l ~ CN(0, I_NK) i.i.d. per snapshot, R^{1/2} the Hermitian PSD square root.
    s ~ CN(0, I_M) i.i.d. per snapshot (seed-math B.9 "symbols"), independent of r.
    L: number of snapshots (>= 1). Returns complex (NK, L) with E[x x^H] = V V^H + R.
    """
    if int(L) != L or L < 1:
        raise ValueError(f"L must be a positive integer number of snapshots, got {L!r}")
    L = int(L)
    NK = None
    x = None
    if W is not None:
        V = np.asarray(W, dtype=complex)
        if V.ndim != 2:
            raise ValueError(f"W must have shape (NK, M), got {V.shape}")
        NK = V.shape[0]
        x = V @ complex_normal((V.shape[1], L), rng)
    if r is not None:
        rr = np.asarray(r, dtype=complex)
        if rr.ndim == 1:
            part = rr[:, None] * complex_normal((1, L), rng)
        elif rr.ndim == 2 and rr.shape[0] == rr.shape[1]:
            part = _psd_sqrt(rr) @ complex_normal((rr.shape[0], L), rng)
        else:
            raise ValueError(
                f"r must be a vector (NK,) or a covariance (NK, NK), got shape {rr.shape}"
            )
        if NK is not None and part.shape[0] != NK:
            raise ValueError(f"r has size {part.shape[0]} but W has NK = {NK} rows")
        x = part if x is None else x + part
    if x is None:
        raise ValueError("give W, r or both")
    return x
