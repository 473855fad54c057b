"""Seed 000 joint-design instances built from a Walker snapshot: the Table I/II problem of the paper
(:func:`paper_problem`) and random Table I/II geometries (:func:`random_problem`), each a
:class:`twin.isac.design.problem.DesignProblem` in SI units.
"""

from __future__ import annotations

import numpy as np

from twin.isac.design.problem import DesignProblem
from twin.isac.physics import channel
from twin.isac.physics.model import isac_array_frames, paper_beta, reflection_coefficients
from twin.paper.isac.snapshot import walker_group_snapshot
from twin.units import dbm_to_w

__all__ = ["paper_problem", "random_problem"]


def paper_problem(
    collaboration: str = "II",
    *,
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    p_max_dbm: float = 30.0,
    eta_bps_hz: float = 2.0,
    sensing_noise_dbm: float = -110.0,
    snapshots: float = 1.0,
    planes: int = 72,
    per_plane: int = 22,
    phasing: int = 1,
    beta_model: str = "paper",
    seed: int = 0,
    group_size: int | None = None,
) -> DesignProblem:
    """Seed 000 Table I/II instance (seed-math B.8/B.9): Walker 53:planes*per_plane/planes/phasing at
    550 km, group ``collaboration`` (I/II/III -> K = 3/5/7) from ``walker_group_snapshot``, body-frame
    arrays, target at the central's nadir, ``n_ue`` UEs uniform in the 15 km service disk,
    channels (3)-(5) (``comm_channels``, noise 1), beta from ``beta_model`` with phases from
    ``seed``; P^max ``p_max_dbm`` per satellite, sigma_n^2 ``sensing_noise_dbm``. Deterministic in ``seed``."""
    g = walker_group_snapshot(
        planes=planes,
        per_plane=per_plane,
        phasing=phasing,
        collaboration=collaboration,
        group_size=group_size,
    )
    frames = isac_array_frames(g.sat_pos, g.sat_vel)
    K = g.sat_pos.shape[0]
    rng = np.random.default_rng(seed)
    params = channel.IsacParams(
        nx=nx,
        nz=nz,
        K=K,
        M=n_ue,
        p_max_dbm=p_max_dbm,
        rate_target_bps_hz=eta_bps_hz,
        sensing_noise_dbm=sensing_noise_dbm,
    )
    ues = channel.ue_positions(g.central_nadir_ecef, params.service_radius_m, n_ue, rng)
    H = channel.comm_channels(
        g.sat_pos, ues, frames=frames, params=params, rng=rng, center_ecef=g.central_nadir_ecef
    )
    target = np.asarray(g.central_nadir_ecef, dtype=float)
    beta = reflection_coefficients(beta_model, g.sat_pos, target, rng=rng)
    return DesignProblem(
        sat_pos=g.sat_pos,
        target=target,
        beta=beta,
        H=H,
        eta=eta_bps_hz,
        p_max_w=float(dbm_to_w(p_max_dbm)),
        sensing_noise_w=float(dbm_to_w(sensing_noise_dbm)),
        nx=nx,
        nz=nz,
        frames=frames,
        comm_noise=1.0,
        snapshots=snapshots,
    )


def random_problem(
    rng: np.random.Generator,
    *,
    collaboration: str = "II",
    nx: int = 4,
    nz: int = 4,
    n_ue: int = 10,
    eta_bps_hz: float = 2.0,
    p_max_dbm: float = 30.0,
    sensing_noise_dbm: float = -110.0,
    central_index: int | None = None,
    max_tries: int = 20,
) -> DesignProblem:
    """A random seed 000 Table I/II instance: Walker 72 x 22 (F = 1) group of type ``collaboration``
    around a random central satellite (``central_index`` or drawn from ``rng``; redrawn if no
    complete group exists), ``n_ue`` UEs uniform in the 15 km service disk at the central's nadir,
    target uniform in the same disk (ground), channels (3)-(5), paper beta with random phases."""
    g = None
    for _ in range(max_tries):
        idx = int(rng.integers(72 * 22)) if central_index is None else int(central_index)
        try:
            g = walker_group_snapshot(collaboration=collaboration, central_index=idx)
            break
        except ValueError:
            if central_index is not None:
                raise
    if g is None:
        raise ValueError(
            f"no complete type-{collaboration} group found in {max_tries} random draws"
        )
    K = g.sat_pos.shape[0]
    params = channel.IsacParams(
        nx=nx,
        nz=nz,
        K=K,
        M=n_ue,
        p_max_dbm=p_max_dbm,
        rate_target_bps_hz=eta_bps_hz,
        sensing_noise_dbm=sensing_noise_dbm,
    )
    frames = isac_array_frames(g.sat_pos, g.sat_vel)
    target = channel.ue_positions(g.central_nadir_ecef, params.service_radius_m, 1, rng)[0]
    ues = channel.ue_positions(g.central_nadir_ecef, params.service_radius_m, n_ue, rng)
    H = channel.comm_channels(
        g.sat_pos, ues, frames=frames, params=params, rng=rng, center_ecef=g.central_nadir_ecef
    )
    beta = paper_beta(g.sat_pos, target, rng=rng)
    return DesignProblem(
        sat_pos=g.sat_pos,
        target=target,
        beta=beta,
        H=H,
        eta=eta_bps_hz,
        p_max_w=float(dbm_to_w(p_max_dbm)),
        sensing_noise_w=float(dbm_to_w(sensing_noise_dbm)),
        nx=nx,
        nz=nz,
        frames=frames,
        comm_noise=1.0,
    )
