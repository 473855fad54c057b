"""Satellite-to-UT channel of seed 002 (eq. (8)-(10)) and the paper's parameters.

Conventions (docs/pnt-physics.md, seed-math A.4):

* Positions are Earth-fixed metres, shape (..., 3).
* The received signal is ``h^T w`` (no conjugate), so the matched filter is
  ``w ∝ conj(h)``.
* Array vectors have unit-modulus entries (κ = 1): ``‖v‖² = N``.
* Antenna index ``n = i_x·n_y + i_y`` (Kronecker order ``v_x ⊗ v_y``).
* Body frame of a satellite: rows ``x̂, ŷ, ẑ`` with ``ẑ`` = geocentric nadir,
  ``ŷ = ẑ × x̂``; ``x̂`` is local east at the sub-satellite point (paper preset) or
  along-track (twin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.units import C_LIGHT, db_to_lin, dbm_to_w, dbw_to_w

#: Readings of Table II's "cell radius" (`PntParams.cell_radius_kind`).
CELL_RADIUS_KINDS = ("circumradius", "inradius")
#: UPA orientations (`PntParams.boresight`): geocentric nadir, or facing the cluster centre.
BORESIGHTS = ("nadir", "cluster")
#: Reference-satellite placements (`PntParams.reference`).
REFERENCES = ("zenith", "cap")
#: DSTA's infeasible-threshold rules (`PntParams.threshold_rule`, `twin.pnt.beamforming.dsta`).
THRESHOLD_RULES = ("common", "per_ut", "grid")
#: DSTA's power constraints (`PntParams.dsta_power`, `twin.pnt.beamforming.dsta`'s
#: `power_constraint`): per beam (eq. (19)) or per satellite in total (ZF's eq. (33) budget).
DSTA_POWERS = ("per_beam", "total")

#: Free-space loss constant for f in MHz and d in km: 20 log10(4π·1e9/c) = 32.448 dB.
PATH_LOSS_CONST_DB = 32.45


@dataclass(frozen=True)
class PntParams:
    """Seed 002 Table II defaults (seed-math A.11), SI units except the dB fields.

    The open readings keep their issue-6 values here (so the twin's `[pnt]` defaults do not
    move); `twin paper pnt` runs with the values fitted to the paper's figures,
    `twin.paper.pnt.calibrate.CALIBRATED` (docs/pnt-reproduction.md).

    nx, ny: UPA size (N = nx·ny antennas). n_beams: beams per satellite K.
    altitude_m: orbit height. power_dbw: per-beam power P. freq_hz: carrier.
    bandwidth_hz: per-satellite bandwidth B. ref_toa_var_s2: σ²_0 of the reference
    satellite. i_tdoa: satellites per UT besides the reference. element_gain_dbi:
    satellite element gain (0 as stated; 5.5 reproduces the paper's Fig. 4 SNRs).
    noise_density_dbm_hz, ut_gain_dbi: UT noise density and antenna gain.
    gamma_init, gamma_step, gamma_max: DSTA thresholds γ', γ0, γ_max (linear).
    phase_model: "link" | "element", the phase of eq. (8) (see `channels`).
    sweep: "rounds" | "per_ut", the greedy schedulers' sweep (`twin.pnt.scheduling`).
    cell_radius_kind: how Table II's "cell radius" is read: "circumradius" (default, hexagon
    vertex distance, 75 km centre spacing for 43.3 km) or "inradius" (centre-to-side
    distance, i.e. circumradius 50 km and 86.6 km spacing for 43.3 km).
    boresight: "nadir" (default) or "cluster" (each satellite's UPA faces the cluster centre).
    min_elevation_deg: the satellites' cap, elevation >= this seen from the cluster centre
    (seed-math A.11 [R], 60). reference: "zenith" (default: the reference satellite
    above the cluster centre) or "cap" (drawn uniformly in the same cap, like the others).
    threshold_rule: DSTA's rule for an infeasible starting threshold, "common" (default) or
    "per_ut" (`twin.pnt.beamforming.dsta`).
    dsta_power: DSTA's power constraint, "per_beam" (default, ‖w_c‖² ≤ P) or "total"
    (Σ_c ‖w_c‖² ≤ |C_i| P per satellite).
    """

    nx: int = 8
    ny: int = 8
    n_beams: int = 12
    altitude_m: float = 600e3
    power_dbw: float = 26.0
    freq_hz: float = 4e9
    bandwidth_hz: float = 50e6
    ref_toa_var_s2: float = 1e-19
    i_tdoa: int = 4
    n_sats: int = 21
    n_cells: int = 61
    cell_radius_m: float = 43.3e3
    element_gain_dbi: float = 0.0
    noise_density_dbm_hz: float = -174.0
    ut_gain_dbi: float = 0.0
    gamma_init: float = 10.0
    gamma_step: float = 2.0
    gamma_max: float = 100.0
    phase_model: str = "link"
    sweep: str = "rounds"
    cell_radius_kind: str = "circumradius"
    boresight: str = "nadir"
    min_elevation_deg: float = 60.0
    reference: str = "zenith"
    threshold_rule: str = "common"
    dsta_power: str = "per_beam"

    def __post_init__(self):
        if self.dsta_power not in DSTA_POWERS:
            raise ValueError(f"dsta_power must be one of {DSTA_POWERS}, got {self.dsta_power!r}")
        if self.threshold_rule not in THRESHOLD_RULES:
            raise ValueError(
                f"threshold_rule must be one of {THRESHOLD_RULES}, got {self.threshold_rule!r}"
            )
        if self.reference not in REFERENCES:
            raise ValueError(f"reference must be one of {REFERENCES}, got {self.reference!r}")
        if self.cell_radius_kind not in CELL_RADIUS_KINDS:
            raise ValueError(
                f"cell_radius_kind must be one of {CELL_RADIUS_KINDS}, got {self.cell_radius_kind!r}"
            )
        if self.boresight not in BORESIGHTS:
            raise ValueError(f"boresight must be one of {BORESIGHTS}, got {self.boresight!r}")

    @property
    def circumradius_m(self) -> float:
        """Hexagon circumradius in metres implied by `cell_radius_m` and `cell_radius_kind`."""
        if self.cell_radius_kind == "inradius":
            return self.cell_radius_m * 2.0 / np.sqrt(3.0)
        return self.cell_radius_m

    @property
    def n_antennas(self) -> int:
        """N = nx·ny."""
        return self.nx * self.ny

    @property
    def power_w(self) -> float:
        """Per-beam power P in watts."""
        return float(dbw_to_w(self.power_dbw))

    @property
    def noise_w(self) -> float:
        """UT noise power ε² in watts (UT gain folded in)."""
        return noise_power_w(self.bandwidth_hz, self.noise_density_dbm_hz, self.ut_gain_dbi)


def path_loss_db(distance_m, freq_hz):
    """Seed 002 eq. (9): free-space loss in dB, ``20 log10(f_MHz) + 20 log10(d_km) + 32.45``.

    distance_m: (...) metres > 0; freq_hz: scalar or (...) hertz > 0. Returns (...) dB.
    """
    d = np.asarray(distance_m, dtype=float)
    f = np.asarray(freq_hz, dtype=float)
    if np.any(d <= 0) or np.any(f <= 0):
        raise ValueError("path_loss_db needs distance_m > 0 and freq_hz > 0")
    return 20.0 * np.log10(f / 1e6) + 20.0 * np.log10(d / 1e3) + PATH_LOSS_CONST_DB


def path_gain(distance_m, freq_hz):
    """Linear power gain ``g = 10^{-L/10}`` of eq. (9)'s loss L. Shape as ``distance_m``."""
    return db_to_lin(-path_loss_db(distance_m, freq_hz))


def steering(theta_x, theta_y, nx: int, ny: int):
    """Seed 002 eq. (10): UPA response ``v_x(θx) ⊗ v_y(θy)`` with κ = 1.

    ``v_x(θ)[i] = exp(-jπ i θ)``, i = 0..nx-1 (half-wavelength spacing), same for y.
    theta_x, theta_y: (...) direction cosines. Returns (..., nx·ny) complex with
    unit-modulus entries, antenna index ``n = i_x·ny + i_y``.
    """
    if int(nx) < 1 or int(ny) < 1:
        raise ValueError(f"nx and ny must be >= 1 (got {nx}, {ny})")
    tx, ty = np.broadcast_arrays(np.asarray(theta_x, dtype=float), np.asarray(theta_y, dtype=float))
    vx = np.exp(-1j * np.pi * tx[..., None] * np.arange(nx))
    vy = np.exp(-1j * np.pi * ty[..., None] * np.arange(ny))
    return (vx[..., :, None] * vy[..., None, :]).reshape(tx.shape + (nx * ny,))


def pnt_body_frames(sat_pos, *, sat_vel=None, x_axis: str = "east", boresight_to=None):
    """Satellite body frames for eq. (10)'s direction cosines.

    sat_pos: (I, 3) Earth-fixed metres. sat_vel: (I, 3) m/s, needed for
    ``x_axis="along_track"``. Returns (I, 3, 3) whose rows are ``x̂, ŷ, ẑ``:
    ``ẑ = -sat_pos/‖sat_pos‖`` (geocentric nadir), ``x̂`` = local east at the
    sub-satellite point (``"east"``, paper preset) or the velocity's component
    orthogonal to ``ẑ`` (``"along_track"``), ``ŷ = ẑ × x̂``. Over a pole (east
    undefined) ``"east"`` uses the Earth-fixed +y axis projected orthogonal to ẑ.
    boresight_to: None (nadir boresight, default) or a (3,) Earth-fixed point in metres
    (e.g. the cell cluster's centre): ẑ then points from each satellite at that point and
    x̂ is the chosen x axis made orthogonal to that ẑ (seed 002 does not state the array's
    orientation; this is an option, docs/pnt-reproduction.md).
    """
    pos = np.atleast_2d(np.asarray(sat_pos, dtype=float))
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"sat_pos must have shape (I, 3), got {np.shape(sat_pos)}")
    r = np.linalg.norm(pos, axis=1, keepdims=True)
    if np.any(r == 0):
        raise ValueError("sat_pos must not contain the Earth's centre")
    z = -pos / r
    if x_axis == "east":
        x = np.cross(np.array([0.0, 0.0, 1.0]), pos)
        pole = np.linalg.norm(x, axis=1) < 1e-9 * r[:, 0]
        if np.any(pole):
            y_ref = np.array([0.0, 1.0, 0.0])
            x[pole] = y_ref - (z[pole] @ y_ref)[:, None] * z[pole]
    elif x_axis == "along_track":
        if sat_vel is None:
            raise ValueError('x_axis="along_track" needs sat_vel (I, 3) in m/s')
        vel = np.atleast_2d(np.asarray(sat_vel, dtype=float))
        if vel.shape != pos.shape:
            raise ValueError(f"sat_vel must have shape {pos.shape}, got {vel.shape}")
        x = vel - np.sum(vel * z, axis=1, keepdims=True) * z
        if np.any(np.linalg.norm(x, axis=1) == 0):
            raise ValueError(
                "sat_vel is parallel to nadir for some satellite: along-track axis undefined"
            )
    else:
        raise ValueError(f'x_axis must be "east" or "along_track", got {x_axis!r}')
    if boresight_to is not None:
        target = np.asarray(boresight_to, dtype=float)
        if target.shape != (3,):
            raise ValueError(
                f"boresight_to must be one (3,) point in metres, got shape {target.shape}"
            )
        los = target[None, :] - pos
        norm = np.linalg.norm(los, axis=1, keepdims=True)
        if np.any(norm == 0):
            raise ValueError("boresight_to coincides with a satellite position")
        z = los / norm
        x = x - np.sum(x * z, axis=1, keepdims=True) * z
        if np.any(np.linalg.norm(x, axis=1) < 1e-9 * np.linalg.norm(pos, axis=1)):
            raise ValueError("the x axis is parallel to the boresight for some satellite")
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


