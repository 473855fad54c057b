"""``small_scale = "flat"``: the TR 38.811 clause 6.7 K-factor table, and Monte Carlo checks of
the drawn gains against independent distributions (scipy's Rice and exponential laws): E|h|^2 = 1,
the Rician K of the LOS links, Rayleigh in NLOS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import twin.ntn as ntn

# (scenario, band, elevation, mu_K dB) typed from TR 38.811 Tables 6.7.2-1a/b, 3a/b, 5a/b, 7a/b
ROWS = [
    ("dense_urban", "S", 10, 4.4),
    ("dense_urban", "Ka", 20, 13.7),
    ("urban", "S", 10, 31.83),
    ("urban", "Ka", 90, 3.81),
    ("suburban", "S", 50, 21.60),
    ("suburban", "Ka", 90, 5.4),
    ("rural", "S", 50, 5.04),
    ("rural", "Ka", 30, 8.40),
]


@pytest.mark.parametrize(("scenario", "band", "elevation", "k_db"), ROWS)
def test_k_factor_table(scenario, band, elevation, k_db):
    assert ntn.rician_k_db(scenario, band, elevation) == pytest.approx(k_db, abs=1e-12)
    # nearest tabulated row between rows (as every clause 6.6 table here)
    assert ntn.rician_k_db(scenario, band, elevation + 4.9) == pytest.approx(k_db, abs=1e-12)


def _estimated_k(power):
    """Moment estimator of the Rician K from |h|^2 samples: gamma = Var(P) / E[P]^2 = (2K + 1) /
    (K + 1)^2, so K = sqrt(1 - gamma) / (1 - sqrt(1 - gamma)) (Greenstein et al. 1999)."""
    gamma = np.var(power) / np.mean(power) ** 2
    root = np.sqrt(1.0 - gamma)
    return root / (1.0 - root)


@pytest.mark.parametrize("k_db", [3.68, 9.0, 13.7])
def test_los_gain_is_rician_with_the_table_k_and_unit_power(k_db):
    rng = np.random.default_rng(11)
    n = 200_000
    h = ntn.flat_fading(np.ones(n, bool), np.full(n, k_db), rng)
    power = np.abs(h) ** 2
    assert np.mean(power) == pytest.approx(1.0, abs=0.01)
    k = 10.0 ** (k_db / 10.0)
    assert _estimated_k(power) == pytest.approx(k, rel=0.05)
    # |h| against scipy's Rice law: nu = sqrt(K / (K + 1)), sigma^2 = 1 / (2 (K + 1))
    sigma = np.sqrt(0.5 / (k + 1.0))
    law = stats.rice(b=np.sqrt(k / (k + 1.0)) / sigma, scale=sigma)
    assert stats.kstest(np.abs(h[:20_000]), law.cdf).pvalue > 1e-3


def test_nlos_gain_is_rayleigh_and_k_is_ignored():
    rng = np.random.default_rng(12)
    n = 200_000
    h = ntn.flat_fading(np.zeros(n, bool), np.full(n, 20.0), rng)  # K ignored in NLOS
    power = np.abs(h) ** 2
    assert np.mean(power) == pytest.approx(1.0, abs=0.01)
    assert stats.kstest(power[:20_000], stats.expon().cdf).pvalue > 1e-3
    assert np.mean(h) == pytest.approx(0.0, abs=0.01)


def test_draw_count_does_not_depend_on_the_states():
    a = ntn.flat_fading(np.array([True, False, True]), np.full(3, 5.0), np.random.default_rng(3))
    b = ntn.flat_fading(np.array([False, False, True]), np.full(3, 5.0), np.random.default_rng(3))
    assert a[2] == b[2]  # link 3's numbers are the same whatever link 1's state
