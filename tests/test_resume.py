"""A run killed with SIGKILL and resumed gives the tables of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
from scenario_text import scenario_toml

from twin.results import load, run_info
from twin.rundir import read_checkpoint

SCENARIO = scenario_toml(
    run={
        "name": "resume-test",
        "duration": "20m",
        "step": "10s",
        "seed": 7,
        "checkpoint_every": 10,
    },
    shell={"total": 1584, "planes": 72},
    visibility={"mask_elevation_deg": 10},
    serving={"group_size": 5, "collaboration": "II"},
    targets=[{"name": "target-a", "lat_deg": 48.1, "lon_deg": 11.6}],
    terminals=[
        {"name": "ut-b", "lat_deg": 40.4, "lon_deg": -3.7, "velocity_enu_mps": [30.0, 10.0, 0.0]}
    ],
    output={"dir": "unused", "tables": ["epochs", "visibility", "isl", "groups", "handovers"]},
)


def _twin(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "twin.cli", *args, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    killed, whole = tmp_path / "killed", tmp_path / "whole"

    process = _twin("run", str(scenario), "--out", str(killed))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        checkpoint = read_checkpoint(killed) if killed.exists() else None
        if checkpoint is not None and checkpoint["next_epoch"] >= 30:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert run_info(killed)["status"] == "running", "the run finished before it could be killed"
    n_epochs = run_info(killed)["n_epochs"]
    assert read_checkpoint(killed)["next_epoch"] < n_epochs

    resumed = _twin("run", "--resume", str(killed))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    straight = _twin("run", str(scenario), "--out", str(whole))
    out, err = straight.communicate(timeout=300)
    assert straight.returncode == 0, err.decode()

    assert run_info(killed)["status"] == "complete"
    a, b = load(killed), load(whole)
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    assert len(a["epochs"]) == n_epochs
    assert a["handovers"].shape[0] > 0, "the test scenario should produce handovers"
