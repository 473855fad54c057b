"""CPU seconds per PNT cluster-epoch at 1, 10 and 100 clusters: the compiled engine against
today's per-cluster loop, in the same process, on the real Starlink snapshot.

    /work/venv/bin/pytest tests/bench/test_bench_area_pnt.py -m bench -s

The epoch: the first of ``scenarios/region-starlink.toml`` (2026-05-28 18:00 UTC, 10,342
Starlink satellites, 25° mask), with its 20-cluster grid replaced by CLUSTERS seeded random
cluster centres in the same box. Each cluster-epoch is one call of
:meth:`twin.processes.pnt.PntProcess.step` (visibility, channels eq. (8)-(10), HBS, DSTA,
CRLB, GDOP, one TDOA fix per UT: the whole per-epoch PNT work), timed with
``time.process_time``. Scaled down so the benchmark fits its 60 s budget: clusters of 19
cells (``cluster_rings = 2``) instead of 61, and each engine steps the first 1, 10 and
100 clusters (the loop's per-cluster cost does not depend on how many clusters there are;
the engine shares nothing across clusters either).

* ``loop``: today's path, DSTA's feasibility tests and threshold search in numpy
  (``dsta(engine="numpy")``), one Gauss-Newton fix per UT (``crlb.gauss_newton_tdoa``) and
  HBS's channel correlations by one einsum;
* ``compiled``: the defaults, DSTA's search compiled (:mod:`twin.pnt.dsta_compiled`), the
  fixes of a cluster stacked (``crlb.gauss_newton_tdoa_each``), the correlations by one BLAS
  product per satellite (``scheduling.similarity_gram``).

Both run with BLAS on one thread, as ``twin run`` does (``TWIN_BLAS_THREADS``).

Asserted: both give the same rows (statuses, schedules, beamformer statuses exactly; SINR,
√CRLB, GDOP and fix errors within 1e-6 relative: the fast test's verdicts are the same, its
iterates agree to rounding), and the compiled engine is faster at 100 clusters.
"""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from twin.pnt import beamforming as bf
from twin.pnt import scheduling
from twin.pnt.crlb import gauss_newton_tdoa

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "region-starlink.toml"
SNAPSHOT = ROOT / "ephemeris" / "starlink-2026-05-28.tle"
#: Cluster counts and cluster size; TWIN_BENCH_PNT_COUNTS="1,10" TWIN_BENCH_PNT_RINGS=4 gives
#: the unscaled 61-cell clusters (about 0.4 s per cluster-epoch on the loop).
COUNTS = tuple(int(n) for n in os.environ.get("TWIN_BENCH_PNT_COUNTS", "1,10,100").split(","))
RINGS = int(os.environ.get("TWIN_BENCH_PNT_RINGS", "2"))

pytestmark = pytest.mark.bench


def _per_ut_fixes(meas, sats, ref_pos, start, cov):
    """Today's fixes: ``gauss_newton_tdoa`` UT by UT (``gauss_newton_tdoa_each``'s signature)."""
    fix = np.full((len(meas), 3), np.nan)
    ok = np.zeros(len(meas), dtype=bool)
    for n in range(len(meas)):
        try:
            fix[n] = gauss_newton_tdoa(meas[n], sats[n], ref_pos, start[n], cov=cov[n])
            ok[n] = True
        except np.linalg.LinAlgError:
            pass
    return fix, ok


def _einsum_gram(H):
    """Today's ``scheduling.similarity_gram`` (one einsum over the drop)."""
    Hn = H / np.linalg.norm(H, axis=-1, keepdims=True)
    return np.abs(np.einsum("icn,ikn->ick", Hn.conj(), Hn))


def _twin(tmp_path):
    from twin.clock import Twin
    from twin.config.loader import scenario_from_dict

    if not SNAPSHOT.exists():
        pytest.skip(f"{SNAPSHOT} not found (the replay's TLE snapshot)")
    data = tomllib.loads(SCENARIO.read_text())
    data["run"]["duration"] = "10s"
    data["isac"]["enabled"] = False
    data["pnt"]["cluster_rings"] = RINGS
    data["areas"] = [
        {**a, "fill": "random", "count": max(COUNTS), "seed": 2}
        for a in data["areas"]
        if a["entities"] == ["terminals"]
    ]
    for a in data["areas"]:
        a.pop("spacing_km", None)
    data["output"]["dir"] = str(tmp_path / "out")
    return Twin(scenario_from_dict(data, base_dir=SCENARIO.parent), tmp_path / "run")


def _steps(twin, epoch, names):
    """(CPU seconds, rows) of one PntProcess.step per cluster, in a fresh process object."""
    from twin.epoch import entity_rng
    from twin.processes.pnt import PntProcess

    process = PntProcess(twin.context)
    rows = []
    started = time.process_time()
    for name in names:
        rng = entity_rng(process.seed, epoch.index, process.index[name])
        rows.extend(process.step(twin.context, epoch, name, rng)[0])
    return time.process_time() - started, rows


EXACT = ("status", "n_visible", "reference", "sats", "bf_status", "replanned")
CLOSE = ("sinr_min_db", "sinr_mean_db", "crlb_m", "gdop", "fix_error_m", "fix_error_h_m")


@pytest.fixture
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def test_bench_area_pnt_compiled_vs_loop(tmp_path, monkeypatch, one_blas_thread):
    import twin.processes.pnt as pnt_process

    twin = _twin(tmp_path)
    epoch = twin.build_epoch(0)
    names = list(twin.scenario.pnt.terminals or [t.name for t in twin.scenario.terminals])
    assert len(names) == max(COUNTS)
    _steps(twin, epoch, names[:1])  # numba kernels loaded (compiled on a cold cache)
    cpu = {}
    rows = {}
    for n in COUNTS:
        cpu["compiled", n], rows["compiled", n] = _steps(twin, epoch, names[:n])
        with monkeypatch.context() as m:
            m.setitem(bf.dsta.__kwdefaults__, "engine", "numpy")
            m.setattr(pnt_process, "gauss_newton_tdoa_each", _per_ut_fixes)
            m.setattr(scheduling, "similarity_gram", _einsum_gram)
            cpu["loop", n], rows["loop", n] = _steps(twin, epoch, names[:n])
    I = epoch.sat_pos.shape[0]
    C = 1 + 3 * RINGS * (RINGS + 1)
    print(f"\nPNT cluster-epochs on the Starlink snapshot ({I} satellites), {C} cells per cluster")
    print(f"{'clusters':>9} {'loop s':>9} {'compiled s':>11} {'loop/compiled':>14}")
    for n in COUNTS:
        a, b = cpu["loop", n] / n, cpu["compiled", n] / n
        print(f"{n:>9} {a:>9.4f} {b:>11.4f} {a / b:>14.2f}")
    for n in COUNTS:
        ref, new = rows["loop", n], rows["compiled", n]
        assert len(ref) == len(new) == n * C
        for r, s in zip(ref, new):
            assert {k: r[k] for k in EXACT} == {k: s[k] for k in EXACT}
            np.testing.assert_allclose(
                [s[k] for k in CLOSE], [r[k] for k in CLOSE], rtol=1e-6, atol=1e-9
            )
    assert cpu["loop", COUNTS[-1]] > cpu["compiled", COUNTS[-1]]