#: Phase models of eq. (8): one phase per link (default) or one per antenna element and link.
PHASE_MODELS = ("link", "element")


def channels(
    sat_pos,
    ut_pos,
    frames,
    *,
    freq_hz: float,
    nx: int,
    ny: int,
    element_gain_dbi: float = 0.0,
    rng,
    phase: str = "link",
):
    """Seed 002 eq. (8): ``h_{i,c} = √g_{i,c} e^{jϑ_{i,c}} v_{i,c}``.

    sat_pos: (I, 3), ut_pos: (C, 3) Earth-fixed metres; frames: (I, 3, 3) from
    :func:`pnt_body_frames`; freq_hz: carrier; nx, ny: UPA size;
    element_gain_dbi: satellite element gain added to g; rng: numpy Generator.
    phase: "link" (default, seed-math A.4 [D]): one phase ϑ_{i,c} ~ U[0, 2π) per link, so
    the array structure (and the correlation of nearby UTs' channels) is kept; "element":
    the text's "phase vector", one independent U[0, 2π) phase per antenna element and link,
    which makes the channels of different UTs nearly orthogonal (E|ĥ_c^H ĥ_c'|² = 1/N).
    Returns H (I, C, nx·ny) complex, in √W/W units (|h^T w|² is the received power in W
    for w in √W).
    """
    if phase not in PHASE_MODELS:
        raise ValueError(f"phase must be one of {PHASE_MODELS}, got {phase!r}")
    sats = np.atleast_2d(np.asarray(sat_pos, dtype=float))
    uts = np.atleast_2d(np.asarray(ut_pos, dtype=float))
    fr = np.asarray(frames, dtype=float)
    if sats.shape[1] != 3 or uts.shape[1] != 3 or fr.shape != (sats.shape[0], 3, 3):
        raise ValueError(
            f"need sat_pos (I,3), ut_pos (C,3), frames (I,3,3); got {sats.shape}, {uts.shape}, {fr.shape}"
        )
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    diff = uts[None, :, :] - sats[:, None, :]
    dist = np.linalg.norm(diff, axis=-1)
    u = diff / dist[..., None]
    theta_x = np.einsum("icj,ij->ic", u, fr[:, 0, :])
    theta_y = np.einsum("icj,ij->ic", u, fr[:, 1, :])
    gain = path_gain(dist, freq_hz) * db_to_lin(element_gain_dbi)
    v = steering(theta_x, theta_y, nx, ny)
    if phase == "element":
        theta = rng.uniform(0.0, 2.0 * np.pi, size=v.shape)
        return np.sqrt(gain)[..., None] * np.exp(1j * theta) * v
    theta = rng.uniform(0.0, 2.0 * np.pi, size=dist.shape)
    return (np.sqrt(gain) * np.exp(1j * theta))[..., None] * v


def noise_power_w(bandwidth_hz, density_dbm_hz: float = -174.0, ut_gain_dbi: float = 0.0):
    """UT noise power ``ε² = N0·B / G_UT`` in watts (seed-math A.2; no noise figure).

    The UT antenna gain multiplies the received signal; it is folded in here as a
    division of the noise so channels stay satellite-side only. −174 dBm/Hz over
    50 MHz gives −97.0 dBm.
    """
    b = np.asarray(bandwidth_hz, dtype=float)
    if np.any(b <= 0):
        raise ValueError(f"bandwidth_hz must be > 0, got {bandwidth_hz}")
    out = dbm_to_w(density_dbm_hz) * b / db_to_lin(ut_gain_dbi)
    return float(out) if np.ndim(out) == 0 else out


__all__ = [
    "BORESIGHTS",
    "CELL_RADIUS_KINDS",
    "C_LIGHT",
    "DSTA_POWERS",
    "PHASE_MODELS",
    "PATH_LOSS_CONST_DB",
    "PntParams",
    "REFERENCES",
    "THRESHOLD_RULES",
    "channels",
    "noise_power_w",
    "path_gain",
    "path_loss_db",
    "pnt_body_frames",
    "steering",
]
