"""The seed 000 operating-point report: echo SNR and RCRB of a serving group (docs/isac-physics.md).

:func:`operating_point_report` prints and returns the echo SNR and RCRB at an ISAC operating point
for a given group geometry, under the "paper" and the physical "radar" reflection models;
:func:`main` runs it on the seed 000 Walker snapshot (``twin paper isac operating-point``, or
``python -m twin.paper.isac.operating_point``).
"""

from __future__ import annotations

import sys

import numpy as np

from twin.geometry import geocentric_nadir_point
from twin.isac.physics.crb import isotropic_rcrb_and_snr
from twin.isac.physics.model import as_positions, isac_array_frames, reflection_coefficients
from twin.paper.isac.snapshot import walker_group_snapshot
from twin.units import C_LIGHT, K_BOLTZMANN, dbm_to_w, lin_to_db

__all__ = ["operating_point_report", "main"]


def operating_point_report(
    sat_pos,
    sat_vel,
    *,
    target=None,
    nx: int = 4,
    nz: int = 4,
    p_max_w: float = 1.0,
    paper_noise_power_w: float = float(dbm_to_w(-110.0)),
    freq_hz: float = 35e9,
    bandwidth_hz: float = 20e6,
    temperature_k: float = 290.0,
    rcs_m2: float = 10.0,
    t_cpi_s=(1e-3, 1e-2, 1e-1, 1.0),
    seed: int = 0,
    file=None,
) -> dict:
    """Print and return the echo SNR and RCRB at an ISAC operating point (docs/isac-physics.md).

    sat_pos, sat_vel (K, 3): group geometry (row 0 = central satellite), Earth-fixed m, m/s.
    target: (3,) metres; default the geocentric nadir point of satellite 0 on the ellipsoid. Body frames from
    :func:`twin.isac.physics.model.isac_array_frames`. Transmit: isotropic per-satellite sensing
    R_x = (p_max_w / N) I_NK (every satellite spends its whole budget on sensing).
    "paper" beta (B.9, beta_ref = 1) with sigma_n^2 = paper_noise_power_w (-110 dBm) and L = 1;
    "radar" beta (RCS ``rcs_m2``, full-array gains N, lambda = c/f) with sigma_n^2 = k_B T B and
    L = B * T_cpi snapshots for each T_cpi. Also the RCS, array size and T_cpi the radar model
    would need for RCRB = 1 m (CRB scales as 1/(RCS L) exactly; array size by recomputation).
    Returns a dict with every printed number.
    """
    out = file if file is not None else sys.stdout
    q = as_positions(sat_pos, "sat_pos", lead=1)
    K = q.shape[0]
    frames = isac_array_frames(q, sat_vel)
    p = geocentric_nadir_point(q[0]) if target is None else as_positions(target, "target", lead=0)
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(K, K))
    wavelength = C_LIGHT / freq_hz
    radar_noise = K_BOLTZMANN * temperature_k * bandwidth_hz
    ranges = np.linalg.norm(q - p, axis=1)
    c = int(np.argmin(ranges))  # closest satellite: its monostatic link is the strongest
    res: dict = {"K": K, "N": nx * nz, "ranges_km": (ranges / 1e3).tolist()}

    def _point(n_x, n_z, model, noise, **bkw):
        beta = reflection_coefficients(model, q, p, phases=phases, **bkw)
        r1, snr = isotropic_rcrb_and_snr(
            q,
            p,
            beta,
            power_per_element=p_max_w / (n_x * n_z),
            noise_power=noise,
            nx=n_x,
            nz=n_z,
            frames=frames,
        )
        link = p_max_w * np.abs(beta[c, c]) ** 2 / noise
        return snr, link, r1

    print(
        f"ISAC operating point: K = {K}, N = {nx}x{nz}, P_max = {p_max_w:g} W per satellite, "
        f"isotropic sensing R_x = (P_max/N) I",
        file=out,
    )
    print(
        "  ranges target-satellite [km]: " + ", ".join(f"{r:.0f}" for r in res["ranges_km"]),
        file=out,
    )

    snr, link, r1 = _point(nx, nz, "paper", paper_noise_power_w)
    res["paper"] = {
        "echo_snr_db": float(lin_to_db(snr)),
        "link_snr_db": float(lin_to_db(link)),
        "rcrb_m": r1,
    }
    print(
        f"paper beta (beta_ref = 1, sigma_n^2 = {lin_to_db(paper_noise_power_w) + 30:.0f} dBm, L = 1):",
        file=out,
    )
    print(
        f"  closest-satellite monostatic link SNR P|beta_cc|^2/sigma^2 = {lin_to_db(link):.1f} dB; "
        f"total echo SNR = {lin_to_db(snr):.1f} dB; RCRB = {r1:.3g} m",
        file=out,
    )
    # CRB is proportional to 1/SNR when every beta scales together (both models are ~ 1/(d_k d_u))
    snr_1m_db = float(lin_to_db(snr * r1**2))
    res["paper"]["echo_snr_for_1m_db"] = snr_1m_db
    print(
        f"  RCRB = 1 m needs a total (integrated) echo SNR of {snr_1m_db:.1f} dB with this geometry and R_x",
        file=out,
    )

    gain = float(nx * nz)
    radar_kw = dict(rcs_m2=rcs_m2, wavelength_m=wavelength, tx_gain=gain, rx_gain=gain)
    snr, link, r1 = _point(nx, nz, "radar", radar_noise, **radar_kw)
    res["radar"] = {
        "echo_snr_db": float(lin_to_db(snr)),
        "link_snr_db": float(lin_to_db(link)),
        "rcrb_m_per_snapshot": r1,
        "noise_power_dbm": float(lin_to_db(radar_noise) + 30),
        "cpi": [],
    }
    print(
        f"radar beta (RCS {rcs_m2:g} m^2, G_t = G_r = N = {gain:.0f}, f = {freq_hz / 1e9:g} GHz, "
        f"sigma_n^2 = k_B {temperature_k:g} K {bandwidth_hz / 1e6:g} MHz = {lin_to_db(radar_noise) + 30:.1f} dBm):",
        file=out,
    )
    print(
        f"  per snapshot: closest-satellite monostatic link SNR = {lin_to_db(link):.1f} dB; total echo SNR = {lin_to_db(snr):.1f} dB; "
        f"RCRB = {r1:.3g} m",
        file=out,
    )
    for t in t_cpi_s:
        L = bandwidth_hz * t
        rL = r1 / np.sqrt(L)
        res["radar"]["cpi"].append(
            {"t_cpi_s": t, "L": L, "rcrb_m": rL, "echo_snr_db": float(lin_to_db(snr * L))}
        )
        print(
            f"  T_cpi = {t:g} s, L = {L:.3g}: integrated echo SNR = {lin_to_db(snr * L):.1f} dB, RCRB = {rL:.3g} m",
            file=out,
        )
    # what would be needed for 1 m
    t_ref = 1e-2
    L_ref = bandwidth_hz * t_ref
    need_rcs = rcs_m2 * r1**2 / L_ref
    need_t = r1**2 / bandwidth_hz
    res["radar"]["rcs_for_1m_at_10ms_m2"] = need_rcs
    res["radar"]["t_cpi_for_1m_s"] = need_t
    print(
        f"  RCRB = 1 m needs: RCS = {need_rcs:.3g} m^2 at T_cpi = 10 ms, or T_cpi = {need_t:.3g} s at RCS {rcs_m2:g} m^2",
        file=out,
    )
    res["radar"]["aperture"] = []
    for side in (4, 8, 16, 32, 64):
        _, _, rs = _point(
            side,
            side,
            "radar",
            radar_noise,
            rcs_m2=rcs_m2,
            wavelength_m=wavelength,
            tx_gain=float(side * side),
            rx_gain=float(side * side),
        )
        rL = rs / np.sqrt(L_ref)
        res["radar"]["aperture"].append(
            {"side": side, "rcrb_m_10ms": rL, "t_cpi_for_1m_s": rs**2 / bandwidth_hz}
        )
        print(
            f"  N = {side}x{side} (G = {10 * np.log10(side * side):.0f} dBi): RCRB = {rL:.3g} m at T_cpi = 10 ms; "
            f"1 m needs T_cpi = {rs**2 / bandwidth_hz:.3g} s",
            file=out,
        )
    best = res["radar"]["aperture"][-1]
    t_max = max(t_cpi_s)
    r_best = best["rcrb_m_10ms"] * np.sqrt(L_ref / (bandwidth_hz * t_max))
    rcs_best = rcs_m2 * r_best**2
    res["radar"]["best_case"] = {
        "side": best["side"],
        "t_cpi_s": t_max,
        "rcrb_m": r_best,
        "rcs_for_1m_m2": rcs_best,
    }
    print(
        f"  best case here (N = {best['side']}x{best['side']}, T_cpi = {t_max:g} s): RCRB = {r_best:.3g} m; "
        f"1 m would need RCS = {rcs_best:.3g} m^2",
        file=out,
    )
    return res


def main() -> None:
    """Print :func:`operating_point_report` for the type-II group of the default Walker snapshot
    (:func:`twin.paper.isac.snapshot.walker_group_snapshot`), target at the central's nadir."""
    g = walker_group_snapshot(collaboration="II")
    operating_point_report(g.sat_pos, g.sat_vel, target=g.central_nadir_ecef)


if __name__ == "__main__":  # pragma: no cover
    main()
