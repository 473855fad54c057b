"""twin.config.loader: shipped files, refusals located as file:line field, every problem collected,
dict API and round trip of the resolved dict (examples and hypothesis properties)."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from twin.config.loader import load_scenario, scenario_from_dict
from twin.errors import InputError


@pytest.mark.parametrize(
    "name", ["default", "walker-72x22", "starlink-replay", "paper-isac", "paper-pnt"]
)
def test_shipped_scenarios_load_and_round_trip(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.source_path == (SCENARIOS / f"{name}.toml").absolute()
    resolved = scenario.to_resolved_dict()
    again = scenario_from_dict(json.loads(json.dumps(resolved)))
    assert again == scenario
    assert again.to_resolved_dict() == resolved
    assert scenario.output.dir == REPO / "runs" / name


@pytest.mark.parametrize(
    "old, new, field_path, words",
    [
        (
            "phasing = 1",
            "phasing = 6",
            "constellation.shells[0].phasing",
            ["phasing = 6", "0 .. 5"],
        ),
        ("phasing = 1", "phasing = -1", "constellation.shells[0].phasing", ["phasing = -1"]),
        (
            "planes = 6",
            "planes = 7",
            "constellation.shells[0].planes",
            ["total = 48", "not divisible", "planes = 7"],
        ),
        (
            "altitude_km = 550",
            "altitude_km = 100",
            "constellation.shells[0].altitude_km",
            ["altitude_km = 100", "150 km .. 40000 km"],
        ),
        (
            "altitude_km = 550",
            "altitude_km = 40001",
            "constellation.shells[0].altitude_km",
            ["40001"],
        ),
        (
            "inclination_deg = 53",
            "inclination_deg = 190",
            "constellation.shells[0].inclination_deg",
            ["190"],
        ),
        ("total = 48", "total = 0", "constellation.shells[0].total", ["total = 0"]),
        ('duration = "1h"', 'duration = "0s"', "run.duration", ["duration = 0", "> 0"]),
        ('step = "30s"', "step = 0", "run.step", ["step = 0", "> 0"]),
        ('step = "30s"', 'step = "2h"', "run.step", ["longer than duration"]),
        ('duration = "1h"', 'duration = "-5m"', "run.duration", ["not a duration"]),
        ("lat_deg = 40.0", "lat_deg = 95.0", "targets[0].lat_deg", ["lat_deg = 95", "-90° .. 90°"]),
        (
            "lon_deg = 116.2",
            "lon_deg = 400",
            "terminals[0].lon_deg",
            ["lon_deg = 400", "-180° .. 360°"],
        ),
        (
            'dir = "out"',
            'dir = "out"\ntables = ["epochs", "visibilty"]',
            "output.tables[1]",
            ["visibilty", "did you mean 'visibility'"],
        ),
        (
            'dir = "out"',
            'dir = "out"\ntables = ["epochs", "epochs"]',
            "output.tables[1]",
            ["listed twice"],
        ),
        (
            'kind = "walker"',
            'kind = "walkers"',
            "constellation.kind",
            ["walkers", "did you mean 'walker'"],
        ),
        ('name = "t"', 'name = "t"\nseed = -3', "run.seed", ["seed = -3"]),
        (
            'name = "t"',
            'name = "t"\ncheckpoint_every = 0',
            "run.checkpoint_every",
            ["checkpoint_every = 0"],
        ),
        ('name = "t"', 'name = "t"\nseed = true', "run.seed", ["valid integer"]),
        (
            "lon_deg = 116.0",
            "lon_deg = 116.0\nvelocity_enu_mps = [1.0, 2.0]",
            "targets[0].velocity_enu_mps",
            ["3 numbers", "got 2"],
        ),
        ("lon_deg = 116.0", "lon_deg = 116.0\nalt_m = 2e5", "targets[0].alt_m", ["alt_m = 200000"]),
    ],
)
def test_each_refusal_names_field_and_line(tmp_path, old, new, field_path, words):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    problem = one_problem(refused(tmp_path, text), field_path)
    for word in words:
        assert word in problem.reason, problem
    key = field_path.rsplit(".", 1)[-1].split("[")[0]
    assert_at(
        problem, tmp_path / "s.toml", line_of(text, new.splitlines()[-1]) if key in new else None
    )


@pytest.mark.parametrize(
    "old, new, field_path, suggestion",
    [
        (
            "altitude_km = 550",
            "altitud_km = 550",
            "constellation.shells[0].altitud_km",
            "altitude_km",
        ),
        ('[output]\ndir = "out"', '[outptu]\ndir = "out"', "outptu", "output"),
        ("lat_deg = 40.0", "latitude_deg = 40.0", "targets[0].latitude_deg", "lat_deg"),
        ('step = "30s"', 'step = "30s"\nstepp = 3', "run.stepp", "step"),
    ],
)
def test_unknown_field_suggests_closest_name(tmp_path, old, new, field_path, suggestion):
    text = BASE.replace(old, new, 1)
    problem = one_problem(refused(tmp_path, text), field_path)
    assert f"unknown field '{field_path.rsplit('.', 1)[-1].split(']')[-1]}'" in problem.reason
    assert f"did you mean '{suggestion}'?" in problem.reason, problem
    key = new.splitlines()[-1] if "\n" in new and not new.startswith("[") else new.splitlines()[0]
    assert_at(problem, tmp_path / "s.toml", line_of(text, key))


def test_missing_required_field_points_at_its_table(tmp_path):
    text = BASE.replace("start = 2026-05-28T12:00:00Z\n", "")
    problem = one_problem(refused(tmp_path, text), "run.start")
    assert problem.reason == "required field 'start' is missing"
    assert_at(problem, tmp_path / "s.toml", 1)


def test_every_problem_is_collected(tmp_path):
    text = (
        BASE.replace("phasing = 1", "phasing = 9")
        .replace("altitude_km = 550", "altitude_km = 90")
        .replace('step = "30s"', "step = -1")
        .replace("lat_deg = 40.1", "lat_deg = -91")
        .replace(
            'dir = "out"', 'dir = "out"\ntables = ["epochs", "groups", "handover"]\nlinkz = true'
        )
    )
    problems = refused(tmp_path, text)
    expected = {
        "constellation.shells[0].phasing": "phasing = 9",
        "constellation.shells[0].altitude_km": "altitude_km = 90",
        "run.step": "step = -1",
        "terminals[0].lat_deg": "lat_deg = -91",
        "output.tables[2]": "tables =",
        "output.linkz": "linkz = true",
    }
    assert len(problems) == len(expected), [str(p) for p in problems]
    for field_path, needle in expected.items():
        assert_at(one_problem(problems, field_path), tmp_path / "s.toml", line_of(text, needle))
    assert str(InputError(problems)).count("\n") == len(expected) - 1


def _full_dict() -> dict:
    return {
        "run": {
            "name": "rt",
            "start": "2026-05-28T12:00:00.250Z",
            "duration": "20m",
            "step": 7.5,
            "seed": 3,
        },
        "constellation": {
            "kind": "walker",
            "shells": [
                {"total": 48, "planes": 6, "phasing": 1, "altitude_km": 550, "inclination_deg": 53},
                {
                    "name": "polar",
                    "total": 36,
                    "planes": 6,
                    "phasing": 0,
                    "altitude_km": 1100.5,
                    "inclination_deg": 87.9,
                    "raan_offset_deg": 15,
                },
            ],
        },
        "isl": {"enabled": False, "max_range_km": 3000},
        "targets": [
            {"name": "car", "lat_deg": 10, "lon_deg": 350, "velocity_enu_mps": [3, 4, 0]},
            {
                "name": "boat",
                "waypoints": [
                    {"time": "0s", "lat_deg": 1, "lon_deg": 2},
                    {"time": "10m", "lat_deg": 1.5, "lon_deg": 2.5, "alt_m": 10},
                ],
            },
        ],
        "terminals": [{"name": "ut", "lat_deg": -33.9, "lon_deg": 151.2, "alt_m": 40}],
        "output": {"tables": ["epochs", "groups"], "links": True},
    }


def test_round_trip_of_a_full_dict(tmp_path):
    data = _full_dict()
    original = copy.deepcopy(data)
    s = scenario_from_dict(data, base_dir=tmp_path)
    assert data == original, "the input dict must not be modified"
    assert s.source_path is None
    assert s.constellation.shells[0].name == "shell-1" and s.constellation.shells[
        1
    ].raan_offset_rad == pytest.approx(math.radians(15))
    assert s.targets[0].lon_deg == -10.0 and s.targets[0].velocity_enu_mps == (3.0, 4.0, 0.0)
    assert (s.targets[1].lat_deg, s.targets[1].lon_deg, s.targets[1].alt_m) == (1.0, 2.0, 0.0)
    assert s.output.dir == tmp_path / "runs" / "rt"
    resolved = s.to_resolved_dict()
    text = json.dumps(resolved)  # JSON-serialisable
    again = scenario_from_dict(json.loads(text), base_dir=tmp_path / "elsewhere")
    assert again == s
    assert again.run.start == datetime(2026, 5, 28, 12, 0, 0, 250000, tzinfo=UTC)
    changed = copy.deepcopy(resolved)
    changed["targets"][1]["waypoints"][1]["alt_m"] = 11.0
    assert scenario_from_dict(changed) != s  # equality looks at nested values


def test_round_trip_survives_toml_text(tmp_path):
    """The resolved dict written back as TOML (a tiny writer for its flat types) loads to an equal Scenario."""
    s = scenario_from_dict(_full_dict(), base_dir=tmp_path)
    path = write_scenario(tmp_path, _to_toml(s.to_resolved_dict()), "resolved.toml")
    assert load_scenario(path) == s


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _to_toml(data: dict) -> str:
    lines = []
    for section, body in data.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{section}]]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
        else:
            lines.append(f"[{section}]")
            nested = {
                k: v
                for k, v in body.items()
                if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
            }
            lines += [f"{k} = {_toml_value(v)}" for k, v in body.items() if k not in nested]
            for key, items in nested.items():  # e.g. [[constellation.shells]]
                for item in items:
                    lines.append(f"[[{section}.{key}]]")
                    lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def test_dict_problems_carry_the_source_label():
    data = _full_dict()
    data["constellation"]["shells"][1]["phasing"] = 6
    with pytest.raises(InputError) as info:
        scenario_from_dict(data, source="sweep[3]")
    assert [p.where for p in info.value.problems] == ["sweep[3] constellation.shells[1].phasing"]


def test_not_a_mapping():
    with pytest.raises(InputError, match="must be a table/dict"):
        scenario_from_dict([1, 2])


_finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def _scenario_dicts(draw):
    shells = []
    for _ in range(draw(st.integers(1, 3))):
        planes = draw(st.integers(1, 40))
        shells.append(
            {
                "total": planes * draw(st.integers(1, 40)),
                "planes": planes,
                "phasing": draw(st.integers(0, planes - 1)),
                "altitude_km": draw(st.floats(150, 40000, **_finite)),
                "inclination_deg": draw(st.floats(0, 180, **_finite)),
            }
        )
    entity = st.fixed_dictionaries(
        {"lat_deg": st.floats(-90, 90, **_finite), "lon_deg": st.floats(-180, 360, **_finite)}
    )
    targets = draw(st.lists(entity, max_size=3))
    terminals = draw(st.lists(entity, max_size=3))
    step = draw(st.floats(0.5, 600, **_finite))
    return {
        "run": {
            "name": "prop",
            "start": "2026-05-28T12:00:00Z",
            "duration": step * draw(st.floats(1, 1000, **_finite)),
            "step": step,
        },
        "constellation": {"kind": "walker", "shells": shells},
        "visibility": {"mask_elevation_deg": draw(st.floats(-90, 90, **_finite))},
        "targets": [{"name": f"t{i}", **e} for i, e in enumerate(targets)],
        "terminals": [{"name": f"u{i}", **e} for i, e in enumerate(terminals)],
        "output": {"dir": "out"},
    }


@settings(max_examples=40, deadline=None)
@given(_scenario_dicts())
def test_property_toml_and_dict_agree_and_round_trip(data):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.toml"
        path.write_text(_to_toml(data))
        loaded = load_scenario(path)
        assert loaded == scenario_from_dict(data, base_dir=Path(folder))
        assert scenario_from_dict(loaded.to_resolved_dict()) == loaded


@settings(max_examples=40, deadline=None)
@given(_scenario_dicts(), st.data())
def test_property_a_bad_value_is_reported_at_its_own_line(data, pick):
    """Corrupt one field of a valid file; the problem must name that field and the line the writer put it on."""
    import tempfile

    choices = [("visibility", None, "mask_elevation_deg", 95.0)]
    choices += [
        ("constellation", i, "altitude_km", 100.0)
        for i in range(len(data["constellation"]["shells"]))
    ]
    choices += [
        (s, i, "lat_deg", -91.0) for s in ("targets", "terminals") for i in range(len(data[s]))
    ]
    section, index, key, bad = pick.draw(st.sampled_from(choices))
    if section == "constellation":
        data["constellation"]["shells"][index][key] = bad
        expected_path = f"constellation.shells[{index}].{key}"
    elif index is None:
        data[section][key] = bad
        expected_path = f"{section}.{key}"
    else:
        data[section][index][key] = bad
        expected_path = f"{section}[{index}].{key}"
    text = _to_toml(data)
    # independent of the locator: plain text search for the corrupted line
    needle = f"{key} = {bad!r}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.toml"
        path.write_text(text)
        with pytest.raises(InputError) as info:
            load_scenario(path)
    (problem,) = info.value.problems
    assert problem.where == f"{path}:{line_of(text, needle)} {expected_path}"
