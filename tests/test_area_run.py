"""An area run end to end: generated entities are served, recorded and summarised per location.

A 36 x 22 Walker shell, 2 minutes at 30 s: an area of 4 random points filled with ISAC targets
(stand-in design, PSO) and 7-cell PNT clusters (matched-filter beams). Checks the ``isac`` /
``pnt`` rows name the generated entities, ``twin.results.area_summary`` against a direct
computation from the tables, and the report's area figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml
from test_windows import assert_tables_equal

from twin.report import area_figure_specs
from twin.results import area_summary, load
from twin.runner import run_scenario

AREA = """
[[areas]]
name = "bj"
box = {lat_min = 39.5, lat_max = 40.5, lon_min = 115.5, lon_max = 116.8}
fill = "random"
count = 4
seed = 2
entities = ["targets", "terminals"]
"""


@pytest.fixture(scope="module")
def area_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("area")
    text = scenario_toml(
        run={"name": "area", "duration": "2m"},
        targets=[],
        isac={"enabled": True, "design": "stand_in", "pso_particles": 10, "pso_iterations": 5},
        pnt={"enabled": True, "cluster_rings": 1, "beamformer": "mf", "i_tdoa": 3},
    )
    (tmp / "area.toml").write_text(text.replace("\n[output]", AREA + "\n[output]"))
    return run_scenario(tmp / "area.toml", out=tmp / "run", quiet=True)


def test_generated_entities_are_served_and_recorded(area_run):
    tables = load(area_run)
    assert sorted(tables["isac"]["target"].unique()) == [f"bj-t{k:03d}" for k in range(4)]
    assert sorted(tables["pnt"]["cluster"].unique()) == [f"bj-u{k:03d}" for k in range(4)]
    assert len(tables["isac"]) == 4 * 5 and len(tables["pnt"]) == 4 * 5 * 7


def test_area_summary_equals_direct_computation(area_run):
    tables = load(area_run)
    summary = area_summary(tables)
    isac = tables["isac"].reset_index()
    for name, rows in isac.groupby("target"):
        row = summary["isac"].loc[name]
        assert row["rows"] == len(rows)
        assert row["lat_deg"] == pytest.approx(rows["target_lat_deg"].mean())
        errors = rows["error_m"].to_numpy(dtype=float)
        finite = errors[np.isfinite(errors)]
        assert row["error_m_median"] == pytest.approx(np.median(finite))
        assert row["rcrb_m_p95"] == pytest.approx(np.nanpercentile(rows["rcrb_m"], 95))
        ok = (rows["status"] == "ok") & np.isfinite(errors)
        assert row["availability"] == pytest.approx(ok.mean())
    pnt = tables["pnt"].reset_index()
    hours = (pnt["time"].max() - pnt["time"].min()).total_seconds() / 3600
    handovers = tables["handovers"]
    for name, rows in pnt.groupby("cluster"):
        row = summary["pnt"].loc[name]
        assert row["lon_deg"] == pytest.approx(rows["lon_deg"].mean())
        assert row["crlb_m_median"] == pytest.approx(rows["crlb_m"].median())
        n = int((handovers["entity"] == name).sum()) if not handovers.empty else 0
        assert row["handovers_per_hour"] == pytest.approx(n / hours)
    assert isinstance(summary["pnt"], pd.DataFrame) and summary["pnt"].index.name == "cluster"


def test_report_area_figures(area_run, tmp_path):
    specs = area_figure_specs(load(area_run))
    names = ["area_isac_maps.png", "area_isac_cdfs.png", "area_pnt_maps.png", "area_pnt_cdfs.png"]
    assert [s.name for s in specs] == names
    for spec in specs:
        spec.build().savefig(tmp_path / spec.name, dpi=60)
        assert (tmp_path / spec.name).stat().st_size > 5_000


@pytest.mark.slow
def test_area_run_in_windows_on_two_workers_equals_serial(tmp_path):
    """Windows (``--workers 2``) re-make the area's entities from the resolved scenario."""
    text = scenario_toml(
        run={"name": "area-win", "duration": "4m", "window": 3},
        targets=[],
        isac={"enabled": True, "design": "stand_in", "pso_particles": 10, "pso_iterations": 5},
        pnt={"enabled": True, "cluster_rings": 1, "beamformer": "mf", "i_tdoa": 3},
    )
    (tmp_path / "area.toml").write_text(text.replace("\n[output]", AREA + "\n[output]"))
    serial = run_scenario(tmp_path / "area.toml", out=tmp_path / "serial", quiet=True)
    windowed = run_scenario(tmp_path / "area.toml", out=tmp_path / "w2", quiet=True, workers=2)
    tables = assert_tables_equal(serial, windowed)
    assert tables["isac"]["target"].nunique() == 4
