"""The error budget: belief beside truth ([errors]), the per-source parts, today's tables kept."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml

from twin.clock import Twin
from twin.config.loader import scenario_from_dict
from twin.config.schema import ErrorsConfig
from twin.constellation.belief import Belief, older_constellation
from twin.constellation.orbits import propagate_itrs
from twin.constellation.tle import read_tle
from twin.geometry import geodetic_to_ecef
from twin.processes import attach
from twin.processes.errors import ADDITIVE, ErrorBudget
from twin.report import error_budget_specs
from twin.results import load
from twin.signal.ephemeris import rtn_basis

DATA = Path(__file__).parent / "constellation" / "data"
ALL_ON = dict(
    ephemeris="statistical",
    sigma_rtn_m=[3.0, 30.0, 3.0],
    clock="constant",
    clock_offset_sigma_ns=3.0,
    light_time=True,
    sagnac=True,
    troposphere=True,
    ionosphere_tecu=30.0,
)
ZERO = dict(
    ephemeris="statistical",
    sigma_rtn_m=[0.0, 0.0, 0.0],
    clock="constant",
    clock_offset_sigma_ns=0.0,
)


def _run(tmp_path, name, errors=None):
    data = tomllib.loads(
        scenario_toml(
            run={"name": "eb", "duration": "30s", "step": "30s", "seed": 4},
            visibility={"mask_elevation_deg": 10},
            terminals=[{"name": "c", "lat_deg": 40.0, "lon_deg": 10.0}],
            isac={
                "enabled": True,
                "design": "stand_in",
                "estimator": "pso",
                "pso_particles": 8,
                "pso_iterations": 4,
            },
            pnt={"enabled": True, "cluster_rings": 1, "max_sats": 12, "beamformer": "mf"},
            output={"dir": "unused", "tables": ["isac", "pnt"]},
        )
    )
    if errors is not None:
        data["errors"] = errors
    twin = Twin(scenario_from_dict(data, base_dir=tmp_path), tmp_path / name)
    attach(twin)
    twin.run()
    return load(tmp_path / name)


def test_off_is_today_and_zero_sized_sources_change_nothing(tmp_path):
    today = _run(tmp_path, "today")
    off = _run(tmp_path, "off", {"ephemeris": "exact", "clock": "none"})
    zero = _run(tmp_path, "zero", ZERO)
    for table in ("isac", "pnt"):
        keep = [c for c in today[table].columns if c != "solve_time_s"]  # wall clock
        assert list(off[table].columns) == list(today[table].columns)
        pd.testing.assert_frame_equal(today[table][keep], off[table][keep], check_exact=True)
        # every source on at zero size: today's columns bit for bit, the parts zero
        pd.testing.assert_frame_equal(today[table][keep], zero[table][keep], check_exact=True)
    pnt, isac = zero["pnt"], zero["isac"]
    assert len(pnt) > 0 and pnt["fix_error_m"].notna().any()
    for source in ("ephemeris", "clock"):
        assert np.nanmax(pnt[f"err_{source}_m"]) < 1e-6
    assert np.allclose(pnt["fix_error_total_m"], pnt["fix_error_m"], atol=1e-6, equal_nan=True)
    assert np.allclose(isac["error_total_m"], isac["error_m"], atol=1e-9)
    # the report's budget figures: only for runs that carry a budget
    assert error_budget_specs(today) == []
    specs = error_budget_specs(zero)
    assert [s.name for s in specs] == ["pnt_error_budget.png", "isac_error_budget.png"]
    assert all(len(s.build().axes) == 2 for s in specs)


def _scene(rng, n=6):
    """A fake epoch: n satellites 550 km up around a UT at (40° N, 10° E), the UT, start point."""
    ut = geodetic_to_ecef(np.radians(40.0), np.radians(10.0), 100.0)
    up = ut / np.linalg.norm(ut)
    pos = ut + up * 8e5 + rng.normal(scale=6e5, size=(n, 3))
    vel = np.cross(pos, [0.0, 0.0, 1.0])
    vel = 7600.0 * vel / np.linalg.norm(vel, axis=1, keepdims=True)
    return pos, vel, ut


def _epoch(pos, vel, belief_pos, clock, belief_clock):
    return SimpleNamespace(
        sat_pos=pos,
        sat_vel=vel,
        belief_pos=belief_pos,
        belief_vel=vel,
        sat_clock_s=clock,
        belief_clock_s=belief_clock,
    )


def _parts(config, epoch, ut):
    budget = ErrorBudget(config, 20e9)
    L = len(epoch.sat_pos) - 1
    draws = (np.zeros((1, L)), 1e-18 * (np.ones((1, L, L)) + np.eye(L)), np.array([True]))
    start = ut + np.array([300.0, -200.0, 50.0])
    return budget.pnt_columns(epoch, ut[None], start[None], np.arange(1, L + 1)[None], 0, draws)[0]


def test_each_part_is_zero_exactly_when_its_source_is_off():
    rng = np.random.default_rng(7)
    pos, vel, ut = _scene(rng)
    belief = pos + rng.normal(scale=10.0, size=pos.shape)
    clock = rng.normal(scale=5e-9, size=len(pos))
    epoch = _epoch(pos, vel, belief, clock, np.zeros(len(pos)))
    all_on = ErrorsConfig(**ALL_ON)
    full = _parts(all_on, epoch, ut)
    switch = {
        "ephemeris": {"ephemeris": "exact", "sigma_rtn_m": None},
        "clock": {"clock": "none", "clock_offset_sigma_ns": 0.0},
        "flight": {"light_time": False, "sagnac": False},
        "troposphere": {"troposphere": False},
        "ionosphere": {"ionosphere_tecu": 0.0},
    }
    for source, off in switch.items():
        assert full[f"err_{source}_m"] > 1e-3, source
        config = ErrorsConfig(**{**ALL_ON, **off})
        ep = epoch if source != "ephemeris" else _epoch(pos, vel, pos, clock, np.zeros(len(pos)))
        parts = _parts(config, ep, ut)
        assert parts[f"err_{source}_m"] == 0.0
        for other in switch:  # the same draws: the other parts are unchanged
            if other != source:
                assert parts[f"err_{other}_m"] == pytest.approx(full[f"err_{other}_m"], abs=1e-6)
    assert full["fix_error_total_m"] > max(full[f"err_{k}_m"] for k in ADDITIVE) * 0.5


def test_tdoa_invariances_common_clock_and_common_shift():
    rng = np.random.default_rng(8)
    pos, vel, ut = _scene(rng)
    shift = np.array([40.0, -25.0, 10.0])
    # a clock offset common to every satellite cancels in a TDOA (like the UT's own clock)
    common = _epoch(pos, vel, pos, np.full(len(pos), 7e-6), np.zeros(len(pos)))
    parts = _parts(ErrorsConfig(clock="constant", clock_offset_sigma_ns=1.0), common, ut)
    assert parts["err_clock_m"] < 1e-6
    # every believed satellite moved by the same vector moves the fix by that vector
    moved = _epoch(pos, vel, pos + shift, np.zeros(len(pos)), np.zeros(len(pos)))
    parts = _parts(ErrorsConfig(ephemeris="statistical", sigma_rtn_m=[1.0, 1.0, 1.0]), moved, ut)
    assert parts["err_ephemeris_m"] == pytest.approx(np.linalg.norm(shift), abs=1e-4)
    assert parts["belief_err_3d_m"] == pytest.approx([np.linalg.norm(shift)] * len(pos))


def test_statistical_belief_is_seeded_per_satellite_in_rtn():
    sats = read_tle(DATA / "starlink-2026-05-26-sample.tle")
    times = pd.date_range("2026-05-26T18:00Z", periods=3, freq="10s")
    pos, vel, _ = propagate_itrs(sats, times.to_numpy())
    config = ErrorsConfig(ephemeris="statistical", sigma_rtn_m=[2.0, 50.0, 1.0])
    belief = Belief(config, sats, times, seed=5)
    other = Belief(config, sats.subset(np.arange(10)), times, seed=5)
    bpos, *_ = belief.states(2, pos[2], vel[2])
    rtn = np.einsum("sij,sj->si", rtn_basis(pos[2], vel[2]), bpos - pos[2])
    assert np.allclose(rtn, belief.z * [2.0, 50.0, 1.0])
    assert np.array_equal(other.z, belief.z[:10])
    aged = Belief(ErrorsConfig(ephemeris="statistical", age_days=2.0), sats, times, seed=5)
    assert np.allclose(aged.sigma_rtn_m(0) / aged.sigma_rtn_m(2), 2.0 / (2.0 + 20 / 86400))


def test_tle_age_takes_the_newest_record_old_enough():
    truth = read_tle(DATA / "starlink-2026-05-26-sample.tle")
    older = read_tle(DATA / "starlink-2026-05-24-sample.tle")
    files = [DATA / "starlink-2026-05-24-sample.tle", DATA / "starlink-2026-05-26-sample.tle"]
    start = np.datetime64("2026-05-27T00:00", "ns")
    fresh, known = older_constellation(truth, files, start, 0.0)
    assert known.all() and np.array_equal(fresh.epochs, np.maximum(truth.epochs, older.epochs))
    aged, known = older_constellation(truth, files, start, 1.5)
    limit = start - np.timedelta64(36, "h")
    for i in range(len(truth)):
        candidates = [e for e in (truth.epochs[i], older.epochs[i]) if e <= limit]
        assert known[i] == bool(candidates)
        if candidates:
            assert aged.epochs[i] == max(candidates)


def test_a_singular_believed_geometry_gives_nan_not_a_crash():
    rng = np.random.default_rng(9)
    pos, vel, ut = _scene(rng)
    same = np.broadcast_to(pos[0], pos.shape).copy()  # every believed satellite in one place
    epoch = _epoch(pos, vel, same, np.zeros(len(pos)), np.zeros(len(pos)))
    parts = _parts(ErrorsConfig(ephemeris="statistical", sigma_rtn_m=[1.0, 1.0, 1.0]), epoch, ut)
    assert np.isnan(parts["err_ephemeris_m"]) and np.isnan(parts["fix_error_total_m"])


def test_corrections_remove_most_of_flight_and_atmosphere():
    rng = np.random.default_rng(10)
    pos, vel, ut = _scene(rng)
    epoch = _epoch(pos, vel, pos, np.zeros(len(pos)), np.zeros(len(pos)))
    raw = dict(light_time=True, sagnac=True, troposphere=True, ionosphere_tecu=50.0)
    uncorrected = _parts(ErrorsConfig(**raw), epoch, ut)
    corrected = _parts(
        ErrorsConfig(**raw, flight_corrected=True, atmosphere_residual=0.1), epoch, ut
    )
    assert corrected["err_flight_m"] < 0.01 * uncorrected["err_flight_m"]
    for k in ("troposphere", "ionosphere"):  # 10 % left, evaluated at a fix near the truth
        assert corrected[f"err_{k}_m"] == pytest.approx(0.1 * uncorrected[f"err_{k}_m"], rel=0.05)
