"""twin.config.areas: ``[[areas]]`` become ordinary named targets/terminals; bad files refused."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from config.refusals import BASE, line_of, one_problem, refused, write_scenario
from twin.config.areas import EARTH_RADIUS_M
from twin.config.loader import load_scenario, scenario_from_dict

BOX = "box = {lat_min = 40.0, lat_max = 41.0, lon_min = 116.0, lon_max = 117.0}"


def _with_areas(*areas: str) -> str:
    return (
        BASE.replace('[output]\ndir = "out"\n', "")
        + "".join(f"\n[[areas]]\n{a}\n" for a in areas)
        + '\n[output]\ndir = "out"\n'
    )


def _inside_ray_casting(lon, lat, ring):
    """Independent point-in-polygon (even-odd ray casting to +lon) for one ring [(lon, lat)]."""
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if (y0 > lat) != (y1 > lat):
            x = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
            if lon < x:
                inside = not inside
    return inside


def test_no_areas_resolves_exactly_as_before(tmp_path):
    s = load_scenario(write_scenario(tmp_path, BASE))
    assert s.areas == [] and "areas" not in s.to_resolved_dict()
    assert [t.name for t in s.targets] == ["t1"] and [u.name for u in s.terminals] == ["ut1"]


def test_box_grid_fills_targets_and_terminals_with_named_entities(tmp_path):
    s = load_scenario(
        write_scenario(
            tmp_path,
            _with_areas(
                f'name = "bj"\n{BOX}\nfill = "grid"\nspacing_km = 25\nentities = ["targets", "terminals"]\nalt_m = 40.0'
            ),
        )
    )
    gen_t = [t for t in s.targets if t.name.startswith("bj-")]
    gen_u = [u for u in s.terminals if u.name.startswith("bj-")]
    # independent count: rows 25 km apart from 40°, each row's points 25 km apart from 116°
    dlat = math.degrees(25e3 / EARTH_RADIUS_M)
    expected = 0
    for k in range(int(1.0 / dlat + 1e-9) + 1):
        lat = 40.0 + k * dlat
        expected += int(1.0 / (dlat / math.cos(math.radians(lat))) + 1e-9) + 1
    assert len(gen_t) == len(gen_u) == expected
    assert s.targets[0].name == "t1" and gen_t[0].name == "bj-t000" and gen_u[17].name == "bj-u017"
    assert all(40.0 <= t.lat_deg <= 41.0 and 116.0 <= t.lon_deg <= 117.0 for t in gen_t)
    assert all(t.alt_m == 40.0 and t.velocity_enu_mps is None for t in gen_t)
    # neighbours along a row are spacing_km apart on the sphere (haversine, 0.1 %)
    a, b = gen_t[0], gen_t[1]
    p, q = np.radians([a.lat_deg, a.lon_deg]), np.radians([b.lat_deg, b.lon_deg])
    hav = (
        np.sin((q[0] - p[0]) / 2) ** 2
        + np.cos(p[0]) * np.cos(q[0]) * np.sin((q[1] - p[1]) / 2) ** 2
    )
    assert 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(hav)) == pytest.approx(25e3, rel=1e-3)


def test_geojson_polygon_random_points_inside_seeded_and_resolved_without_files(tmp_path):
    ring = [(116.0, 40.0), (117.5, 40.2), (116.4, 41.3)]
    (tmp_path / "tri.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[*map(list, ring), list(ring[0])]],
                        },
                    }
                ],
            }
        )
    )
    text = _with_areas(
        'name = "tri"\npolygon = "tri.geojson"\nfill = "random"\ncount = 40\nseed = 7\nentities = ["terminals"]'
    )
    s = load_scenario(write_scenario(tmp_path, text))
    gen = [u for u in s.terminals if u.name.startswith("tri-")]
    assert [u.name for u in gen] == [f"tri-u{k:03d}" for k in range(40)]
    assert all(_inside_ray_casting(u.lon_deg, u.lat_deg, ring) for u in gen)
    again = load_scenario(write_scenario(tmp_path, text, "again.toml"))
    assert again == s
    other = load_scenario(write_scenario(tmp_path, text.replace("seed = 7", "seed = 8"), "o.toml"))
    assert [u.lat_deg for u in other.terminals] != [u.lat_deg for u in s.terminals]
    resolved = s.to_resolved_dict()
    assert [u["name"] for u in resolved["terminals"]] == ["ut1"]  # generated ones live in the area
    (tmp_path / "tri.geojson").unlink()
    assert scenario_from_dict(resolved, base_dir=tmp_path) == s


def test_grid_in_polygon_matches_independent_ray_casting(tmp_path):
    ring = [(11.0, 48.0), (12.0, 48.0), (12.0, 48.5), (11.5, 48.2), (11.0, 48.5)]  # concave
    (tmp_path / "m.geojson").write_text(
        json.dumps({"type": "Polygon", "coordinates": [[*map(list, ring), list(ring[0])]]})
    )
    s = load_scenario(
        write_scenario(
            tmp_path,
            _with_areas('name = "m"\npolygon = "m.geojson"\nfill = "grid"\nspacing_km = 5'),
        )
    )
    gen = [t for t in s.targets if t.name.startswith("m-")]
    box = load_scenario(
        write_scenario(
            tmp_path,
            _with_areas(
                'name = "b"\nbox = {lat_min = 48.0, lat_max = 48.5, lon_min = 11.0, lon_max = 12.0}\nfill = "grid"\nspacing_km = 5'
            ),
            "box.toml",
        )
    )
    candidates = [t for t in box.targets if t.name.startswith("b-")]
    # strictly inside points by ray casting are all kept; no kept point is outside
    strict = {
        (t.lat_deg, t.lon_deg)
        for t in candidates
        if _inside_ray_casting(t.lon_deg, t.lat_deg, ring)
    }
    kept = {(t.lat_deg, t.lon_deg) for t in gen}
    assert strict <= kept and 0 < len(kept) < len(candidates)
    assert len(kept - strict) <= 0.05 * len(kept)  # only boundary points differ


def test_csv_points_named_and_addressable_by_isac_targets(tmp_path):
    (tmp_path / "pts.csv").write_text(
        "name,lat_deg,lon_deg,alt_m\nnorth,40.9,116.5,12\nsouth,40.1,116.5,0\n"
    )
    text = _with_areas(
        f'name = "city"\n{BOX}\nfill = "csv"\npoints_csv = "pts.csv"\nentities = ["targets", "terminals"]'
    )
    text = text.replace("[output]", '[isac]\ntargets = ["city-north"]\n\n[output]')
    s = load_scenario(write_scenario(tmp_path, text))
    assert [t.name for t in s.targets] == ["t1", "city-north", "city-south"]
    assert [u.name for u in s.terminals] == ["ut1", "city-north-u", "city-south-u"]
    assert (s.targets[1].lat_deg, s.targets[1].alt_m) == (40.9, 12.0)
    assert s.isac.targets == ["city-north"]


@pytest.mark.parametrize(
    "rows, line, reason",
    [
        (
            "name,lat_deg,lon_deg\na,40.5,116.5\nb,forty,116.5\n",
            3,
            "column lat_deg: 'forty' is not a number",
        ),
        (
            "name,lat_deg,lon_deg\na,40.5,116.5\nb,45.0,116.5\n",
            3,
            "point 'b' (45, 116.5) is outside the area",
        ),
        ("name,lat_deg,lon_deg\na,40.5,116.5\na,40.6,116.5\n", 3, "'a' is already used on line 2"),
        ("name,lat,lon_deg\n", 1, "missing: lat_deg"),
    ],
)
def test_bad_points_csv_refused_with_file_line(tmp_path, rows, line, reason):
    (tmp_path / "pts.csv").write_text(rows)
    text = _with_areas(f'name = "c"\n{BOX}\nfill = "csv"\npoints_csv = "pts.csv"')
    problem = one_problem(refused(tmp_path, text), "areas[0].points_csv")
    assert problem.where.startswith(f"{tmp_path / 's.toml'}:{line_of(text, 'points_csv')}")
    assert f"{tmp_path / 'pts.csv'}:{line}:" in problem.reason and reason in problem.reason


@pytest.mark.parametrize(
    "content, reason",
    [
        ('{"type": "Polygon",\n "coordinates": [[[0, 0], [1, 0]]\n', ":3: not JSON"),
        (
            '{"type": "Point", "coordinates": [0, 0]}',
            "need a GeoJSON Polygon or MultiPolygon, got Point",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}',
            "invalid Polygon: Self-intersection",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], [0, 95], [1, 0], [0, 0]]]}',
            "coordinates out of range",
        ),
    ],
)
def test_bad_geojson_refused_with_file_and_reason(tmp_path, content, reason):
    (tmp_path / "a.geojson").write_text(content)
    text = _with_areas('name = "a"\npolygon = "a.geojson"\nfill = "random"\ncount = 3')
    problem = one_problem(refused(tmp_path, text), "areas[0].polygon")
    assert str(tmp_path / "a.geojson") in problem.reason and reason in problem.reason


@pytest.mark.parametrize(
    "area, field, reason",
    [
        (
            'name = "g"\nbox = {lat_min = "x", lat_max = 40.0, lon_min = 116.0, lon_max = 117.0}\nfill = "random"\ncount = 3',
            "areas[0].box.lat_min",
            "valid number",
        ),
        (f'name = "g"\n{BOX}\nfill = "grid"', "areas[0].spacing_km", "needs spacing_km > 0"),
        (f'name = "g"\n{BOX}\nfill = "random"\ncount = 0', "areas[0].count", "needs count in 1"),
        ('name = "g"\nfill = "random"\ncount = 3', "areas[0].box", "exactly one of box"),
        (
            'name = "g"\nbox = {lat_min = 41.0, lat_max = 40.0, lon_min = 116.0, lon_max = 117.0}\nfill = "random"\ncount = 3',
            "areas[0].box.lat_max",
            "must exceed lat_min",
        ),
        (
            f'name = "g"\n{BOX}\nfill = "random"\ncount = 2\nentities = ["cars"]',
            "areas[0].entities[0]",
            "'targets' or 'terminals'",
        ),
    ],
)
def test_bad_area_fields_refused_at_their_field(tmp_path, area, field, reason):
    problem = one_problem(refused(tmp_path, _with_areas(area)), field)
    assert reason in problem.reason


def test_generated_name_clashing_with_a_hand_written_one_is_refused(tmp_path):
    text = _with_areas(f'name = "bj"\n{BOX}\nfill = "random"\ncount = 2').replace(
        'name = "t1"', 'name = "bj-t001"'
    )
    problems = refused(tmp_path, text)
    assert any("name 'bj-t001' is already used" in p.reason for p in problems)


def test_area_without_any_grid_point_refused(tmp_path):
    (tmp_path / "tri.geojson").write_text(
        '{"type": "Polygon", "coordinates": [[[116, 41], [117, 40], [117, 41], [116, 41]]]}'
    )
    text = _with_areas('name = "g"\npolygon = "tri.geojson"\nfill = "grid"\nspacing_km = 500')
    assert "holds no point" in one_problem(refused(tmp_path, text), "areas[0].fill").reason
