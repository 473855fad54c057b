"""DSTA's total-power reading (twin.pnt.sum_power) and the "grid" threshold rule (issue 13)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from pnt.test_calibrate import _one_satellite
from twin.pnt import beamforming as bf
from twin.pnt.sum_power import TOL, sum_power_feasible


def _min_total_power_socp(Hn, gamma):
    """Independent reference: min Σ‖x_c‖² s.t. SINR_c ≥ γ_c (unit noise), as a cvxpy SOCP
    (Bengtsson-Ottersten: rotate h_c^T x_c real). Returns the least total power or inf."""
    K, r = Hn.shape
    X = cp.Variable((r, K), complex=True)
    cons = []
    for c in range(K):
        sig = Hn[c] @ X[:, c]
        others = [Hn[c] @ X[:, k] for k in range(K) if k != c]
        cons += [
            cp.imag(sig) == 0,
            cp.norm(cp.hstack([*others, 1.0])) <= cp.real(sig) / np.sqrt(gamma[c]),
        ]
    prob = cp.Problem(cp.Minimize(cp.sum_squares(cp.abs(X))), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value if prob.status == cp.OPTIMAL else np.inf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sum_power_verdict_matches_the_socp_least_power(seed):
    """Feasible just above the SOCP's least total power, infeasible just below, and the
    returned beams meet every threshold within the budget."""
    rng = np.random.default_rng(seed)
    K, r = 4, 4
    Hn = (rng.normal(size=(K, r)) + 1j * rng.normal(size=(K, r))) * 2.0
    gamma = rng.uniform(2.0, 8.0, size=K)
    p_star = _min_total_power_socp(Hn, gamma)
    assert np.isfinite(p_star)
    ok, X, q = sum_power_feasible(Hn, gamma, p_star * 1.01)
    assert ok and q.sum() <= p_star * (1 + 1e-6)  # iterates rise towards the least power
    Y = np.abs(Hn @ X) ** 2
    sinr = Y.diagonal() / (Y.sum(axis=1) - Y.diagonal() + 1.0)
    assert np.all(sinr >= gamma * (1 - TOL)) and np.sum(np.abs(X) ** 2) <= p_star * 1.01 * (1 + TOL)
    ok, X, _ = sum_power_feasible(Hn, gamma, p_star * 0.99)
    assert not ok and X is None


def test_sum_power_refuses_bad_input():
    with pytest.raises(ValueError):
        sum_power_feasible(np.ones((2, 2)), np.array([1.0, -1.0]), 2.0)
    with pytest.raises(ValueError):
        sum_power_feasible(np.ones((2, 2)), np.array([1.0, 1.0]), 0.0)


def test_total_power_dsta_can_pass_scbwi_on_a_link_per_beam_cannot():
    """Orthogonal channels with interference-free SNRs 8 and 40 (per-beam power P): per
    beam, UT 0 can never beat its SCBWI SNR 8; with the satellite's total 2P, γ' = 10 is
    feasible for both (1.25P + 0.25P: UT 0 takes power from UT 1), so UT 0 passes its SCBWI value, as
    the paper's 20 dBW DSTA does (Table III)."""
    args = _one_satellite([8.0, 40.0])
    per_beam = bf.dsta(**args, threshold_rule="common")
    total = bf.dsta(**args, threshold_rule="common", power_constraint="total")
    scbwi = bf.scbwi_sinr(args["H"][0], args["power_w"], args["noise_w"])
    assert per_beam.sinr[0, 0] <= scbwi[0] * (1 + 1e-9)
    assert list(total.status) == ["ok"] and total.sinr[0, 0] >= 10.0 * (1 - TOL) > scbwi[0]
    W = total.W[0]
    assert np.sum(np.abs(W) ** 2) <= 2 * args["power_w"] * (1 + TOL)
    with pytest.raises(ValueError):
        bf.dsta(**args, power_constraint="per_ut")


def test_grid_rule_lowers_down_the_threshold_grid():
    """SNRs 7.5 and 9 per beam, orthogonal: γ' = 10 and 10 - 2 = 8 are infeasible (UT 0
    caps at 7.5), 6 is feasible, so the grid rule starts both UTs at 6, then raises UT 1
    to 8 (10 is out of its reach) and UT 0 stays at 6 (8 > 7.5); common bisection would
    start both at 7.5."""
    args = _one_satellite([7.5, 9.0])
    res = bf.dsta(**args, threshold_rule="grid")
    assert res.status[0] == "lowered"
    assert res.sinr[0, 0] == pytest.approx(6.0, rel=1e-3)
    assert res.sinr[0, 1] == pytest.approx(8.0, rel=1e-3)
    common = bf.dsta(**args, threshold_rule="common")
    assert common.sinr[0, 0] == pytest.approx(7.5, rel=0.02)
