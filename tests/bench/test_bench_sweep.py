"""A 16-run sweep on a 2-worker dask LocalCluster against the same 16 runs serially.

    /work/venv/bin/pytest tests/bench/test_bench_sweep.py -m bench -s

The sweep: ``scenarios/default.toml`` shortened to 10 min at 30 s (21 epochs), with
``serving.group_size`` in [3, 4, 5, 6] x 4 seeds. Baseline: the same 16 runs one after
the other in this process (``twin.sweep.run_one``, the very call each dask task makes).
The sweep's time is end to end: expanding and checking the grid, starting the
LocalCluster (2 single-threaded worker processes that import twin), running, writing
sweep.json and closing the cluster. Prints both wall times and the speed-up; checks
the tables are equal (wall-clock columns aside); asserts nothing about time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

import twin.results as results
from twin.config.sweep_grammar import expand_sweep
from twin.sweep import run_one, run_sweep

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[2]
SWEEP = f"""\
base = "{(REPO / "scenarios" / "default.toml").as_posix()}"
seeds = {{count = 4, first = 1}}

[set]
"run.duration" = "10m"

[grid]
"serving.group_size" = [3, 4, 5, 6]

[output]
dir = "sweep"
"""


def test_bench_sweep_16_runs_2_workers_vs_serial(tmp_path):
    path = tmp_path / "bench.toml"
    path.write_text(SWEEP, encoding="utf-8")
    sweep = expand_sweep(path)
    assert len(sweep.runs) == 16
    load = os.getloadavg()

    started = time.perf_counter()
    for spec in sweep.runs:
        scenario = dict(
            spec.scenario,
            output={**spec.scenario["output"], "dir": str(tmp_path / "serial" / spec.rel_dir)},
        )
        run_one(scenario, tmp_path / "serial" / spec.rel_dir)
    serial_s = time.perf_counter() - started

    started = time.perf_counter()
    sweep_dir = run_sweep(path, workers=2, quiet=True)
    sweep_s = time.perf_counter() - started

    tables = results.load_sweep(sweep_dir)
    for spec in sweep.runs[::5]:  # spot-check: the sweep's rows equal the serial run's
        serial = results.load(tmp_path / "serial" / spec.rel_dir)
        for name, frame in serial.items():
            mask = (tables[name]["seed"] == spec.seed) & (
                tables[name]["serving.group_size"] == spec.params["serving.group_size"]
            )
            mine = tables[name][mask.to_numpy()].drop(columns=["serving.group_size", "seed"])
            pd.testing.assert_frame_equal(
                mine.drop(columns=["solve_time_s"], errors="ignore"),
                frame.drop(columns=["solve_time_s"], errors="ignore"),
                obj=name,
            )
    print(
        f"\n16-run sweep (default.toml, 10 min at 30 s, group_size 3..6 x 4 seeds), cores {os.cpu_count()}, "
        f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"  serial in one process : {serial_s:7.1f} s ({serial_s / 16:.2f} s per run)")
    print(f"  sweep, 2-worker dask  : {sweep_s:7.1f} s (cluster start and stop included)")
    print(f"  speed-up serial/sweep : {serial_s / sweep_s:7.2f}x")
    print(f"  load average after    : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
