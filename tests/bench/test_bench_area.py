"""CPU seconds per entity-epoch of the per-epoch engines at 1, 10 and 100 entities: batched
across entities against the per-entity loop, in the same process.

    /work/venv/bin/pytest tests/bench/test_bench_area.py -m bench -s

PNT (seed 002): DSTA (HBS-like random schedule, fast feasibility tests) on synthetic drops of
6 satellites at 600 km and 9 UTs (tests/pnt/test_beamforming_warm.drop; scaled down from the
replay's 21 satellites x 61 cells so that the 100-drop case fits the benchmark's 30 s), one
drop per cluster: the per-cluster loop (``beamforming.dsta`` one after the other) against
``twin.pnt.batch.run_batched`` (every cluster's DSTA as a coroutine, the feasibility tests of
all clusters solved together by ``feasibility.fast_reduced_many``). Checked: the same statuses
and test counts, SINRs within 1e-5 relative (tests/pnt/test_batch.py states the tolerance).

ISAC (seed 000): the fast design (``twin.isac.fast_design``, 90 % of a target-epoch on the
Starlink replay) of Table II problems, per-target loop only at 1 and 3 targets: there is no
batched ISAC design yet (docs/twin.md, "Areas"); the line is printed so the two costs can be
compared. Nothing about time is asserted.
"""

from __future__ import annotations

import time

import numpy as np
from pnt.test_beamforming_warm import NOISE_W, P_W, drop

from twin.isac.design.fast_design import fast_design
from twin.paper.isac.problems import paper_problem
from twin.pnt import beamforming as bf
from twin.pnt import feasibility as fz
from twin.pnt.batch import run_batched

COUNTS = (1, 10, 100)


def _dsta(d):
    H, delta, ut, sats, ref = d
    return bf.dsta(
        H, delta, ut, sats, ref, power_w=P_W, noise_w=NOISE_W, bandwidth_hz=1e8, ref_var=1e-18
    )


def _cpu(fn):
    started = time.process_time()
    out = fn()
    return time.process_time() - started, out


def test_bench_pnt_clusters_batched_vs_loop():
    drops = [drop(seed, I=6, C=9, nx=8) for seed in range(max(COUNTS))]
    print("\nPNT DSTA, CPU s per cluster-epoch (6 satellites x 9 UTs per drop)")
    print(f"{'clusters':>9} {'loop':>9} {'batched':>9} {'loop/batched':>13}")
    for n in COUNTS:
        t_loop, loop = _cpu(lambda n=n: [_dsta(d) for d in drops[:n]])
        t_bat, bat = _cpu(
            lambda n=n: run_batched([lambda d=d: _dsta(d) for d in drops[:n]], fz.fast_reduced_many)
        )
        for a, b in zip(loop, bat):
            assert list(a.status) == list(b.status)
            np.testing.assert_array_equal(a.n_tests, b.n_tests)
            m = np.isfinite(a.sinr)
            np.testing.assert_allclose(b.sinr[m], a.sinr[m], rtol=1e-5)
        print(f"{n:>9} {t_loop / n:>9.4f} {t_bat / n:>9.4f} {t_loop / t_bat:>13.2f}")


def test_bench_isac_design_per_target_loop():
    problem = paper_problem("II", nx=4, nz=4, n_ue=10)
    print("\nISAC fast design, CPU s per target-epoch (Table II size), per-target loop only")
    for n in (1, 3):
        t, results = _cpu(lambda n=n: [fast_design(problem, seed=k) for k in range(n)])
        assert all(r.meets(problem) for r in results)
        print(f"{n:>9} targets {t / n:>9.4f} s  (batched: not implemented)")
