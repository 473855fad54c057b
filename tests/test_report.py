"""`twin report`: figures, page and summary of real (small) runs, with and without
ISAC/PNT tables; the summary's numbers recomputed directly from the parquet parts."""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenario_text import scenario_toml
from typer.testing import CliRunner

from twin import plots
from twin.cli import app
from twin.report import summary_table, write_report
from twin.results import load, run_info
from twin.rundir import write_parquet_atomic
from twin.runner import run_scenario


def _tiny(duration: str) -> str:
    """A 36 x 22 Walker shell at 30 s steps: a moving target at 40° N (always served) and a
    terminal at 65° N, near the edge of the 53° shell's coverage (groups come and go)."""
    return scenario_toml(
        run={"name": "tiny", "duration": duration},
        targets=[
            {"name": "t1", "lat_deg": 40.0, "lon_deg": 116.0, "velocity_enu_mps": [15.0, 0.0, 0.0]}
        ],
        terminals=[{"name": "north", "lat_deg": 65.0, "lon_deg": 10.0}],
        isac={"enabled": False},
        pnt={"enabled": False},
    )


BASE_FIGURES = {
    "geometry_timeseries.png",
    "geometry_cdf.png",
    "ground_track.png",
    "handover_timeline.png",
    "serving_timeline.png",
    "isl_topology.png",
}


def _run(tmp_path: Path, duration: str) -> Path:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(_tiny(duration))
    return run_scenario(scenario, out=tmp_path / "run", quiet=True)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("report"), "10m")


@pytest.fixture(scope="module")
def report_page(run_dir, tmp_path_factory) -> Path:
    return write_report(run_dir, tmp_path_factory.mktemp("rep"))


