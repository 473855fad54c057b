"""Real-data commands: `twin ephemeris` from a scenario's own times, --drop-decayed (and the
scenario's constellation.drop_decayed), -o never overwritten without --force, long problem
lists cut at 10, and OMM files as a scenario's element sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from data_files import starlink_snapshot_path
from scenario_text import write_scenario
from sgp4.exporter import export_omm
from typer.testing import CliRunner

from twin.cli import app
from twin.constellation.tle import read_tle
from twin.results import run_info
from twin.runner import prepare, run_scenario

runner = CliRunner()
LATER = datetime(2026, 6, 5, tzinfo=UTC)  # two snapshot records have decayed by then


def _decaying_tle(tmp_path):
    """3 good snapshot records and the two that decay within a week (test_fuzz_tle.py)."""
    lines = starlink_snapshot_path().read_text().splitlines()
    path = tmp_path / "decay.tle"
    path.write_text("\n".join(lines[:9] + lines[30594:30597] + lines[30957:30960]) + "\n")
    return path


def _tle_scenario(tmp_path, tle, **constellation):
    return write_scenario(
        tmp_path,
        "tle.toml",
        run={"start": LATER, "duration": "10m", "step": "60s"},
        constellation={"kind": "tle", "tle_file": tle.name, **constellation},
        shells=[],
    )


def test_ephemeris_takes_start_duration_and_step_from_a_scenario(tmp_path):
    scenario = write_scenario(tmp_path, "small.toml")  # 2 min at 30 s from 2026-05-28 12:00
    out = tmp_path / "eph.parquet"
    result = runner.invoke(app, ["ephemeris", str(scenario), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}\n"
    frame = pd.read_parquet(out)
    times = pd.DatetimeIndex(sorted(frame["time"].unique()))
    assert list(times) == list(pd.date_range("2026-05-28 12:00", periods=5, freq="30s", tz="UTC"))
    assert len(frame) == 792 * 5
    again = runner.invoke(app, ["ephemeris", str(scenario), "-o", str(out), "--step", "60s"])
    assert again.exit_code == 2 and "--force" in again.output  # never overwritten silently
    assert len(pd.read_parquet(out)) == 792 * 5
    forced = runner.invoke(
        app, ["ephemeris", str(scenario), "-o", str(out), "--step", "60s", "--force"]
    )
    assert forced.exit_code == 0 and len(pd.read_parquet(out)) == 792 * 3
    tle_needs_start = runner.invoke(
        app, ["ephemeris", str(_decaying_tle(tmp_path)), "-o", str(tmp_path / "x.parquet")]
    )
    assert tle_needs_start.exit_code == 2 and "--start" in tle_needs_start.output


def test_ephemeris_drop_decayed_keeps_the_good_satellites(tmp_path):
    tle = _decaying_tle(tmp_path)
    args = ["ephemeris", str(tle), "--start", "2026-06-05T00:00:00Z", "--duration", "1h"]
    refused = runner.invoke(app, [*args, "-o", str(tmp_path / "a.parquet")])
    assert refused.exit_code == 2 and "--drop-decayed" in refused.output
    assert not (tmp_path / "a.parquet").exists()
    kept = runner.invoke(app, [*args, "-o", str(tmp_path / "a.parquet"), "--drop-decayed"])
    assert kept.exit_code == 0, kept.output
    assert f"{tle}:11: STARLINK-37460" in kept.stderr and f"{tle}:14: STARLINK-37667" in kept.stderr
    frame = pd.read_parquet(tmp_path / "a.parquet")
    assert sorted(frame["norad"].unique()) == sorted(read_tle(tle).norad[:3])


def test_long_problem_lists_show_ten_and_a_count(tmp_path):
    lines = starlink_snapshot_path().read_text().splitlines()[: 3 * 12]
    for k in range(1, len(lines), 3):  # break every line-1 checksum
        lines[k] = lines[k][:68] + str((int(lines[k][68]) + 1) % 10)
    bad = tmp_path / "bad.tle"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        [
            "ephemeris",
            str(bad),
            "--start",
            "2026-05-28T12:00:00Z",
            "-o",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2
    assert "refused: 12 problem(s)" in result.stderr
    assert result.stderr.count("checksum") == 10 and "... and 2 more" in result.stderr


def test_run_with_drop_decayed_leaves_them_out_and_lists_them(tmp_path):
    tle = _decaying_tle(tmp_path)
    refused = runner.invoke(
        app, ["run", str(_tle_scenario(tmp_path, tle)), "-q", "-o", str(tmp_path / "r")]
    )
    assert refused.exit_code == 2 and "STARLINK-37460" in refused.stderr
    scenario = _tle_scenario(tmp_path, tle, drop_decayed=True)
    run_dir = run_scenario(scenario, out=tmp_path / "r", quiet=True)
    info = run_info(run_dir)
    assert info["n_satellites"] == 3
    assert [d.split(": ")[0] for d in info["dropped_satellites"]] == [f"{tle}:11", f"{tle}:14"]


def test_an_omm_file_is_a_scenario_element_set(tmp_path):
    tle = read_tle(_decaying_tle(tmp_path)).subset([0, 1, 2])
    (tmp_path / "few.json").write_text(
        json.dumps([export_omm(s, n) for s, n in zip(tle.satrecs, tle.names)])
    )
    scenario = write_scenario(
        tmp_path,
        "omm.toml",
        constellation={"kind": "tle", "tle_file": "few.json"},
        shells=[],
    )
    _, constellation = prepare(scenario)
    assert constellation.names == tle.names and list(constellation.norad) == list(tle.norad)
