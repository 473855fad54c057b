"""Monte Carlo RMSE vs the root CRB (seed 000 Figs. 8-9 check, seed-math B.7).

Statistical tolerance: with T independent trials, MSE_hat = mean ‖e_i‖² has standard error
SE = std(‖e_i‖²)/√T; the mean CRB over trials has SE_crb likewise. "RMSE ≥ RCRB within the 95 %
tolerance" means MSE_hat − CRB ≥ −1.96 √(SE² + SE_crb²) (MonteCarloResult.consistent_with_bound).
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.geometry import geodetic_to_ecef
from twin.isac.estimation.montecarlo import SensingScenario, monte_carlo, trial_crbs, trial_rngs
from twin.isac.physics.crb import location_crb
from twin.isac.physics.model import angles, echo_apply, isac_array_frames
from twin.paper.isac.figures import OperatingPoint, build_scenario
from twin.units import dbm_to_w

LAT0, LON0 = np.radians(30.0), np.radians(10.0)


def toy_scenario(noise_dbm=-110.0, p_w=1.0, random_target=False, L=1):
    """K = 5 group at 550 km around (30°N, 10°E), isotropic sensing R = (P/N) I (no comm beams)."""
    d = np.radians(17.8)
    offs = [(0, 0), (d, 0), (-d, 0), (0, 1.1 * d), (0, -1.1 * d)]
    sat = np.array([geodetic_to_ecef(LAT0 + a, LON0 + b, 550e3) for a, b in offs])
    ahead = np.array([geodetic_to_ecef(LAT0 + a + 1e-3, LON0 + b, 550e3) for a, b in offs])
    centre = geodetic_to_ecef(LAT0, LON0, 0.0)
    return SensingScenario(
        sat,
        isac_array_frames(sat, ahead - sat),
        None,
        np.eye(80) * p_w / 16,
        float(dbm_to_w(noise_dbm)),
        target=None if random_target else centre,
        area_centre=centre,
        snapshots=L,
    )


def test_trials_do_not_depend_on_batching_or_method():
    sc = toy_scenario(random_target=True)
    kw = dict(seed=11, crb_trials=2, conditional_crb=False, particles=10, iterations=5)
    a = monte_carlo(sc, "pso", trials=3, **kw)
    b = monte_carlo(sc, "pso", trials=5, **kw)
    np.testing.assert_array_equal(a.errors, b.errors[:3])
    # every method sees the same data for trial i: same target, prior, samples, echo
    t1 = sc.draw(trial_rngs(11, 2)[0])
    t2 = sc.draw(trial_rngs(11, 2)[0])
    np.testing.assert_array_equal(t1.y, t2.y)
    np.testing.assert_array_equal(t1.problem.prior_centre, t2.problem.prior_centre)
    assert not np.array_equal(sc.draw(trial_rngs(11, 3)[0]).y, t1.y)
    assert a.history.shape == (3, 6) and a.n_evals.tolist() == [60] * 3


def test_conditional_crb_matches_finite_difference_fisher_information():
    """Independent check of the per-trial CRB: numerical Jacobian of the noiseless echo
    μ(p, α) = α D(p) x̄ (central differences through echo_apply), FIM = (2/σ²) Re J^H J, α nuisance."""
    sc = toy_scenario()
    tr = sc.draw(np.random.default_rng(4))
    p = tr.problem

    def mu(point):
        th, ph = angles(p.sat_pos, point[None], p.frames)
        return echo_apply(th, ph, p.beta, p.samples, 4, 4)[0].ravel()

    h = 1e-2
    cols = [(mu(tr.target + h * e) - mu(tr.target - h * e)) / (2 * h) for e in np.eye(3)] + [
        mu(tr.target)
    ]
    J = np.array(cols).T
    C_fd = np.linalg.inv(2 / p.noise_power * np.real(J.conj().T @ J))[:3, :3]
    crb, cond = trial_crbs(tr)
    assert cond == pytest.approx(np.trace(C_fd), rel=1e-5)
    C = location_crb(
        p.sat_pos, tr.target, sc.Rx, p.beta, noise_power=p.noise_power, nx=4, nz=4, frames=p.frames
    )
    assert crb == pytest.approx(np.trace(C), rel=1e-12)


def test_conditional_bound_exceeds_design_bound_on_average():
    """Jensen: FIM is linear in R_x and E[x̄ x̄^H] = R_x, so E tr FIM(x̄)^{-1} ≥ tr FIM(R_x)^{-1}."""
    sc = toy_scenario()
    crbs = np.array([trial_crbs(sc.draw(trial_rngs(0, i)[0])) for i in range(8)])
    assert crbs[:, 1].mean() > crbs[:, 0].mean()
    assert np.ptp(crbs[:, 0]) < 0.01 * crbs[:, 0].mean()  # isotropic R: phases of β hardly matter


def test_grid_rmse_respects_the_bound_fast():
    """30 trials at 140 dB echo SNR: grid RMSE ≥ RCRB within the 95 % tolerance, and not far above it."""
    res = monte_carlo(toy_scenario(), "grid", trials=30, seed=3, crb_trials=6, final_step=1e-2)
    assert res.consistent_with_bound()
    assert res.mse_se_m2 == pytest.approx(np.sum(res.errors**2, 1).std(ddof=1) / np.sqrt(30))
    assert res.rcrb_m < res.rmse_m < 3 * res.cond_rcrb_m
    # coarse stages are worse than the fine ones: ε = 1 m quantisation dominates a ~0.3 m bound
    assert res.stage_rmse_m[1.0] > res.stage_rmse_m[0.01]


def test_low_snr_errors_stay_inside_the_prior_box():
    res = monte_carlo(
        toy_scenario(noise_dbm=-40.0), "pso", trials=4, seed=0, crb_trials=2, conditional_crb=False
    )
    assert np.isnan(res.cond_rcrb_m)
    assert np.all(np.abs(res.errors_enu) <= 750.0 + 1e-6)  # |p̂ − p̄| ≤ 500, |p̄ − p| ≤ 250 per axis
    assert res.rmse_m > 10 * res.rcrb_m or res.rcrb_m > 100.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        monte_carlo(toy_scenario(), "pso", trials=1)
    with pytest.raises(ValueError, match="target"):
        SensingScenario(np.zeros((1, 3)), None, None, np.eye(16), 1e-14)
    with pytest.raises(ValueError, match="prior_spread_m"):
        SensingScenario(
            np.zeros((1, 3)), None, None, np.eye(16), 1e-14, target=np.ones(3), prior_spread_m=600.0
        )


def test_design_crb_scales_with_snapshots():
    """FIM × L: the design RCRB of an L = 4 trial is half the L = 1 one (same geometry and β draw)."""
    c1, _ = trial_crbs(toy_scenario(L=1).draw(np.random.default_rng(9)), conditional=False)
    c4, _ = trial_crbs(toy_scenario(L=4).draw(np.random.default_rng(9)), conditional=False)
    assert c4 == pytest.approx(c1 / 4, rel=1e-9)


@pytest.mark.slow
def test_operating_point_1000_trials_grid_and_pso():
    """Seed 000 operating point (Walker 72x22, type II, paper β, P_max 30 dBm, σ² −110 dBm, stand-in
    matched-filter + isotropic design, L = 1, targets uniform in the 15 km service disk), 1000 trials.

    Measured (seed 2026): grid ε = 1 mm RMSE 5.62 cm, PSO 7.28 cm, RCRB 3.85 cm, conditional RCRB
    5.25 cm; ~2.5 min on the 2-core machine.
    """
    sc = build_scenario(OperatingPoint())
    grid = monte_carlo(sc, "grid", trials=1000, seed=2026, crb_trials=200, final_step=1e-3)
    pso_ = monte_carlo(sc, "pso", trials=1000, seed=2026, crb_trials=2, conditional_crb=False)
    pso_.rcrb_m, pso_.crb_se_m2 = grid.rcrb_m, grid.crb_se_m2  # same trials, same bound
    for res in (grid, pso_):
        assert res.consistent_with_bound()  # RMSE ≥ RCRB within 1.96 standard errors
        assert (
            res.mse_se_m2 < 0.1 * res.rmse_m**2
        )  # the tolerance is tight enough to mean something
    assert grid.rmse_m / grid.rcrb_m <= 1.5
    # the grid ML is efficient w.r.t. the bound given the realised samples (complex α costs a little)
    assert grid.rmse_m <= 1.15 * grid.cond_rcrb_m
    # PSO is worse than the fine grid but far better than the 1 m grid (quantisation ε/2 = 0.5 m in 3-D)
    assert grid.rmse_m < pso_.rmse_m < grid.stage_rmse_m[1.0]
    assert 0.45 < grid.stage_rmse_m[1.0] < 0.75