def _raw(run: Path, table: str) -> pd.DataFrame:
    """A table read straight from its parquet parts (not through twin.results.load)."""
    parts = sorted((run / "tables" / table).glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def _figures_in(page: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page.read_text(encoding="utf-8"))


def _check_page(page: Path, expected: set[str]) -> None:
    out = page.parent
    assert page.name == "index.html" and page.stat().st_size > 0
    pngs = {p.name for p in out.glob("*.png")}
    assert pngs == expected
    for name in pngs:
        data = (out / name).read_bytes()
        assert len(data) > 5000 and data[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(_figures_in(page)) == sorted(
        expected
    )  # every figure referenced, once, by a relative link
    assert (out / "summary.csv").stat().st_size > 0
    assert '<iframe src="map.html"' in page.read_text(encoding="utf-8")
    assert (out / "map.html").stat().st_size > 100_000


def test_report_without_isac_and_pnt(run_dir, report_page):
    tables = load(run_dir)
    assert tables.get("isac", pd.DataFrame()).empty and tables.get("pnt", pd.DataFrame()).empty
    _check_page(report_page, BASE_FIGURES)
    text = report_page.read_text(encoding="utf-8")
    assert run_info(run_dir)["n_epochs"] == 21
    for words in (
        "tiny",
        "792",
        "21 × 30 s",
        "wall time",
        "time by stage",
        "topology",
        "Walker Delta",
    ):
        assert words in text, words


def test_summary_equals_direct_computation(run_dir, report_page):
    summary = pd.read_csv(report_page.parent / "summary.csv", index_col="entity")
    info = run_info(run_dir)
    hours = (info["n_epochs"] - 1) * info["step_s"] / 3600.0
    handovers = _raw(run_dir, "handovers")
    groups = _raw(run_dir, "groups")
    visibility = _raw(run_dir, "visibility")
    assert set(summary.index) == {"t1", "north"}
    # the scenario is built so that the northern terminal loses and regains its group
    assert ((handovers["entity"] == "north") & (handovers["kind"] == "interruption")).sum() >= 2
    for entity in ("t1", "north"):
        for kind in ("central", "group", "interruption", "restored"):
            count = int(((handovers["entity"] == entity) & (handovers["kind"] == kind)).sum())
            assert summary.loc[entity, f"{kind}_handovers_per_h"] == pytest.approx(
                count / hours, rel=1e-12
            )
        mine = groups[groups["entity"] == entity]
        assert summary.loc[entity, "valid_group_fraction"] == pytest.approx(
            mine["valid"].sum() / len(mine)
        )
        assert summary.loc[entity, "epochs"] == len(mine) == info["n_epochs"]
        assert summary.loc[entity, "central_elevation_deg_median"] == pytest.approx(
            float(np.median(mine["central_elevation_deg"]))
        )
        seen = visibility[visibility["entity"] == entity]["n_visible"]
        assert summary.loc[entity, "n_visible_median"] == pytest.approx(float(np.median(seen)))
    assert summary.loc["t1", "valid_group_fraction"] == 1.0
    assert 0.0 < summary.loc["north", "valid_group_fraction"] < 1.0


def _add_table(run: Path, name: str, frame: pd.DataFrame) -> None:
    write_parquet_atomic(frame, run / "tables" / name / "part-00000000.parquet")


def _synthetic_metric_tables(
    run: Path, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ISAC rows per epoch × target × design (entity column ``target``) and PNT rows per
    epoch × cluster × cell (entity column ``cluster``, cell ``ut``), shaped like the ISAC
    and PNT processes' tables; a list column, statuses and missing values included."""
    groups = _raw(run, "groups")
    targets = groups[groups["role"] == "target"][["epoch", "time", "entity"]].rename(
        columns={"entity": "target"}
    )
    terminals = groups[groups["role"] == "terminal"][["epoch", "time", "entity"]].rename(
        columns={"entity": "cluster"}
    )
    isac = []
    for design, scale in (("alg2", 1.0), ("zfbf", 3.0)):
        part = targets.copy()
        part["design"] = design
        part["rcrb_m"] = scale * rng.lognormal(0.0, 1.0, len(part))
        part["error_m"] = part["rcrb_m"] * np.abs(rng.normal(1.0, 0.3, len(part)))
        part["echo_snr_db"] = rng.normal(10.0, 2.0, len(part))
        part.loc[part.index[::9], "echo_snr_db"] = -np.inf  # no echo
        part["rate_min_bps_hz"] = rng.uniform(1.0, 2.0, len(part))
        part["rate_mean_bps_hz"] = part["rate_min_bps_hz"] + rng.uniform(0.0, 3.0, len(part))
        part["rates_bps_hz"] = [list(rng.uniform(1.0, 5.0, 3)) for _ in range(len(part))]
        part["status"] = "ok"
        part["replanned"] = True
        part["solve_time_s"] = rng.uniform(0.1, 0.3, len(part))
        isac.append(part)
    pnt = terminals.loc[terminals.index.repeat(7)].reset_index(drop=True)
    pnt["ut"] = np.tile(np.arange(7), len(terminals))
    pnt["beamformer"] = "dsta"
    pnt["sinr_min_db"] = rng.normal(5.0, 3.0, len(pnt))
    pnt["crlb_m"] = rng.lognormal(1.0, 0.5, len(pnt))
    pnt.loc[pnt.index[::5], "crlb_m"] = np.nan  # no fix for some cells
    pnt["fix_error_m"] = pnt["crlb_m"] * np.abs(rng.normal(1.0, 0.3, len(pnt)))
    pnt["sats"] = "a;b;c;d"
    return pd.concat(isac, ignore_index=True), pnt  # no gdop column: must not be needed


def test_isac_and_pnt_tables_are_picked_up(run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(
        run_dir, run, ignore=shutil.ignore_patterns("report")
    )  # without any report of another test
    isac, pnt = _synthetic_metric_tables(run, np.random.default_rng(7))
    _add_table(run, "isac", isac)
    _add_table(run, "pnt", pnt)
    page = write_report(run)
    _check_page(
        page,
        BASE_FIGURES | {"isac_timeseries.png", "isac_cdf.png", "pnt_timeseries.png", "pnt_cdf.png"},
    )
    summary = pd.read_csv(run / "report" / "summary.csv", index_col="entity")
    for design in ("alg2", "zfbf"):
        values = isac[(isac["target"] == "t1") & (isac["design"] == design)]["rcrb_m"].to_numpy()
        assert summary.loc["t1", f"rcrb_m [{design}] median"] == pytest.approx(np.median(values))
        assert summary.loc["t1", f"rcrb_m [{design}] p95"] == pytest.approx(
            np.percentile(values, 95)
        )
        assert np.isnan(
            summary.loc["north", f"rcrb_m [{design}] median"]
        )  # a terminal has no ISAC rows
        assert f"rate_mean_bps_hz [{design}] p95" in summary.columns
    crlb = pnt[pnt["cluster"] == "north"]["crlb_m"].to_numpy()  # over epochs and cells
    assert summary.loc["north", "crlb_m p95"] == pytest.approx(np.nanpercentile(crlb, 95))
    assert summary.loc["north", "sinr_min_db median"] == pytest.approx(
        np.median(pnt["sinr_min_db"])
    )
    assert not any("solve_time" in c or "status" in c or "rates" in c for c in summary.columns)
    # process handover kinds: 0 per hour for served entities without events, NaN for the others
    assert summary.loc["t1", "isac_beams_handovers_per_h"] == 0.0
    assert np.isnan(summary.loc["north", "isac_beams_handovers_per_h"])
    assert summary.loc["north", "pnt_reference_handovers_per_h"] == 0.0
    assert np.isnan(summary.loc["t1", "pnt_reference_handovers_per_h"])
    text = page.read_text(encoding="utf-8")
    assert "RCRB (m), 95th percentile [zfbf]" in text and "√CRLB (m), median" in text
    assert "beamformer: dsta" in text  # a scheme column with one value is named in the caption


def test_run_without_handovers_reports(tmp_path):
    run = _run(tmp_path, "30s")  # two epochs
    tables = load(run)
    page = write_report(run)
    assert set(_figures_in(page)) == BASE_FIGURES
    summary = summary_table(tables, run_info(run))
    n = len(tables["handovers"])
    counts = (
        summary[[c for c in summary.columns if c.endswith("_handovers_per_h")]].to_numpy().sum()
    )
    assert counts == pytest.approx(n / (30.0 / 3600.0))


def _replace_table(run: Path, table: str, frame: pd.DataFrame) -> None:
    for part in (run / "tables" / table).glob("part-*.parquet"):
        part.unlink()
    write_parquet_atomic(frame, run / "tables" / table / "part-00000000.parquet")


def test_missing_optional_columns_are_skipped(run_dir, tmp_path):
    """An older or partial run: groups without the sub-satellite point and elevation, no isl
    table, then visibility without n_visible too: the report is written without them."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("report"))
    groups = _raw(run, "groups").drop(
        columns=["central_lat_deg", "central_lon_deg", "central_elevation_deg"]
    )
    _replace_table(run, "groups", groups)
    shutil.rmtree(run / "tables" / "isl")
    page = write_report(run)
    assert set(_figures_in(page)) == BASE_FIGURES - {"isl_topology.png"}
    summary = pd.read_csv(run / "report" / "summary.csv", index_col="entity")
    assert "central_elevation_deg_median" not in summary and "n_visible_median" in summary
    north = groups[groups["entity"] == "north"]
    assert summary.loc["north", "valid_group_fraction"] == pytest.approx(north["valid"].mean())
    _replace_table(run, "visibility", _raw(run, "visibility").drop(columns=["n_visible"]))
    page = write_report(run, tmp_path / "second")
    assert set(_figures_in(page)) == {
        "ground_track.png",
        "serving_timeline.png",
        "handover_timeline.png",
    }
    assert (page.parent / "map.html").stat().st_size > 100_000  # the map needs groups only


def test_non_run_directory_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        write_report(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        write_report(tmp_path / "missing")
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in " ".join(result.output.split())
    assert not (tmp_path / "report").exists()


def test_cli_report_default_folder(run_dir):
    result = CliRunner().invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    page = run_dir / "report" / "index.html"
    assert "index.html" in result.output and page.stat().st_size > 0
    assert result.stdout.strip() == str(page)  # the result alone on stdout, messages on stderr


def test_invalid_spans_and_ecdf():
    times = pd.date_range("2026-05-28T12:00:00Z", periods=6, freq="10s")
    groups = pd.DataFrame(
        {"entity": "e", "valid": [True, False, False, True, True, False]},
        index=pd.DatetimeIndex(times, name="time"),
    )
    spans = plots.invalid_spans(groups)
    naive = times.tz_localize(None).to_numpy()
    assert spans == {"e": [(naive[1], naive[3]), (naive[5], naive[5] + np.timedelta64(10, "s"))]}
    x = np.array([3.0, 1.0, np.nan, 2.0, -np.inf, 2.0])
    xs, p = plots.ecdf(x)
    assert list(xs) == [1.0, 2.0, 2.0, 3.0]
    # F(x) at each sample equals the fraction of non-NaN samples <= it (brute force); -inf counts
    known = x[~np.isnan(x)]
    assert [p[np.flatnonzero(xs == v)[-1]] for v in xs] == [np.mean(known <= v) for v in xs]
    assert p[0] == pytest.approx(2 / 5) and p[-1] == 1.0


def test_axis_labels_carry_units():
    assert plots.axis_label("rcrb_m") == "RCRB (m)"
    assert plots.axis_label("sinr_db_0") == "SINR 0 (dB)"
    assert plots.axis_label("sqrt_crlb_m") == "√CRLB (m)"
    assert plots.axis_label("rate_bps_hz") == "rate (bit/s/Hz)"
    assert plots.axis_label("central_elevation_deg") == "central-satellite elevation (°)"


def test_panels_group_metrics_by_unit():
    metrics = ["rcrb_m", "echo_snr_db", "error_m", "gdop", "rate_min_bps_hz", "n_visible", "crlb_m"]
    assert plots.panels_by_unit(metrics) == [
        ["rcrb_m", "error_m", "crlb_m"],
        ["echo_snr_db"],
        ["gdop"],
        ["rate_min_bps_hz"],
        ["n_visible"],
    ]
    assert plots.panels_by_unit(["a_m", "b_m", "c_m"], max_per_panel=2) == [["a_m", "b_m"], ["c_m"]]
