"""The seed 000 operating-point report (twin/paper/isac/operating_point.py) on a hand-built Walker
type-II group: the numbers quoted in docs/isac-physics.md, echo-SNR section."""

from __future__ import annotations

import io

import numpy as np
import pytest

from twin.paper.isac.operating_point import operating_point_report

R_EARTH = 6378137.0  # WGS84 equatorial radius: the Walker altitude is measured from it


def walker_type2_group(planes=72, per_plane=22, phasing=1, altitude_m=550e3, inc_deg=53.0):
    """K = 5 type-II group of a Walker delta constellation on circular orbits, built by hand
    (independent of SGP4 and of twin.paper.isac.snapshot.walker_group_snapshot): central satellite
    (plane 0, slot 0, at the ascending node), its two in-plane neighbours and the
    nearest satellite in each adjacent plane. Inertial = Earth-fixed at this instant
    (Earth rotation ignored: velocities are inertial). Row 0 = central."""
    mu = 3.986004418e14
    r = R_EARTH + altitude_m
    inc = np.radians(inc_deg)
    T = planes * per_plane
    j, s = np.meshgrid(np.arange(planes), np.arange(per_plane), indexing="ij")
    raan = 2 * np.pi * j / planes
    u = 2 * np.pi * s / per_plane + 2 * np.pi * phasing * j / T
    cO, sO, cu, su, ci, si = (
        np.cos(raan),
        np.sin(raan),
        np.cos(u),
        np.sin(u),
        np.cos(inc),
        np.sin(inc),
    )
    pos = r * np.stack([cO * cu - sO * su * ci, sO * cu + cO * su * ci, su * si], axis=-1)
    vel = np.sqrt(mu / r) * np.stack(
        [-cO * su - sO * cu * ci, -sO * su + cO * cu * ci, cu * si], axis=-1
    )
    central = pos[0, 0]
    members = [(0, 0), (0, 1), (0, per_plane - 1)]
    for jp in (1, planes - 1):
        sp = int(np.argmin(np.linalg.norm(pos[jp] - central, axis=-1)))
        members.append((jp, sp))
    idx = tuple(np.array(members).T)
    return pos[idx], vel[idx]


def test_operating_point_report_walker_type2():
    """Seed 000 operating point (72x22, 550 km, type II, 4x4, 30 dBm, isotropic sensing):
    the paper-beta regime gives centimetre RCRB, the physical radar budget gives a
    negative per-snapshot echo SNR. Prints the numbers quoted in docs/isac-physics.md."""
    q, v = walker_type2_group()
    buf = io.StringIO()
    res = operating_point_report(q, v, file=buf)
    print(buf.getvalue())
    ranges = np.array(res["ranges_km"])
    assert ranges.min() == pytest.approx(550, abs=1)
    assert ranges.max() < 2700
    assert res["paper"]["link_snr_db"] == pytest.approx(140.0, abs=0.01)
    assert res["paper"]["rcrb_m"] < 1.0
    assert res["radar"]["link_snr_db"] < -50
    # CRB ~ 1/(L RCS): the 1 m requirements are consistent with the per-snapshot RCRB
    r1 = res["radar"]["rcrb_m_per_snapshot"]
    assert res["radar"]["t_cpi_for_1m_s"] == pytest.approx(r1**2 / 20e6, rel=1e-12)
    # one SNR governs both beta models: the radar integration time for 1 m reaches the same echo SNR
    L_1m = res["radar"]["t_cpi_for_1m_s"] * 20e6
    assert res["radar"]["echo_snr_db"] + 10 * np.log10(L_1m) == pytest.approx(
        res["paper"]["echo_snr_for_1m_db"], abs=1e-6
    )
    rc = [c["rcrb_m"] for c in res["radar"]["cpi"]]
    assert rc == sorted(rc, reverse=True)
    ap = [a["rcrb_m_10ms"] for a in res["radar"]["aperture"]]
    assert ap == sorted(ap, reverse=True)
