"""twin.config.track_csv: track CSV files become waypoints; bad rows refused with file:line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from config.refusals import (
    BASE,
    assert_at,
    line_of,
    one_problem,
    refused,
    write_scenario,
)
from twin.config.loader import load_scenario, scenario_from_dict


def _track(tmp_path, csv_text, extra=""):
    (tmp_path / "track.csv").write_text(csv_text)
    return BASE.replace(
        'name = "t1"\nlat_deg = 40.0\nlon_deg = 116.0',
        f'name = "t1"\ntrack_csv = "track.csv"{extra}',
    )


def test_track_csv_becomes_waypoints_and_survives_without_the_file(tmp_path):
    text = _track(
        tmp_path,
        "time,lat_deg,lon_deg,alt_m\n0,40.0,116.0,10\n10m,40.1,116.0,20\n1200,40.1,116.2,30\n",
    )
    s = load_scenario(write_scenario(tmp_path, text))
    t1 = s.targets[0]
    assert t1.track_csv == tmp_path / "track.csv" and (t1.lat_deg, t1.lon_deg, t1.alt_m) == (
        40.0,
        116.0,
        10.0,
    )
    assert [w.time for w in t1.waypoints] == [0.0, 600.0, 1200.0]
    lat, lon, alt = t1.geodetic_track(np.array([600.0, 900.0, 5000.0]))
    assert np.degrees(lat[0]) == pytest.approx(40.1, abs=1e-12) and alt[1] == pytest.approx(25.0)
    assert np.degrees(lon[2]) == pytest.approx(116.2, abs=1e-12)  # held after the last row
    resolved = json.loads(json.dumps(s.to_resolved_dict()))
    (tmp_path / "track.csv").unlink()  # a resumed run needs only the resolved scenario
    assert scenario_from_dict(resolved) == s


def test_track_csv_order_without_alt_and_errors_with_file_line(tmp_path):
    s = load_scenario(
        write_scenario(
            tmp_path, _track(tmp_path, "lon_deg,time,lat_deg\n116.0,0,40.0\n116.1,5m,40.0\n")
        )
    )
    assert [(w.time, w.lon_deg, w.alt_m) for w in s.targets[0].waypoints] == [
        (0.0, 116.0, 0.0),
        (300.0, 116.1, 0.0),
    ]
    csv_path = tmp_path / "track.csv"
    for csv_text, words in [
        ("time,lat_deg,lon_deg\n0,40,116\n60,forty,116\n", f"{csv_path}:3: column lat_deg"),
        ("time,lat,lon_deg\n0,40,116\n", f"{csv_path}:1: track CSV header"),
        ("time,lat_deg,lon_deg\n0,40,116\n60,40\n", f"{csv_path}:3: 2 values for 3 columns"),
        ("time,lat_deg,lon_deg\n", "has a header but no rows"),
    ]:
        text = _track(tmp_path, csv_text)
        problem = one_problem(refused(tmp_path, text), "targets[0].track_csv")
        assert_at(problem, tmp_path / "s.toml", line_of(text, "track_csv"))
        assert words in problem.reason, problem.reason
    problems = refused(
        tmp_path,
        _track(
            tmp_path, "time,lat_deg,lon_deg\n0,40,116\n", "\nvelocity_enu_mps = [1.0, 0.0, 0.0]"
        ),
    )
    assert "mutually exclusive" in one_problem(problems, "targets[0].track_csv").reason
    (tmp_path / "track.csv").unlink()
    missing = BASE.replace(
        'name = "t1"\nlat_deg = 40.0\nlon_deg = 116.0', 'name = "t1"\ntrack_csv = "track.csv"'
    )
    assert (
        "track_csv not found"
        in one_problem(refused(tmp_path, missing), "targets[0].track_csv").reason
    )
    bad_rows = _track(tmp_path, "time,lat_deg,lon_deg\n60,40,116\n0,40.1,116\n")
    assert (
        "times must increase"
        in one_problem(refused(tmp_path, bad_rows), "targets[0].waypoints[1].time").reason
    )
