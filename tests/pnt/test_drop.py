"""Tests of the paper_002 drop geometry (seed-math A.11)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twin.paper.pnt.drop import (
    PAPER_PAIRS,
    cap_half_angle,
    paper_002_drop,
    points_on_sphere,
    sample_cap,
)
from twin.paper.pnt.experiment import make_drop
from twin.pnt.cells import elevation_rad
from twin.pnt.channel import PntParams

R_HEX = 43.3e3


def test_cap_half_angle_is_the_elevation_boundary():
    ground_r, shell_r = 6378137.0, 6378137.0 + 600e3
    psi = cap_half_angle(np.deg2rad(60.0), ground_r, shell_r)
    centre = np.array([ground_r, 0.0, 0.0])
    edge = points_on_sphere(centre, np.array([psi]), np.array([0.3]), shell_r)
    np.testing.assert_allclose(np.rad2deg(elevation_rad(centre, edge)), [60.0], atol=1e-9)
    # ~310 km ground radius for 60 deg at 600 km
    assert 300e3 < psi * ground_r < 320e3


def test_cap_sampling_is_uniform_in_area():
    rng = np.random.default_rng(7)
    psi_max = np.deg2rad(10.0)
    psi, az = sample_cap(rng, 20_000, psi_max)
    assert psi.max() <= psi_max and psi.min() >= 0
    # Independent check: isotropic directions (normalised Gaussians) kept inside the cap.
    g = rng.standard_normal((3_000_000, 3))
    u = g / np.linalg.norm(g, axis=1, keepdims=True)
    keep = u[:, 2] >= np.cos(psi_max)
    ref_psi = np.arccos(u[keep, 2])
    ref_az = np.arctan2(u[keep, 1], u[keep, 0]) % (2 * np.pi)
    assert stats.ks_2samp(psi, ref_psi).pvalue > 1e-3
    assert stats.ks_2samp(az, ref_az).pvalue > 1e-3
    # a wrong (uniform-in-angle) sampler is rejected by the same test
    wrong = rng.uniform(0, psi_max, 20_000)
    assert stats.ks_2samp(wrong, ref_psi).pvalue < 1e-6


@pytest.mark.parametrize("n_visible,i_tdoa", PAPER_PAIRS)
def test_paper_drop_geometry(n_visible, i_tdoa):
    drop = paper_002_drop(np.random.default_rng(3), n_visible=n_visible, i_tdoa=i_tdoa)
    in_cap = paper_002_drop(
        np.random.default_rng(3), n_visible=n_visible, i_tdoa=i_tdoa, reference="cap"
    )
    # the option draws the reference in the cap after everything else: other draws unchanged
    np.testing.assert_array_equal(in_cap.sat_pos, drop.sat_pos)
    np.testing.assert_array_equal(in_cap.ut_pos, drop.ut_pos)
    assert (
        60.0 - 1e-9
        <= np.rad2deg(elevation_rad(in_cap.cell_centres[0], in_cap.ref_pos[None]))[0]
        < 90.0
    )
    assert drop.ut_pos.shape == (61, 3) and drop.cell_centres.shape == (61, 3)
    assert drop.sat_pos.shape == (n_visible, 3) and drop.ref_pos.shape == (3,)
    assert drop.frames.shape == (n_visible, 3, 3) and drop.i_tdoa == i_tdoa
    r_ground = np.linalg.norm(drop.cell_centres[0])
    np.testing.assert_allclose(np.linalg.norm(drop.ut_pos, axis=1), r_ground, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(drop.sat_pos, axis=1), r_ground + 600e3, rtol=1e-12)
    # reference at the zenith of the centre (0N, 0E): on the +x axis
    np.testing.assert_allclose(drop.ref_pos, [r_ground + 600e3, 0, 0], atol=1e-6)
    np.testing.assert_allclose(
        np.rad2deg(elevation_rad(drop.cell_centres[0], drop.ref_pos[None])), [90.0]
    )
    el = np.rad2deg(elevation_rad(drop.cell_centres[0], drop.sat_pos))
    assert el.min() >= 60.0 - 1e-9
    # geodesic centre spacing 75 km (arc length = local offset length)
    arc = r_ground * np.arccos(
        np.clip(drop.cell_centres[1] @ drop.cell_centres[0] / r_ground**2, -1, 1)
    )
    np.testing.assert_allclose(arc, np.sqrt(3) * R_HEX, rtol=1e-9)
    # frames orthonormal, z row = geocentric nadir, x row = local east (paper preset)
    np.testing.assert_allclose(
        drop.frames @ drop.frames.transpose(0, 2, 1),
        np.broadcast_to(np.eye(3), drop.frames.shape),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        drop.frames[:, 2],
        -drop.sat_pos / np.linalg.norm(drop.sat_pos, axis=1, keepdims=True),
        atol=1e-12,
    )
    assert np.abs(drop.frames[:, 0, 2]).max() < 1e-12  # east has no z component
    # the beam budget is just sufficient: I K >= C I_TDOA with K = 12 (A.11)
    assert n_visible * 12 >= 61 * i_tdoa > (n_visible - 1) * 12


def test_paper_drop_is_deterministic_and_checks_input():
    a = paper_002_drop(np.random.default_rng(5))
    b = paper_002_drop(np.random.default_rng(5))
    np.testing.assert_array_equal(a.sat_pos, b.sat_pos)
    np.testing.assert_array_equal(a.ut_pos, b.ut_pos)
    with pytest.raises(ValueError, match="i_tdoa"):
        paper_002_drop(np.random.default_rng(0), n_visible=3, i_tdoa=4)
    with pytest.raises(ValueError, match="min_elevation_deg"):
        paper_002_drop(np.random.default_rng(0), min_elevation_deg=95)


def test_paper_drop_readings_boresight_reference_and_cell_radius():
    """The options for what seed 002 leaves open: cluster-facing boresight, reference drawn
    in the cap, and the cell radius read as the hexagon's inradius."""
    base = paper_002_drop(np.random.default_rng(4))
    clu = paper_002_drop(np.random.default_rng(4), boresight="cluster")
    np.testing.assert_array_equal(base.sat_pos, clu.sat_pos)  # same draws, other frames
    los = clu.cell_centres[0][None] - clu.sat_pos
    np.testing.assert_allclose(
        clu.frames[:, 2], los / np.linalg.norm(los, axis=1, keepdims=True), atol=1e-12
    )
    np.testing.assert_allclose(
        clu.frames @ clu.frames.transpose(0, 2, 1),
        np.broadcast_to(np.eye(3), clu.frames.shape),
        atol=1e-9,
    )
    # the cluster centre is on boresight: direction cosines (0, 0)
    u = los / np.linalg.norm(los, axis=1, keepdims=True)
    np.testing.assert_allclose(np.einsum("ij,ij->i", u, clu.frames[:, 0]), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.einsum("ij,ij->i", u, clu.frames[:, 1]), 0.0, atol=1e-12)

    cap = paper_002_drop(np.random.default_rng(4), reference="cap", min_elevation_deg=65.0)
    el = np.rad2deg(elevation_rad(cap.cell_centres[0], np.vstack([cap.sat_pos, cap.ref_pos[None]])))
    assert (
        el.min() >= 65.0 - 1e-9 and el[-1] < 89.9
    )  # the reference is in the cap, not at the zenith
    refs = np.array(
        [paper_002_drop(np.random.default_rng(s), reference="cap").ref_pos for s in range(200)]
    )
    r_ground = np.linalg.norm(cap.cell_centres[0])
    psi = np.arccos(np.clip(refs[:, 0] / np.linalg.norm(refs, axis=1), -1, 1))
    psi_max = cap_half_angle(np.deg2rad(60.0), r_ground, r_ground + 600e3)
    # uniform in area: cos(psi) uniform on [cos psi_max, 1]
    assert (
        stats.kstest(
            np.cos(psi), stats.uniform(loc=np.cos(psi_max), scale=1 - np.cos(psi_max)).cdf
        ).pvalue
        > 1e-3
    )
    with pytest.raises(ValueError, match="reference"):
        paper_002_drop(np.random.default_rng(0), reference="per_ut")
    with pytest.raises(ValueError, match="boresight"):
        paper_002_drop(np.random.default_rng(0), boresight="east")


def test_inradius_reading_spacing():
    p = PntParams(cell_radius_kind="inradius")
    np.testing.assert_allclose(p.circumradius_m, 50.0e3, rtol=2e-4)  # 43.3 km = 50 km x sqrt(3)/2
    d = make_drop(p, np.random.default_rng(1))
    r_ground = np.linalg.norm(d.cell_centres[0])
    arc = r_ground * np.arccos(np.clip(d.cell_centres[1] @ d.cell_centres[0] / r_ground**2, -1, 1))
    np.testing.assert_allclose(arc, 2 * 43.3e3, rtol=1e-9)  # neighbours two inradii apart
    with pytest.raises(ValueError, match="cell_radius_kind"):
        PntParams(cell_radius_kind="diameter")
    with pytest.raises(ValueError, match="reference"):
        PntParams(reference="x")
    assert PntParams().reference == "zenith"
