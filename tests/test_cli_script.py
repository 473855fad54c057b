"""`twin` in a script: the version, stdout carrying only the result, the exit codes, and Ctrl-C
(SIGINT) on a real run followed by --resume giving the uninterrupted tables."""

import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version

import pandas as pd
import pytest
from scenario_text import write_scenario
from typer.testing import CliRunner

from twin.cli import app, main
from twin.results import load, run_info
from twin.rundir import read_checkpoint
from twin.runner import run_scenario
from twin.terminal import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_USAGE

runner = CliRunner()


def test_version_comes_from_the_installed_metadata():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"twin {version('leo-twin')}\n"


def test_quiet_run_prints_only_the_run_directory_on_stdout(tmp_path):
    scenario = write_scenario(tmp_path, "small.toml")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "other.txt").write_text("taken")
    result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'run-2'}\n"  # the directory it got, not the one asked


def test_summary_goes_to_stderr_and_keeps_the_whole_run_directory(tmp_path):
    scenario = write_scenario(tmp_path, "small.toml")
    out = tmp_path / ("a-long-folder-name-" * 4) / "walker-72x22"
    (out.parent / "walker-72x22").mkdir(parents=True)
    (out.parent / "walker-72x22" / "x").write_text("taken")
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)], terminal_width=80)
    assert result.exit_code == 0, result.output
    got = out.parent / "walker-72x22-2"
    assert result.stdout == f"{got}\n"
    assert "handovers" in result.stderr and "handovers" not in result.stdout
    folded = "".join(
        line.strip("│ ").split("│")[-1].strip()
        for line in result.stderr.splitlines()
        if "│" in line and "satellites" not in line
    )
    assert str(got) in folded.replace(" ", "")  # folded over lines, no "…", the "-2" kept
    assert f"twin report {got}" in result.stderr.replace("\n", "")
    assert "{" not in result.stderr  # no dict repr


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["run", "--no-such-option"], EXIT_USAGE),
        (["validate"], EXIT_USAGE),
        (["validate", "/no/such/scenario.toml"], EXIT_BAD_INPUT),
        (["--version"], 0),
    ],
)
def test_exit_codes_of_the_entry_point(monkeypatch, argv, code):
    monkeypatch.setattr(sys, "argv", ["twin", *argv])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == code


@pytest.mark.slow  # 11 s on the shared 2-core machine (three runs of 241 epochs)
def test_ctrl_c_checkpoints_marks_interrupted_and_resume_gives_the_same_tables(tmp_path):
    scenario = write_scenario(
        tmp_path, "long.toml", run={"duration": "40m", "step": "10s", "checkpoint_every": 10}
    )
    stopped, whole = tmp_path / "stopped", tmp_path / "whole"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "run", str(scenario), "--out", str(stopped)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while not (stopped / "checkpoint.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert out == f"{stopped}\n"
    assert f"twin run --resume {stopped}" in err
    info = run_info(stopped)
    assert info["status"] == "interrupted"
    next_epoch = read_checkpoint(stopped)["next_epoch"]
    assert 10 <= next_epoch < info["n_epochs"], "the run finished before the interrupt"
    assert run_scenario(resume=stopped, quiet=True) == stopped
    assert run_info(stopped)["status"] == "complete"
    run_scenario(scenario, out=whole, quiet=True)
    a, b = load(stopped), load(whole)
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    assert len(a["epochs"]) == info["n_epochs"] and len(a["handovers"]) > 0


def test_verbose_logs_to_stderr_through_logging(tmp_path):
    scenario = write_scenario(tmp_path, "small.toml")
    out = tmp_path / "run"
    quiet = runner.invoke(app, ["run", str(scenario), "-o", str(out), "-q"])
    assert "problem(s) at the run's epochs" not in quiet.stderr
    loud = runner.invoke(app, ["-v", "run", str(scenario), "-o", str(out), "-q"])
    assert loud.exit_code == 0, loud.output
    assert "792 satellites, 0 problem(s) at the run's epochs" in loud.stderr
    assert loud.stdout == f"{tmp_path / 'run-2'}\n"
