"""DSTA (seed 002 Algorithm 1) per epoch on the Starlink replay's 61-cell cluster.

    /work/venv/bin/pytest tests/bench/test_bench_dsta.py -m bench -s

Captures the beamformer's inputs (channels, HBS schedule, geometry) of the first epochs of
``scenarios/starlink-replay.toml`` (ISAC off, DSTA on; the real 2026-05-28 Starlink snapshot)
by wrapping ``pnt.beamforming.beamform`` during a short ``Twin`` run, then re-runs DSTA on
the same drops in this process with three settings of the fast feasibility test:

* ``current``: the defaults (warm start within a satellite's threshold search, restarted with
  uniform dual weights after WARM_PATIENCE iterations; combination certificate every
  COMBINE_EVERY; FAST_MAX_ITER before the SOCP fallback);
* ``before``: the settings before the replay work (no restart of a stale warm start,
  combination every 25 iterations, SOCP fallback after 200);
* ``cold``: ``warm_start=False`` (every test from zero forcing), the reference path.

Prints CPU seconds per epoch, feasibility tests, fixed-point iterations and SOCP fallbacks of
each, and the ratios against ``before``. Nothing about time is asserted; the verdicts are
(same statuses on every satellite, SINRs within the tolerance band of the ``before`` run).
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from twin.pnt import beamforming as bf
from twin.pnt import feasibility as fz

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "starlink-replay.toml"
SNAPSHOT = ROOT / "ephemeris" / "starlink-2026-05-28.tle"
N_EPOCHS = 4

pytestmark = pytest.mark.bench


def _capture(tmp_path, monkeypatch):
    """Beamformer inputs of the replay's first N_EPOCHS epochs (list of dicts)."""
    from twin.clock import Twin
    from twin.config.loader import scenario_from_dict
    from twin.processes import attach

    if not SNAPSHOT.exists():
        pytest.skip(f"{SNAPSHOT} not found (the replay's TLE snapshot)")
    data = tomllib.loads(SCENARIO.read_text())
    data["run"]["duration"] = f"{(N_EPOCHS - 1) * 10}s"
    data["isac"]["enabled"] = False
    data["pnt"]["beamformer"] = "dsta"
    data["output"]["dir"] = str(tmp_path / "out")
    data["output"]["tables"] = ["epochs", "pnt"]
    drops = []
    original = bf.beamform

    def recording(method, H, delta, **kw):
        drops.append(
            {
                "H": np.array(H),
                "delta": np.array(delta),
                **{k: v for k, v in kw.items() if k != "rng"},
            }
        )
        return original(method, H, delta, **kw)

    monkeypatch.setattr(bf, "beamform", recording)
    twin = Twin(scenario_from_dict(data, base_dir=SCENARIO.parent), tmp_path / "run")
    attach(twin)
    twin.run()
    monkeypatch.setattr(bf, "beamform", original)
    assert len(drops) == N_EPOCHS
    return drops


def _run(drops, **kw):
    stats0 = (fz.STATS.iterations, fz.STATS.fallbacks)
    started = time.process_time()
    results = [
        bf.dsta(
            d["H"],
            d["delta"],
            d["ut_pos"],
            d["sat_pos"],
            d["ref_pos"],
            power_w=d["power_w"],
            noise_w=d["noise_w"],
            bandwidth_hz=d["bandwidth_hz"],
            ref_var=d["ref_var"],
            **kw,
        )
        for d in drops
    ]
    cpu = time.process_time() - started
    return {
        "cpu_s": cpu,
        "tests": int(sum(r.n_tests.sum() for r in results)),
        "iterations": fz.STATS.iterations - stats0[0],
        "fallbacks": fz.STATS.fallbacks - stats0[1],
        "results": results,
    }


def test_bench_dsta_replay_epochs(benchmark, tmp_path, monkeypatch):
    drops = _capture(tmp_path, monkeypatch)
    _run(drops[:1])  # imports, SOCP shapes
    runs = {"current": _run(drops)}
    with monkeypatch.context() as m:
        m.setattr(fz, "WARM_PATIENCE", 10**9)
        m.setattr(fz, "COMBINE_EVERY", 25)
        m.setitem(fz.fast_reduced.__kwdefaults__, "max_iter", 200)
        runs["before"] = _run(drops)
    runs["cold"] = _run(drops, warm_start=False)
    benchmark.pedantic(lambda: _run(drops[:1]), rounds=1, iterations=1)
    n = len(drops)
    I, C, N = drops[0]["H"].shape
    print(f"\nStarlink replay cluster: {n} epochs, {I} satellites x {C} UTs, N = {N}")
    base = runs["before"]
    for name, r in runs.items():
        print(
            f"{name:8s} {r['cpu_s'] / n * 1e3:7.0f} ms CPU/epoch  tests {r['tests'] / n:6.0f}/epoch  "
            f"iterations {r['iterations'] / n:7.0f}/epoch  SOCP fallbacks {r['fallbacks']:3d}  "
            f"CPU ratio vs before {r['cpu_s'] / base['cpu_s']:.2f}"
        )
    benchmark.extra_info.update({f"{k}_cpu_s_per_epoch": r["cpu_s"] / n for k, r in runs.items()})
    for r in (runs["current"], runs["cold"]):
        for a, b, d in zip(r["results"], base["results"], drops):
            assert list(a.status) == list(b.status)
            # in-band verdicts (±FEAS_RTOL around a boundary) may differ, so may later raises:
            # compare the SINR distribution, not link by link
            sa, sb = np.sort(a.sinr[d["delta"]]), np.sort(b.sinr[d["delta"]])
            assert abs(np.median(sa) / np.median(sb) - 1) < 0.05
