"""TR 38.811 clause 6.6 tables reproduced at the tabulated elevations, the nearest-row rule
between them, and the other clause 6.6 terms against independent computations.

The expected values are typed here from TR 38.811 V15.4.0 (Tables 6.6.1-1, 6.6.2-1..3,
6.6.6.2.1-1) as transcribed by ns-3 and OpenNTN, independently of twin/ntn/tables.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

import twin.ntn as ntn

EL = [10, 20, 30, 40, 50, 60, 70, 80, 90]

LOS = {  # Table 6.6.1-1, per cent
    "dense_urban": [28.2, 33.1, 39.8, 46.8, 53.7, 61.2, 73.8, 82.0, 98.1],
    "urban": [24.6, 38.6, 49.3, 61.3, 72.6, 80.5, 91.9, 96.8, 99.2],
    "suburban": [78.2, 86.9, 91.9, 92.9, 93.5, 94.0, 94.9, 95.2, 99.8],
    "rural": [78.2, 86.9, 91.9, 92.9, 93.5, 94.0, 94.9, 95.2, 99.8],
}

# rows: elevation -> (S: σLOS, σNLOS, CL, Ka: σLOS, σNLOS, CL)
DENSE_URBAN = {
    10: (3.5, 15.5, 34.3, 2.9, 17.1, 44.3),
    20: (3.4, 13.9, 30.9, 2.4, 17.1, 39.9),
    30: (2.9, 12.4, 29.0, 2.7, 15.6, 37.5),
    40: (3.0, 11.7, 27.7, 2.4, 14.6, 35.8),
    50: (3.1, 10.6, 26.8, 2.4, 14.2, 34.6),
    60: (2.7, 10.5, 26.2, 2.7, 12.6, 33.8),
    70: (2.5, 10.1, 25.8, 2.6, 12.1, 33.3),
    80: (2.3, 9.2, 25.5, 2.8, 12.3, 33.0),
    90: (1.2, 9.2, 25.5, 0.6, 12.3, 32.9),
}
URBAN_CL = {  # Table 6.6.2-2 (σ_SF is 4 dB LOS, 6 dB NLOS at every elevation)
    10: (34.3, 44.3),
    20: (30.9, 39.9),
    30: (29.0, 37.5),
    40: (27.7, 35.8),
    50: (26.8, 34.6),
    60: (26.2, 33.8),
    70: (25.8, 33.3),
    80: (25.5, 33.0),
    90: (25.5, 32.9),
}
SUBURBAN_RURAL = {
    10: (1.79, 8.93, 19.52, 1.9, 10.7, 29.5),
    20: (1.14, 9.08, 18.17, 1.6, 10.0, 24.6),
    30: (1.14, 8.78, 18.42, 1.9, 11.2, 21.9),
    40: (0.92, 10.25, 18.28, 2.3, 11.6, 20.0),
    50: (1.42, 10.56, 18.63, 2.7, 11.8, 18.7),
    60: (1.56, 10.74, 17.68, 3.1, 10.8, 17.8),
    70: (0.85, 10.17, 16.50, 3.0, 10.8, 17.2),
    80: (0.72, 11.52, 16.30, 3.6, 10.8, 16.9),
    90: (0.72, 11.52, 16.30, 0.4, 10.8, 16.8),
}


def expected_sf_cl(scenario, band, el):
    col = 0 if band == "S" else 3
    if scenario == "dense_urban":
        return DENSE_URBAN[el][col : col + 3]
    if scenario == "urban":
        return (4.0, 6.0, URBAN_CL[el][0 if band == "S" else 1])
    return SUBURBAN_RURAL[el][col : col + 3]


@pytest.mark.parametrize("scenario", list(LOS))
def test_los_probability_table_exact(scenario):
    for el, p in zip(EL, LOS[scenario]):
        assert ntn.los_probability(scenario, float(el)) == p / 100.0
    assert np.array_equal(
        ntn.los_probability(scenario, np.array(EL)), np.array(LOS[scenario]) / 100
    )


@pytest.mark.parametrize("scenario", list(LOS))
@pytest.mark.parametrize("band", ["S", "Ka"])
def test_shadow_fading_clutter_tables_exact(scenario, band):
    for el in EL:
        assert ntn.shadow_fading_clutter(scenario, band, el) == expected_sf_cl(scenario, band, el)
    arrays = ntn.shadow_fading_clutter(scenario, band, np.array(EL, dtype=float))
    for i, column in enumerate(arrays):
        assert column.shape == (9,)
        assert list(column) == [expected_sf_cl(scenario, band, el)[i] for el in EL]


def test_between_rows_nearest_tabulated_elevation():
    # halves round up; below 10 deg the 10 deg row, above 90 the 90 deg row
    cases = {0.0: 10, 9.0: 10, 14.99: 10, 15.0: 20, 44.0: 40, 45.0: 50, 86.0: 90, 90.0: 90}
    for el, row in cases.items():
        assert ntn.los_probability("urban", el) == LOS["urban"][EL.index(row)] / 100
        assert ntn.shadow_fading_clutter("rural", "S", el) == expected_sf_cl("rural", "S", row)
    grid = np.array([[12.0, 67.0], [33.0, 81.0]])
    assert ntn.los_probability("dense_urban", grid).shape == (2, 2)


def test_bad_scenario_band_refused():
    with pytest.raises(ValueError, match="scenario"):
        ntn.los_probability("city", 30.0)
    with pytest.raises(ValueError, match="band"):
        ntn.shadow_fading_clutter("urban", "Ku", 30.0)


def test_free_space_path_loss_matches_friis():
    d, f = np.array([550e3, 1500e3]), 20e9
    friis = 20 * np.log10(4 * np.pi * d * f / 299_792_458.0)
    assert np.allclose(ntn.free_space_path_loss_db(d, f), friis, atol=0.01)


def test_scintillation_tables():
    tropo = [1.08, 0.48, 0.30, 0.22, 0.17, 0.13, 0.12, 0.12, 0.12]  # Table 6.6.6.2.1-1
    assert list(ntn.scintillation_db("Ka", 20e9, np.array(EL, dtype=float))) == tropo
    # ionospheric: 1.1 dB peak-to-peak at 4 GHz / sqrt 2, f^-1.5 (ns-3 writes it 6.22 / f^1.5)
    assert ntn.scintillation_db("S", 2e9, 30.0) == pytest.approx(6.22 / 2**1.5, rel=1e-3)


def test_gas_absorption_against_digitised_p676_and_slant_scaling():
    # ns-3's digitised ITU-R P.676 zenith attenuation (dB) at 20, 30, 40, 60, 80 GHz
    ns3 = {20: 0.25, 30: 0.25, 40: 0.40, 60: 170.0, 80: 0.80}
    for f, value in ns3.items():
        assert ntn.gas_absorption_db(f * 1e9, 90.0) == pytest.approx(value, rel=0.1)
    zenith = ntn.gas_absorption_db(30e9, 90.0)
    assert ntn.gas_absorption_db(30e9, 30.0) == pytest.approx(zenith / np.sin(np.radians(30)))
    assert ntn.gas_absorption_db(4e9, 30.0) == 0.0  # below 10 GHz above 10 deg: not applied
    assert ntn.gas_absorption_db(4e9, 8.0) > 0.0


def test_building_entry_loss_is_p2109_median_and_quantiles():
    # P.2109 at 50 %: F^-1 = 0 -> 10 log10(10^(0.1 mu1) + 10^(0.1 mu2) + 10^-0.3), by hand
    f, th = 20.0, 30.0
    lf = np.log10(f)
    mu1 = 12.64 + 3.72 * lf + 0.96 * lf**2 + 0.212 * th
    mu2 = 9.1 - 3.0 * lf
    by_hand = 10 * np.log10(10 ** (0.1 * mu1) + 10 ** (0.1 * mu2) + 10**-0.3)
    assert ntn.building_entry_loss_db("traditional", f * 1e9, th) == pytest.approx(by_hand)
    low = ntn.building_entry_loss_db("thermally_efficient", f * 1e9, th, probability=norm.cdf(-1))
    high = ntn.building_entry_loss_db("thermally_efficient", f * 1e9, th, probability=0.9)
    assert low < ntn.building_entry_loss_db("thermally_efficient", f * 1e9, th) < high
    assert ntn.building_entry_loss_db("none", f * 1e9, np.zeros(3)).tolist() == [0.0] * 3
