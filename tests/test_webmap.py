"""`twin.webmap`: the report's interactive map, checked without a browser (the browser test is
tests/test_report_browser.py). A small real run (Walker shell, a moving ISAC target with the
stand-in design, a terminal near the edge of coverage; 6 min at 30 s)."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml

from twin import plots, rebuild, webmap
from twin.results import load
from twin.rundir import read_json
from twin.runner import run_scenario


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("webmap")
    scenario = base / "map.toml"
    scenario.write_text(
        scenario_toml(
            run={"name": "map", "duration": "6m"},
            targets=[
                {
                    "name": "t1",
                    "lat_deg": 40.0,
                    "lon_deg": 116.0,
                    "velocity_enu_mps": [15.0, 0.0, 0.0],
                }
            ],
            terminals=[{"name": "north", "lat_deg": 65.0, "lon_deg": 10.0}],
            isac={"enabled": True, "design": "stand_in"},
            pnt={"enabled": False},
        )
    )
    return run_scenario(scenario, out=base / "run", quiet=True)


@pytest.fixture(scope="module")
def tables(run_dir):
    return load(run_dir, ["groups", "visibility", "isac", "handovers"])


@pytest.fixture(scope="module")
def scenario(run_dir):
    return read_json(run_dir / "scenario.resolved.json")


def test_frame_times_subsample_evenly():
    times = pd.date_range("2026-01-01", periods=721, freq="10s", tz="UTC")
    frames = webmap.frame_times(times.repeat(3), max_frames=240)
    assert len(frames) == 181 and (np.diff(frames.as_unit("s").asi8) == 40).all()
    assert len(webmap.frame_times(times[:240], max_frames=240)) == 240


def test_member_points_reproduce_the_runs_central_points(tables, scenario):
    """Re-propagating from the resolved scenario gives the recorder's central sub-satellite
    points (groups.central_lat_deg / central_lon_deg), computed during the run."""
    groups = tables["groups"]
    groups = groups[groups["central"] != ""]
    times = pd.DatetimeIndex(groups.index.unique())
    points = rebuild.member_points(scenario, sorted(set(groups["central"])), times)
    mine = points.loc[list(zip(groups.index, groups["central"]))]
    assert np.abs(mine["lat_deg"].to_numpy() - groups["central_lat_deg"].to_numpy()).max() < 1e-6
    dlon = (mine["lon_deg"].to_numpy() - groups["central_lon_deg"].to_numpy() + 180) % 360 - 180
    assert np.abs(dlon).max() < 1e-6
    # a constellation that cannot be rebuilt: no points, no error
    broken = json.loads(json.dumps(scenario))
    broken["constellation"] = {"kind": "tle", "tle_file": "/nonexistent.tle"}
    assert rebuild.member_points(broken, ["x"], times).empty


def test_features_per_frame(tables, scenario):
    frames = webmap.frame_times(tables["groups"].index, max_frames=8)  # every 2nd of 13 epochs
    assert len(frames) == 7
    names = sorted({m for ms in tables["groups"]["members"] for m in ms.split(";") if m})
    points = rebuild.member_points(scenario, names, frames)
    colours = {"t1": "#1f77b4", "north": "#ff7f0e"}
    features = webmap.map_features(tables, frames, points, colours)
    times = {f["properties"]["times"][0] for f in features}
    assert times == {int(t.value // 10**6) for t in frames}
    for f in features:  # the slider plugin slices multi-geometries by their times
        n = len(f["geometry"]["coordinates"]) if f["geometry"]["type"] != "Point" else 1
        assert len(f["properties"]["times"]) == n
    tips = [f["properties"]["tooltip"] for f in features]
    entity_tips = [t for t in tips if t.startswith("<b>t1</b>") or t.startswith("<b>north</b>")]
    assert len(entity_tips) == 2 * len(frames)
    assert sum("estimate of t1" in t for t in tips) == len(frames)
    groups = tables["groups"][tables["groups"].index.isin(frames)]
    for time, row in groups.iterrows():  # every member drawn once per frame, central named
        at = int(time.value // 10**6)
        sats = [
            f
            for f in features
            if f["properties"]["times"] == [at]
            and "sub-satellite point" in f["properties"]["tooltip"]
        ]
        drawn = {re.match(r"<b>(.*?)</b>", f["properties"]["tooltip"]).group(1) for f in sats}
        assert set(row["members"].split(";")) <= drawn
        assert len(drawn) == len(sats)
    # handovers: one ring per (frame at or after the event, entity, kind)
    handovers = tables["handovers"]
    ns = frames.as_unit("ns").asi8
    at = frames[
        np.minimum(np.searchsorted(ns, handovers.index.as_unit("ns").asi8), len(frames) - 1)
    ]
    expected = handovers.groupby([at, handovers["entity"], handovers["kind"]]).size()
    rings = [t for t in tips if re.search(r"handover\(s\)</b>", t)]
    assert len(rings) == len(expected) > 0
    assert sum(int(re.search(r": (\d+) ", t).group(1)) for t in rings) == len(handovers)


def test_coastlines_cut_at_the_antimeridian():
    lines = webmap.coastlines([[[170.0, 60.0], [179.0, 61.0], [-179.0, 62.0], [-170.0, 63.0]]])
    assert lines == [[[60.0, 170.0], [61.0, 179.0]], [[62.0, -179.0], [63.0, -170.0]]]


def test_page_is_self_contained(tables, scenario, tmp_path):
    facts = webmap.write_map(tables, scenario, tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert facts["bytes"] == len(page.encode()) and facts["frames"] == 13
    assert facts["members_propagated"]
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+stylesheet", page)
    assert "cdn." not in page and "netdna" not in page and "url(images/" not in page
    assert "L.timeDimension" in page and "moment.utc" in page and "console.log" not in page


def test_isl_snapshot_reproduces_the_runs_isl_table(run_dir, scenario):
    """The links re-built from the resolved scenario are those the run counted (the isl
    table's counts and lengths at the first epoch) on a Walker shell."""
    isl = load(run_dir, ["isl"])["isl"]
    snap = rebuild.isl_snapshot(scenario, isl.index[0])
    first = isl.iloc[0]
    assert len(snap) == first["n_links"] > 0
    assert (snap["kind"] == "intra").sum() == first["n_intra"]
    assert snap["length_km"].mean() == pytest.approx(first["mean_length_km"], rel=1e-12)
    assert snap["length_km"].max() == pytest.approx(first["max_length_km"], rel=1e-12)
    # inter-plane links shorten away from the equator (the planes converge)
    inter = snap[snap["kind"] == "inter"]
    low = inter[inter["mid_lat_deg"].abs() < 10]["length_km"].mean()
    high = inter[inter["mid_lat_deg"].abs() > 40]["length_km"].mean()
    assert high < 0.8 * low
    fig = plots.isl_topology(isl, snap)  # rendered by tests/test_report.py
    drawn = [c for ax in fig.axes for c in ax.collections if type(c).__name__ == "LineCollection"]
    crossing = ((snap["lon_b_deg"] - snap["lon_a_deg"]).abs() > 180).sum()
    assert 0 < crossing < 0.1 * len(snap)
    assert sum(len(c.get_segments()) for c in drawn) == len(snap) - crossing


def test_export_czml(run_dir, tables, tmp_path):
    """`twin export czml`: packets reference only packets that exist, satellites sit where the
    run's recorder put the central satellites, serving links are shown exactly while that
    satellite was the central."""
    from typer.testing import CliRunner

    from twin.cli import app

    out = tmp_path / "run.czml"
    result = CliRunner().invoke(app, ["export", "czml", str(run_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    packets = json.loads(out.read_text())
    assert packets[0]["id"] == "document" and packets[0]["version"] == "1.0"
    ids = {p["id"] for p in packets}
    sats = {p["id"][4:]: p for p in packets if p["id"].startswith("sat/")}
    groups = tables["groups"]
    assert set(sats) == {m for ms in groups["members"] for m in ms.split(";") if m}
    start = groups.index.min()
    for time, row in groups[groups["central"] != ""].iloc[::5].iterrows():
        samples = np.reshape(sats[row["central"]]["position"]["cartographicDegrees"], (-1, 4))
        at = samples[samples[:, 0] == (time - start).total_seconds()][0]
        assert at[2] == pytest.approx(row["central_lat_deg"], abs=1e-5)
        assert (at[1] - row["central_lon_deg"] + 180) % 360 - 180 == pytest.approx(0, abs=1e-5)
    links = [p for p in packets if p["id"].startswith(("serving/", "isl/"))]
    assert any(p["id"].startswith("isl/") for p in links)
    for p in links:
        refs = p["polyline"]["positions"]["references"]
        assert {r.split("#")[0] for r in refs} <= ids
    for entity in ("t1", "north"):
        mine = groups[groups["entity"] == entity]
        served = mine[mine["valid"] & (mine["central"] != "")]
        shown = 0
        for p in links:
            if p["id"].startswith(f"serving/{entity}/"):
                begin, end = (pd.Timestamp(x) for x in p["availability"][0].split("/"))
                central = p["polyline"]["positions"]["references"][1][4:].split("#")[0]
                inside = served[(served.index >= begin) & (served.index < end)]
                assert (inside["central"] == central).all() and len(inside) > 0
                shown += len(inside)
        assert shown == len(served)
    refused = CliRunner().invoke(app, ["export", "czml", str(tmp_path)])
    assert refused.exit_code == 2
