"""Monte Carlo checks of the drawn channel against the model: LOS share = Table 6.6.1-1,
shadow-fading standard deviation = Tables 6.6.2-x, correlation over distance = exp(-Δ/d_corr);
and determinism per link (the same link at the same place gives the same numbers, so windows
and resumes agree), independence across links, drift along a pass."""

from __future__ import annotations

import numpy as np
import pytest

import twin.ntn as ntn
from twin.geometry import enu_basis, geodetic_to_ecef
from twin.ntn.consistency import link_fields, link_hash

LAT, LON = np.radians(48.1), np.radians(11.6)
RX = geodetic_to_ecef(np.array([LAT]), np.array([LON]), np.zeros(1))[0]
BASIS = enu_basis(LAT, LON)  # rows east, north, up


def sat_at(elevation_deg, azimuth_deg=0.0, slant_m=1.0e6):
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    enu = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
    return RX + slant_m * enu @ BASIS


@pytest.mark.parametrize("scenario, band", [("urban", "Ka"), ("dense_urban", "S"), ("rural", "Ka")])
def test_los_share_and_sf_std_match_tables(scenario, band):
    n = 12000
    channel = ntn.NtnChannel(scenario=scenario, band=band, freq_hz=20e9, seed=7)
    for el in (20.0, 50.0):
        r = ntn.link_losses(
            channel, np.tile(RX, (n, 1)), np.tile(sat_at(el), (n, 1)), np.arange(n), np.zeros(n)
        )
        p = ntn.los_probability(scenario, el)
        assert abs(r.los.mean() - p) < 4 * np.sqrt(p * (1 - p) / n) + 0.005
        s_los, s_nlos, cl = ntn.shadow_fading_clutter(scenario, band, el)
        assert np.std(r.sf_db[r.los]) == pytest.approx(s_los, rel=0.05)
        assert np.std(r.sf_db[~r.los]) == pytest.approx(s_nlos, rel=0.06)
        assert abs(np.mean(r.sf_db[r.los])) < 4 * s_los / np.sqrt(r.los.sum()) + 0.02 * s_los
        assert np.all(r.cl_db[~r.los] == cl) and np.all(r.cl_db[r.los] == 0)


def test_field_correlation_over_distance_is_exponential():
    n, length = 20000, 50.0
    h = link_hash(3, np.arange(n), np.full(n, 5))
    rng = np.random.default_rng(0)
    start = RX + rng.normal(scale=1e3, size=(n, 3))
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    g0 = link_fields(h, start, [length])[0]
    assert np.mean(g0) == pytest.approx(0.0, abs=0.03)
    assert np.std(g0) == pytest.approx(1.0, abs=0.03)
    for distance in (10.0, 50.0, 150.0):
        g1 = link_fields(h, start + distance * direction, [length])[0]
        rho = np.mean(g0 * g1)  # unit variance fields
        assert rho == pytest.approx(np.exp(-distance / length), abs=0.03), distance


def test_same_link_same_numbers_other_link_independent():
    channel = ntn.NtnChannel(scenario="urban", band="Ka", freq_hz=20e9, seed=11)
    sats = np.stack([sat_at(40.0 + i, 30.0 * i) for i in range(5)])
    rx = np.tile(RX, (5, 1))
    a = ntn.link_losses(channel, rx, sats, np.full(5, 9), np.arange(5))
    b = ntn.link_losses(channel, rx[::-1], sats[::-1], np.full(5, 9), np.arange(5)[::-1])
    assert np.array_equal(a.sf_db, b.sf_db[::-1]) and np.array_equal(a.los, b.los[::-1])
    # grid = pairs
    g = ntn.grid_losses(channel, RX[None], sats, [9], np.arange(5))
    assert g.sf_db.shape == (1, 5) and np.array_equal(g.sf_db[0], a.sf_db)
    # another satellite key or another seed: another realisation (correlation ~ 0 over many)
    n = 20000
    rxs = np.tile(RX, (n, 1))
    base = link_fields(link_hash(1, np.arange(n), np.zeros(n)), rxs, [37.0])[0]
    other_sat = link_fields(link_hash(1, np.arange(n), np.ones(n)), rxs, [37.0])[0]
    other_seed = link_fields(link_hash(2, np.arange(n), np.zeros(n)), rxs, [37.0])[0]
    assert abs(np.corrcoef(base, other_sat)[0, 1]) < 0.04
    assert abs(np.corrcoef(base, other_seed)[0, 1]) < 0.04


def test_channel_drifts_along_a_pass_not_redrawn():
    """A satellite crossing from 30 to 90 deg elevation in 100 steps: consecutive steps' shadow
    fading is strongly correlated (the clutter point moves a few metres per step), while the
    whole pass decorrelates (it moves h_c / tan(30 deg) = 35 m in urban, d_corr 37-50 m)."""
    channel = ntn.NtnChannel(scenario="urban", band="Ka", freq_hz=20e9, seed=5)
    n_links, steps = 300, 60
    el = np.linspace(30.0, 90.0, steps)
    sats = np.stack([sat_at(e, 45.0) for e in el])  # (T, 3)
    sf = np.empty((n_links, steps))
    for t in range(steps):
        r = ntn.link_losses(
            channel,
            np.tile(RX, (n_links, 1)),
            np.tile(sats[t], (n_links, 1)),
            np.arange(n_links),
            np.zeros(n_links),
        )
        sf[:, t] = r.sf_db
    lag1 = np.mean([np.corrcoef(sf[:, t], sf[:, t + 1])[0, 1] for t in range(steps - 1)])
    assert lag1 > 0.8
    assert abs(np.corrcoef(sf[:, 0], sf[:, -1])[0, 1]) < 0.6


def test_bad_channel_refused():
    with pytest.raises(ValueError, match="scenario"):
        ntn.NtnChannel(scenario="city")
    with pytest.raises(ValueError, match="freq_hz"):
        ntn.NtnChannel(freq_hz=200e9)
    with pytest.raises(ValueError, match="building"):
        ntn.NtnChannel(building="tent")
