"""Faults in windowed runs: a killed dask worker, a SIGKILLed `twin run --workers 2`, resume."""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_windows import assert_tables_equal, write_scenario

from twin.results import run_info
from twin.rundir import read_json, window_checkpoint_path
from twin.runner import run_scenario
from twin.windows import window_spans

pytestmark = pytest.mark.slow

N_EPOCHS, WINDOW = 30, 10  # duration 290 s at 10 s; windows [0,10) [10,20) [20,30)


def _window_states(run_dir: Path) -> dict:
    states = {}
    for first, stop in window_spans(N_EPOCHS, WINDOW):
        path = window_checkpoint_path(run_dir, first)
        try:
            states[first] = (json.loads(path.read_text()), stop)
        except (OSError, ValueError):
            pass
    return states


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    scenario = write_scenario(tmp, duration="290s", checkpoint_every=2, window=WINDOW)
    return scenario, run_scenario(scenario, out=tmp / "serial", quiet=True)


def test_killed_worker_loses_no_finished_result(tmp_path, serial):
    """SIGKILL of the worker process running a window, mid-window: dask re-runs the task on a
    (restarted) worker, which continues from the window's checkpoint; tables equal serial."""
    import dask
    from distributed import Client, LocalCluster

    scenario, serial_dir = serial
    with dask.config.set({"distributed.scheduler.allowed-failures": 5}):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = Client(cluster)
    out, errors = tmp_path / "windowed", []

    def run():
        try:
            run_scenario(scenario, out=out, quiet=True, scheduler_address=cluster.scheduler_address)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    try:
        deadline = time.monotonic() + 240
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            for first, (state, stop) in _window_states(out).items():
                if first < state["next_epoch"] < stop and state.get("memory"):
                    pid, seen = state["memory"][-1]["pid"], state["next_epoch"]
                    assert pid in client.run(os.getpid).values(), (
                        "window checkpoints name their worker's pid"
                    )
                    os.kill(pid, signal.SIGKILL)
                    killed = (first, stop, pid, seen)
                    break
            time.sleep(0.02)
        thread.join(timeout=300)
    finally:
        client.close()
        cluster.close()
    assert killed is not None, "no window was caught mid-way"
    assert not errors, errors
    first, stop, pid, seen = killed
    state = json.loads(window_checkpoint_path(out, first).read_text())
    assert state["next_epoch"] == stop
    pids = [m["pid"] for m in state["memory"]]
    # the samples written before the kill survive (the window continued from its checkpoint)
    # and the rest of the window ran in another process
    assert {"epoch": seen, "pid": pid} in [
        {"epoch": m["epoch"], "pid": m["pid"]} for m in state["memory"]
    ]
    assert pids[-1] != pid
    assert not _alive(pid)
    assert run_info(out)["status"] == "complete"
    assert_tables_equal(serial_dir, out)


def test_sigkill_of_windowed_run_then_resume(tmp_path, serial):
    """SIGKILL of `twin run --workers 2` after some windows finished; its workers go too;
    `--resume` re-runs only the unfinished windows; tables equal the serial run's."""
    scenario, serial_dir = serial
    out = tmp_path / "windowed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twin.cli",
            "run",
            str(scenario),
            "--out",
            str(out),
            "--workers",
            "2",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    finished = {}
    while time.monotonic() < deadline:
        states = _window_states(out)
        finished = {first: s for first, (s, stop) in states.items() if s["next_epoch"] == stop}
        if finished and len(finished) < len(window_spans(N_EPOCHS, WINDOW)):
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert run_info(out)["status"] == "running", "the run finished before it could be killed"
    worker_pids = {m["pid"] for s, _ in _window_states(out).values() for m in s.get("memory", [])}
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in worker_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in worker_pids), "orphaned workers outlived the killed run"
    before = {first: state["memory"] for first, state in finished.items()}

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin.cli",
            "run",
            "--resume",
            str(out),
            "--workers",
            "2",
            "--quiet",
        ],
        capture_output=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert run_info(out)["status"] == "complete"
    for first, memory in before.items():  # finished windows were not run again
        assert json.loads(window_checkpoint_path(out, first).read_text())["memory"] == memory
    assert len(read_json(out / "run.json")["sessions"]) == 1  # the killed session never completed
    assert_tables_equal(serial_dir, out)
