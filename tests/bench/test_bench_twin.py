"""Per-epoch cost of the ISAC and PNT processes on the clock, against the foundation alone.

    /work/venv/bin/pytest tests/bench/test_bench_twin.py -m bench -s

Runs the same short scenario (the 72 x 22 Walker shell of seed 000, 5 minutes at 10 s, one ISAC
target with PSO 50 x 40 and one 61-cell PNT cluster, re-planning every epoch) twice in this
process: with the processes off (baseline: propagation, topology, groups, recording) and on.
Prints the ratio of the wall times and the process stages per epoch; the PNT beamformer is
parametrised (ZF, DSTA). Nothing about wall-clock time is asserted.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest
from scenario_text import scenario_toml

from twin.clock import Twin
from twin.config.loader import scenario_from_dict
from twin.processes import attach

pytestmark = pytest.mark.bench


def _scenario(on: bool, beamformer: str) -> str:
    return scenario_toml(
        run={"name": "bench-twin", "duration": "5m", "step": "10s"},
        shell={"total": 1584, "planes": 72},
        visibility={"mask_elevation_deg": 10},
        targets=[
            {"name": "car", "lat_deg": 45.0, "lon_deg": 7.7, "velocity_enu_mps": [10.0, 5.0, 0.0]}
        ],
        terminals=[{"name": "cluster", "lat_deg": 45.0, "lon_deg": 7.7}],
        isac={"enabled": on},
        pnt={"enabled": on, "beamformer": beamformer},
        output={"dir": "unused"},
    )


def _run(tmp_path: Path, name: str, on: bool, beamformer: str) -> tuple[float, Twin]:
    data = tomllib.loads(_scenario(on, beamformer))
    twin = Twin(scenario_from_dict(data, base_dir=tmp_path), tmp_path / name)
    attach(twin)
    started = time.perf_counter()
    twin.run()
    return time.perf_counter() - started, twin


@pytest.mark.parametrize("beamformer", ["zf", "dsta"])
def test_bench_processes_per_epoch(benchmark, tmp_path, beamformer):
    base_s, base = _run(tmp_path, f"base-{beamformer}", False, beamformer)
    full_s, full = benchmark.pedantic(
        lambda: _run(tmp_path, f"full-{beamformer}", True, beamformer), rounds=1, iterations=1
    )
    n = full.n_epochs
    stages = {
        k: v / n
        for k, v in full.timer.seconds.items()
        if k
        in (
            "isac_channels",
            "design",
            "isac_crb",
            "estimation",
            "pnt_channels",
            "pnt_scheduling",
            "pnt_beamforming",
            "pnt_positioning",
        )
    }
    print(
        f"\n{n} epochs; foundation alone {base_s / n * 1e3:.0f} ms/epoch, with ISAC + PNT ({beamformer}) "
        f"{full_s / n * 1e3:.0f} ms/epoch: ratio {full_s / base_s:.1f}"
    )
    print("process stages, ms/epoch: " + ", ".join(f"{k} {v * 1e3:.0f}" for k, v in stages.items()))
    assert (
        full.summary_counts.get("isac_rows", 0) == n
        and full.summary_counts.get("pnt_rows", 0) == 61 * n
    )
