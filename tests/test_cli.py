"""The `twin` commands as a user types them: validate, run (refusals and run
directories), ephemeris."""

from pathlib import Path

import pandas as pd
from scenario_text import write_scenario
from typer.testing import CliRunner

from twin.cli import app
from twin.results import load, run_info

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_validate_ok_and_refused(tmp_path):
    result = runner.invoke(app, ["validate", str(ROOT / "scenarios" / "default.toml")])
    assert result.exit_code == 0, result.output
    bad = write_scenario(tmp_path, "bad.toml", run={"step": "-5s"}, shell={"phasing": 36})
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "bad.toml:6 run.step" in result.output
    assert "bad.toml:14 constellation.shells[0].phasing" in result.output


def test_refused_run_writes_nothing(tmp_path):
    bad = write_scenario(tmp_path, "bad.toml", shell={"altitude_km": 100})
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(bad), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert "altitude_km" in result.output
    assert not out.exists()


def test_refused_tle_run_writes_nothing(tmp_path):
    tle = tmp_path / "bad.tle"
    good = (ROOT / "ephemeris" / "starlink-2026-05-28.tle").read_text().splitlines()[:6]
    good[1] = good[1][:-1] + str((int(good[1][-1]) + 1) % 10)  # checksum broken
    tle.write_text("\n".join(good) + "\n")
    scenario = write_scenario(
        tmp_path, "tle.toml", constellation={"kind": "tle", "tle_file": tle.name}, shells=[]
    )
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "bad.tle:2" in result.output and "checksum" in result.output
    assert not out.exists()


def test_existing_run_directory_is_never_overwritten(tmp_path):
    scenario = write_scenario(tmp_path, "small.toml")
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (out / "precious.txt").read_text() == "keep me"
    assert run_info(tmp_path / "run-2")["status"] == "complete"
    tables = load(tmp_path / "run-2")
    assert len(tables["epochs"]) == 5
    assert set(tables) >= {"epochs", "visibility", "isl", "groups", "handovers"}


def test_run_prints_a_summary(tmp_path):
    scenario = write_scenario(tmp_path, "small.toml")
    result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    for words in (
        "satellites",
        "792",
        "epochs",
        "handovers",
        "mean visible satellites",
        "wall time",
    ):
        assert words in result.output


def test_ephemeris_command(tmp_path):
    out = tmp_path / "eph.parquet"
    result = runner.invoke(
        app,
        [
            "ephemeris",
            str(ROOT / "scenarios" / "default.toml"),
            "--start",
            "2026-05-28T12:00:00Z",
            "--duration",
            "10m",
            "--step",
            "60s",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert list(frame.columns) == [
        "time",
        "sat",
        "norad",
        "x_m",
        "y_m",
        "z_m",
        "lat_deg",
        "lon_deg",
        "alt_m",
    ]
    assert len(frame) == 792 * 11
    assert str(frame["time"].dt.tz) == "UTC"


def test_ephemeris_refuses_bad_flags(tmp_path):
    result = runner.invoke(
        app,
        [
            "ephemeris",
            str(ROOT / "scenarios" / "default.toml"),
            "--start",
            "yesterday",
            "-o",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2 and "ISO 8601" in result.output
    result = runner.invoke(
        app,
        [
            "ephemeris",
            str(ROOT / "scenarios" / "default.toml"),
            "--start",
            "2026-05-28T12:00:00Z",
            "--step",
            "0s",
            "-o",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2 and "step" in result.output


def test_paper_commands_are_mounted():
    isac = runner.invoke(app, ["paper", "isac", "--help"], terminal_width=200)
    assert isac.exit_code == 0, isac.output
    for name in ("fig3", "fig4", "fig6", "fig7", "fig8", "fig9", "fig10", "groups"):
        assert f" {name} " in isac.output, name
    pnt = runner.invoke(app, ["paper", "pnt", "--help"], terminal_width=200)
    assert pnt.exit_code == 0, pnt.output
    for name in ("table3", "table4", "fig3", "fig9"):
        assert f" {name} " in pnt.output, name
