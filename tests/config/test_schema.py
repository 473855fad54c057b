"""twin.config.schema: SI properties and epochs, the validation rules of each section, defaults,
process sections and the paper scenarios."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from config.refusals import (
    BASE,
    REPO,
    SCENARIOS,
    assert_at,
    line_of,
    one_problem,
    refused,
    write_scenario,
)
from twin.config.loader import load_scenario
from twin.config.schema import TABLE_NAMES
from twin.errors import InputError


def test_default_scenario_is_small_and_offline():
    s = load_scenario(SCENARIOS / "default.toml")
    assert s.constellation.kind == "walker" and s.constellation.tle_file is None
    shell = s.constellation.shells[0]
    assert (shell.total, shell.planes, shell.phasing, shell.per_plane) == (792, 36, 1, 22)
    assert s.run.start == datetime(2026, 5, 28, 12, tzinfo=UTC)
    assert (s.run.duration_s, s.run.step_s, s.run.n_epochs) == (3600.0, 30.0, 121)
    assert len(s.targets) == 2 and len(s.terminals) == 2
    assert all(20 <= abs(e.lat_deg) <= 60 for e in s.ground_entities())


def test_walker_72x22_is_seed_000():
    s = load_scenario(SCENARIOS / "walker-72x22.toml")
    shell = s.constellation.shells[0]
    assert (shell.total, shell.planes, shell.phasing, shell.per_plane) == (1584, 72, 1, 22)
    assert shell.altitude_m == 550e3 and shell.inclination_rad == pytest.approx(math.radians(53))
    assert (s.serving.group_size, s.serving.collaboration, s.serving.group_mask_elevation_rad) == (
        5,
        "II",
        0.0,
    )
    assert (s.run.duration_s, s.run.step_s, s.run.n_epochs) == (1800.0, 10.0, 181)


def test_starlink_replay_points_at_the_shipped_tle():
    s = load_scenario(SCENARIOS / "starlink-replay.toml")
    assert s.constellation.kind == "tle"
    assert s.constellation.tle_file == REPO / "ephemeris" / "starlink-2026-05-28.tle"
    assert s.constellation.tle_file.is_file()
    assert s.constellation.max_epoch_age_s == 3.0 * 86400
    assert s.run.start == datetime(2026, 5, 28, 18, tzinfo=UTC) and s.run.n_epochs == 721
    assert len(s.terminals) >= 3
    for e in s.ground_entities():  # all within ~40 km of Munich centre
        assert abs(e.lat_deg - 48.14) < 0.4 and abs(e.lon_deg - 11.58) < 0.5


def test_si_properties_and_defaults(tmp_path):
    s = load_scenario(write_scenario(tmp_path, BASE))
    assert s.visibility.mask_elevation_deg == 10.0
    assert s.visibility.mask_elevation_rad == pytest.approx(math.radians(10.0))
    assert s.isl.max_range_m == 5.0e6 and s.isl.atmosphere_margin_m == 80e3
    assert s.isl.enabled and s.isl.inter_plane
    assert s.serving.hysteresis_rad == pytest.approx(math.radians(2.0))
    assert s.serving.group_size == 5 and s.serving.collaboration == "II"
    assert s.constellation.shells[0].name == "shell-1"
    assert s.constellation.shells[0].raan_offset_rad == 0.0
    assert s.output.tables == list(TABLE_NAMES) and s.output.links is False
    assert s.output.dir == tmp_path / "out"
    assert s.run.seed == 0 and s.run.checkpoint_every == 60
    t = s.targets[0]
    assert (t.lat_rad, t.lon_rad, t.alt_m) == (math.radians(40.0), math.radians(116.0), 0.0)
    assert t.velocity_enu_mps is None and t.waypoints is None


def test_epochs_floor_and_times(tmp_path):
    text = BASE.replace('duration = "1h"', "duration = 95").replace('step = "30s"', 'step = "10s"')
    run = load_scenario(write_scenario(tmp_path, text)).run
    assert run.n_epochs == 10  # floor(95/10) + 1: last epoch at 90 s, not past the end
    start = datetime(2026, 5, 28, 12, tzinfo=UTC)
    assert run.epoch_times() == [start + timedelta(seconds=10 * i) for i in range(10)]
    assert all(t.tzinfo is not None for t in run.epoch_times())
    np.testing.assert_array_equal(run.epoch_offsets_s(), 10.0 * np.arange(10))
    t64 = run.epoch_times64()
    assert t64.dtype == np.dtype("datetime64[ns]")
    assert t64[0] == np.datetime64("2026-05-28T12:00:00", "ns") and t64[-1] == np.datetime64(
        "2026-05-28T12:01:30", "ns"
    )


def test_durations_go_through_the_shared_grammar(tmp_path):
    text = BASE.replace('duration = "1h"', 'duration = "1.5h"').replace('step = "30s"', "step = 45")
    run = load_scenario(write_scenario(tmp_path, text)).run
    assert (run.duration_s, run.step_s) == (5400.0, 45.0)
    problem = one_problem(
        refused(tmp_path, BASE.replace('duration = "1h"', 'duration = "2 hours"')), "run.duration"
    )
    assert (
        "not a duration" in problem.reason and "'2 hours'" in problem.reason
    )  # twin.units.parse_duration's message


@pytest.mark.parametrize(
    "start",
    [
        '"2026-05-28T14:00:00+02:00"',
        "2026-05-28T14:00:00+02:00",
        "2026-05-28T12:00:00",
        '"2026-05-28T12:00:00Z"',
    ],
)
def test_start_forms_all_mean_the_same_utc_instant(tmp_path, start):
    s = load_scenario(
        write_scenario(tmp_path, BASE.replace("start = 2026-05-28T12:00:00Z", f"start = {start}"))
    )
    assert s.run.start == datetime(2026, 5, 28, 12, tzinfo=UTC)
    assert s.run.start.utcoffset() == timedelta(0)
    assert s.to_resolved_dict()["run"]["start"] == "2026-05-28T12:00:00Z"


def test_start_refusals(tmp_path):
    text = BASE.replace("start = 2026-05-28T12:00:00Z", "start = 2026-05-28")
    problem = one_problem(refused(tmp_path, text), "run.start")
    assert "date without a time" in problem.reason
    assert_at(problem, tmp_path / "s.toml", 3)
    text = BASE.replace("start = 2026-05-28T12:00:00Z", 'start = "yesterday"')
    assert "ISO 8601" in one_problem(refused(tmp_path, text), "run.start").reason


def test_walker_without_shells_and_tle_without_file(tmp_path):
    text = (
        BASE.split("[[constellation.shells]]")[0] + "\n[[targets]]" + BASE.split("[[targets]]")[1]
    )
    problem = one_problem(refused(tmp_path, text), "constellation.shells")
    assert "kind = 'walker'" in problem.reason and "[[constellation.shells]]" in problem.reason
    assert_at(problem, tmp_path / "s.toml", line_of(text, "[constellation]"))

    text = text.replace('kind = "walker"', 'kind = "tle"')
    problem = one_problem(refused(tmp_path, text), "constellation.tle_file")
    assert "kind = 'tle' needs tle_file" in problem.reason
    assert_at(problem, tmp_path / "s.toml", line_of(text, "[constellation]"))


def test_tle_file_that_does_not_exist_is_named(tmp_path):
    text = (
        BASE.split("[[constellation.shells]]")[0].replace(
            'kind = "walker"', 'kind = "tle"\ntle_file = "../ephemeris/nope.tle"'
        )
        + "\n[[targets]]"
        + BASE.split("[[targets]]")[1]
    )
    (tmp_path / "case").mkdir()
    path = write_scenario(tmp_path / "case", text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    problem = one_problem(info.value.problems, "constellation.tle_file")
    assert (
        str(tmp_path / "ephemeris" / "nope.tle") in problem.reason and "not found" in problem.reason
    )
    assert_at(problem, path, line_of(text, "tle_file"))


def test_tle_file_relative_to_the_scenario_folder(tmp_path):
    (tmp_path / "eph").mkdir()
    (tmp_path / "eph" / "x.tle").write_text("placeholder\n")
    (tmp_path / "sc").mkdir()
    text = (
        BASE.split("[[constellation.shells]]")[0].replace(
            'kind = "walker"', 'kind = "tle"\ntle_file = "../eph/x.tle"\nmax_satellites = 12'
        )
        + "\n[[targets]]"
        + BASE.split("[[targets]]")[1]
    )
    s = load_scenario(write_scenario(tmp_path / "sc", text))
    assert s.constellation.tle_file == tmp_path / "eph" / "x.tle"
    assert s.constellation.max_satellites == 12
    assert s.output.dir == tmp_path / "sc" / "out"


def test_mixing_walker_and_tle_fields_is_refused(tmp_path):
    tle = tmp_path / "x.tle"
    tle.write_text("placeholder\n")
    text = BASE.replace('kind = "walker"', f'kind = "walker"\ntle_file = "{tle}"')
    problem = one_problem(refused(tmp_path, text), "constellation.tle_file")
    assert "only used with kind = 'tle'" in problem.reason


def test_waypoint_times_must_increase(tmp_path):
    text = BASE.replace(
        'name = "t1"\nlat_deg = 40.0\nlon_deg = 116.0',
        'name = "t1"\nwaypoints = [\n  {time = "0s", lat_deg = 40.0, lon_deg = 116.0},\n'
        '  {time = "30m", lat_deg = 40.1, lon_deg = 116.0},\n  {time = "20m", lat_deg = 40.2, lon_deg = 116.0},\n]',
    )
    problem = one_problem(refused(tmp_path, text), "targets[0].waypoints[2].time")
    assert "waypoints[2].time = 1200 s is not after waypoints[1].time = 1800 s" in problem.reason
    assert_at(problem, tmp_path / "s.toml", line_of(text, 'time = "20m"'))


def test_velocity_and_waypoints_are_exclusive_and_position_must_match(tmp_path):
    text = BASE.replace(
        'name = "t1"\nlat_deg = 40.0\nlon_deg = 116.0',
        'name = "t1"\nlat_deg = 41.0\nvelocity_enu_mps = [1.0, 0.0, 0.0]\n'
        "waypoints = [{time = 0, lat_deg = 40.0, lon_deg = 116.0}]",
    )
    problems = refused(tmp_path, text)
    assert "mutually exclusive" in one_problem(problems, "targets[0].velocity_enu_mps").reason
    problem = one_problem(problems, "targets[0].lat_deg")
    assert "differs from waypoints[0].lat_deg" in problem.reason
    assert_at(problem, tmp_path / "s.toml", line_of(text, "lat_deg = 41.0"))


def test_static_entity_needs_a_position(tmp_path):
    text = BASE.replace('name = "ut1"\nlat_deg = 40.1\n', 'name = "ut1"\n')
    problem = one_problem(refused(tmp_path, text), "terminals[0].lat_deg")
    assert "lat_deg is required" in problem.reason
    assert_at(problem, tmp_path / "s.toml", line_of(text, "[[terminals]]"))


def test_entity_names_unique_across_targets_and_terminals(tmp_path):
    text = (
        BASE.replace('name = "ut1"', 'name = "t1"')
        + '\n[[terminals]]\nname = "t1"\nlat_deg = 1\nlon_deg = 2\n'
    )
    problems = refused(tmp_path, text)
    p0 = one_problem(problems, "terminals[0].name")
    p1 = one_problem(problems, "terminals[1].name")
    assert "already used by targets[0]" in p0.reason and "already used by targets[0]" in p1.reason
    assert_at(p0, tmp_path / "s.toml", line_of(text, 'name = "t1"', 2))
    assert_at(p1, tmp_path / "s.toml", line_of(text, 'name = "t1"', 3))


def test_track_reaching_the_pole_is_refused(tmp_path):
    text = BASE.replace(
        "lat_deg = 40.0\nlon_deg = 116.0",
        "lat_deg = 88.5\nlon_deg = 116.0\nvelocity_enu_mps = [0.0, 100.0, 0.0]",
    )
    problem = one_problem(refused(tmp_path, text), "targets[0].velocity_enu_mps")
    assert "latitude" in problem.reason and "3600 s" in problem.reason


def test_collaboration_types_and_group_size(tmp_path):
    text = BASE + '\n[serving]\ngroup_size = 5\ncollaboration = "III"\n'
    s = load_scenario(
        write_scenario(tmp_path, text)
    )  # K != 7 with type III is allowed (documented)
    assert (s.serving.group_size, s.serving.collaboration) == (5, "III")
    text = BASE + '\n[serving]\ngroup_size = 0\ncollaboration = "IV"\n'
    problems = refused(tmp_path, text)
    assert "group_size = 0" in one_problem(problems, "serving.group_size").reason
    assert "'I', 'II' or 'III'" in one_problem(problems, "serving.collaboration").reason


def test_optional_sections_default_and_pickle(tmp_path):

    text = BASE.split("[output]")[
        0
    ]  # no [output]: dir defaults to runs/<run.name> next to the file
    s = load_scenario(write_scenario(tmp_path, text))
    assert s.output.dir == tmp_path / "runs" / "t" and s.output.tables == list(TABLE_NAMES)
    again = pickle.loads(pickle.dumps(s))  # sweeps ship scenarios to dask workers
    assert again == s and again.source_path == s.source_path == tmp_path / "s.toml"


def test_paper_scenarios_carry_the_seeds_settings():
    isac = load_scenario(SCENARIOS / "paper-isac.toml")
    shell = isac.constellation.shells[0]
    assert (shell.total, shell.planes, shell.altitude_km, shell.inclination_deg) == (
        1584,
        72,
        550,
        53,
    )
    c = isac.isac
    assert c.enabled and not isac.pnt.enabled
    assert (
        c.nx,
        c.nz,
        c.p_max_dbm,
        c.sensing_noise_dbm,
        c.n_ue,
        c.ue_radius_m,
        c.rate_target_bps_hz,
    ) == (4, 4, 30.0, -110.0, 10, 15e3, 2.0)
    assert (isac.serving.group_size, isac.serving.collaboration) == (5, "II")
    pnt = load_scenario(SCENARIOS / "paper-pnt.toml")
    assert (
        pnt.constellation.shells[0].altitude_km == 600 and pnt.pnt.enabled and not pnt.isac.enabled
    )
    p = pnt.pnt
    assert (
        p.n_cells,
        p.cell_radius_m,
        p.nx,
        p.ny,
        p.n_beams,
        p.power_dbw,
        p.freq_ghz,
        p.bandwidth_mhz,
        p.ref_toa_var_s2,
        p.i_tdoa,
        p.max_sats,
        p.scheduler,
        p.beamformer,
        p.element_gain_dbi,
        p.threshold_rule,
        p.boresight,
    ) == (
        61,
        50e3,
        8,
        8,
        12,
        26.0,
        4.0,
        50.0,
        1e-19,
        4,
        21,
        "hbs",
        "dsta",
        5.5,
        "grid",
        "cluster",
    )


def test_starlink_replay_runs_both_processes_on_a_moving_target():
    s = load_scenario(SCENARIOS / "starlink-replay.toml")
    assert s.isac.enabled and s.isac.targets == ["munich-car"]
    assert s.pnt.enabled and s.pnt.terminals == ["munich-centre"] and s.pnt.n_cells == 61
    car = s.targets[0]
    assert car.track_csv == SCENARIOS / "munich-ring.csv" and len(car.waypoints) == 25
    lat, lon, _ = car.geodetic_track(np.array([0.0, 1800.0, 3600.0]))
    assert np.degrees(lat[2]) == pytest.approx(np.degrees(lat[0]), abs=1e-9)  # one lap per hour
    assert abs(np.degrees(lon[1]) - np.degrees(lon[0])) > 0.1


def test_process_sections_default_off_and_name_checks(tmp_path):
    s = load_scenario(write_scenario(tmp_path, BASE))
    assert not s.isac.enabled and not s.pnt.enabled and s.replan.policy == "every_epoch"
    assert s.pnt.n_cells == 61 and s.replan.drift_rad == pytest.approx(math.radians(10.0))
    text = BASE.replace(
        "[output]",
        '[isac]\nenabled = true\ntargets = ["t1", "nope"]\n\n[pnt]\nterminals = ["t1"]\n\n[output]',
    )
    problems = refused(tmp_path, text)
    path = tmp_path / "s.toml"
    assert_at(one_problem(problems, "isac.targets[1]"), path, line_of(text, "targets = ["))
    assert (
        "'nope' is not one of the scenario's targets (t1)"
        in one_problem(problems, "isac.targets[1]").reason
    )
    assert (
        "not one of the scenario's terminals (ut1)"
        in one_problem(problems, "pnt.terminals[0]").reason
    )


@pytest.mark.parametrize(
    "section, line, field_path, words",
    [
        (
            "[isac]",
            "search_half_width_m = 100.0",
            "isac.search_half_width_m",
            "must be <= search_half_width_m",
        ),
        ("[isac]", "n_ue = 0", "isac.n_ue", "n_ue = 0 is out of range"),
        ("[isac]", 'estimator = "psoo"', "isac.estimator", "did you mean 'pso'"),
        ("[isac]", 'engine = "numba"', "isac.engine", "compiled"),
        ("[pnt]", "i_tdoa = 2", "pnt.i_tdoa", "i_tdoa = 2 satellites is out of range"),
        ("[pnt]", "max_sats = 3", "pnt.max_sats", "must be >= i_tdoa = 4"),
        ("[pnt]", 'beamformer = "dst"', "pnt.beamformer", "did you mean 'dsta'"),
        ("[pnt]", 'threshold_rule = "per-ut"', "pnt.threshold_rule", "per_ut"),
        ("[pnt]", 'boresight = "zenith"', "pnt.boresight", "cluster"),
        ("[replan]", 'policy = "sometimes"', "replan.policy", "every_epoch"),
        ("[replan]", "every_n = 0", "replan.every_n", "every_n = 0 epochs is out of range"),
        ("[replan]", 'on = ["drift", "rain"]', "replan.on[1]", "group_change"),
    ],
)
def test_process_section_refusals_name_field_and_line(tmp_path, section, line, field_path, words):
    text = BASE.replace("[output]", f"{section}\n{line}\n\n[output]")
    problem = one_problem(refused(tmp_path, text), field_path)
    assert_at(problem, tmp_path / "s.toml", line_of(text, line))
    assert words in problem.reason, problem.reason
