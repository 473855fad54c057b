"""Benchmark of the DSTA feasibility test (seed 002, A.7) and of one DSTA satellite run.

Run: /work/venv/bin/pytest tests/bench/test_bench_pnt_feasibility.py --benchmark-enable -s
SDR at full size (12 beams, 8×8: minutes to tens of minutes with SCS) only with
TWIN_BENCH_SDR=1; otherwise the SDR is timed on a 4-beam 4×4 instance.
Times are printed with ratios against the fast method measured in the same process;
nothing here asserts a wall-clock time.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from twin.pnt import beamforming as bf
from twin.pnt import feasibility as fz
from twin.pnt.channel import PntParams, channels, pnt_body_frames

pytestmark = pytest.mark.bench

PARAMS = PntParams(element_gain_dbi=5.5)
P_W, NOISE_W = PARAMS.power_w, PARAMS.noise_w
R_E = 6371e3


def _drop(rng, n_sats, n_ut, nx, spacing_m=75e3):
    """n_ut UTs on a hexagonal-ish grid (spacing_m) under n_sats satellites at 600 km."""
    side = int(np.ceil(np.sqrt(n_ut)))
    grid = np.array(
        [(e + 0.5 * (n % 2), n) for n in range(side) for e in range(side)], dtype=float
    )[:n_ut]
    grid = (grid - grid.mean(axis=0)) * spacing_m + rng.uniform(-10e3, 10e3, size=(n_ut, 2))
    ut = np.stack([np.full(n_ut, R_E), grid[:, 0], grid[:, 1]], axis=1)
    ut = R_E * ut / np.linalg.norm(ut, axis=1, keepdims=True)
    rs = R_E + PARAMS.altitude_m
    ang = rng.uniform(0, 2 * np.pi, size=n_sats)
    off = rng.uniform(0, 300e3, size=n_sats)
    sats = np.stack([np.full(n_sats, rs), off * np.cos(ang), off * np.sin(ang)], axis=1)
    sats = rs * sats / np.linalg.norm(sats, axis=1, keepdims=True)
    H = channels(
        sats,
        ut,
        pnt_body_frames(sats),
        freq_hz=PARAMS.freq_hz,
        nx=nx,
        ny=nx,
        element_gain_dbi=PARAMS.element_gain_dbi,
        rng=rng,
    )
    return H, ut, sats, np.array([rs, 0.0, 0.0])


def _max_min(H):
    Q, Hr = fz.reduce_channels(H)
    Hn = Hr * np.sqrt(P_W / NOISE_W)
    w = np.sum(np.abs(Hn) ** 2, axis=1)
    lo, hi = 1e-4, 1.0
    while hi / lo > 1.001:
        mid = np.sqrt(lo * hi)
        ok, _ = fz.feasible(H, mid * w, P_W, NOISE_W, method="socp")
        lo, hi = (mid, hi) if ok else (lo, mid)
    return lo * w


@pytest.fixture(scope="module")
def inst12():
    H, *_ = _drop(np.random.default_rng(12), 1, 12, 8)
    g = _max_min(H[0])
    return H[0], 0.95 * g, 1.05 * g


@pytest.fixture(scope="module")
def inst4():
    H, *_ = _drop(np.random.default_rng(4), 1, 4, 4)
    g = _max_min(H[0])
    return H[0], 0.95 * g, 1.05 * g


def _time(fn, repeat):
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t0) / repeat, out


def test_bench_fast_12_beams(benchmark, inst12):
    H, g_ok, _ = inst12
    ok, _ = benchmark(fz.feasible, H, g_ok, P_W, NOISE_W, method="fast")
    assert ok


def test_bench_socp_12_beams(benchmark, inst12):
    H, g_ok, _ = inst12
    ok, _ = benchmark(fz.feasible, H, g_ok, P_W, NOISE_W, method="socp")
    assert ok


def test_feasibility_ratios(inst12, inst4):
    """fast vs SOCP vs SDR in one process; verdicts must agree."""
    rows = []
    for name, (H, g_ok, g_bad) in (("12 beams 8x8", inst12), ("4 beams 4x4", inst4)):
        for label, g in (("feasible 0.95", g_ok), ("infeasible 1.05", g_bad)):
            t_fast, (ok_f, _) = _time(lambda: fz.feasible(H, g, P_W, NOISE_W, method="fast"), 50)
            t_socp, (ok_s, _) = _time(lambda: fz.feasible(H, g, P_W, NOISE_W, method="socp"), 5)
            assert ok_f == ok_s == (g is g_ok)
            rows.append((name, label, "fast", t_fast, 1.0))
            rows.append((name, label, "socp", t_socp, t_socp / t_fast))
            sdr_here = name.startswith("4") or os.environ.get("TWIN_BENCH_SDR") == "1"
            if sdr_here:
                t_sdr, (ok_r, _) = _time(lambda: fz.feasible(H, g, P_W, NOISE_W, method="sdr"), 1)
                assert ok_r == ok_f
                rows.append((name, label, "sdr", t_sdr, t_sdr / t_fast))
    print("\ninstance        thresholds        method   time/test     x fast")
    for name, label, m, t, r in rows:
        print(f"{name:15s} {label:17s} {m:6s} {t * 1e3:10.3f} ms {r:10.1f}")


def test_dsta_satellite_fast_vs_socp():
    """DSTA on 3 satellites × 12 beams (8×8), every UT served by all three (I_TDOA = 3)."""
    H, ut, sats, ref = _drop(np.random.default_rng(3), 3, 12, 8, spacing_m=100e3)
    delta = np.ones(H.shape[:2], dtype=bool)
    out = {}
    for m in ("fast", "socp"):
        fz.STATS.__init__()
        t0 = time.perf_counter()
        r = bf.dsta(
            H,
            delta,
            ut,
            sats,
            ref,
            power_w=P_W,
            noise_w=NOISE_W,
            bandwidth_hz=PARAMS.bandwidth_hz,
            ref_var=PARAMS.ref_toa_var_s2,
            feasibility=m,
        )
        out[m] = (time.perf_counter() - t0, r, fz.STATS.fallbacks)
    (tf, rf, fb), (ts, rs, _) = out["fast"], out["socp"]
    assert np.array_equal(rf.n_tests, rs.n_tests)
    assert np.allclose(rf.sinr, rs.sinr, rtol=fz.FEAS_RTOL, equal_nan=True)
    n = int(rf.n_tests.sum())
    print(
        f"\nDSTA 3 satellites x 12 beams: {n} tests, statuses {list(rf.status)}, fast fallbacks {fb}"
    )
    print(
        f"fast {tf:.3f} s ({tf / n * 1e3:.3f} ms/test), socp {ts:.3f} s ({ts / n * 1e3:.3f} ms/test), ratio {ts / tf:.1f}"
    )


@pytest.mark.parametrize("element_gain_dbi", [0.0, 5.5])
def test_dsta_paper_drop(element_gain_dbi):
    """One paper_002 drop (21 satellites, 61 UTs, HBS m = 4): DSTA fast, CPU time per satellite,
    fallback rate, and the extrapolation to Table III (5 settings × 100 drops × 21 satellites)."""
    from twin.paper.pnt.drop import paper_002_drop
    from twin.pnt.scheduling import hbs

    params = PntParams(element_gain_dbi=element_gain_dbi)
    rng = np.random.default_rng(0)
    d = paper_002_drop(rng)
    H = channels(
        d.sat_pos,
        d.ut_pos,
        d.frames,
        freq_hz=params.freq_hz,
        nx=8,
        ny=8,
        element_gain_dbi=element_gain_dbi,
        rng=rng,
    )
    delta = hbs(H, d.ut_pos, d.sat_pos, d.ref_pos, i_tdoa=4, max_beams=12)
    fz.STATS.__init__()
    c0 = time.process_time()
    r = bf.dsta(
        H,
        delta,
        d.ut_pos,
        d.sat_pos,
        d.ref_pos,
        power_w=params.power_w,
        noise_w=params.noise_w,
        bandwidth_hz=params.bandwidth_hz,
        ref_var=params.ref_toa_var_s2,
    )
    cpu = time.process_time() - c0
    n_sat = int(np.sum(r.status != "empty"))
    n = int(r.n_tests.sum())
    st = fz.STATS
    assert np.all(np.sum(np.abs(r.W) ** 2, axis=2) <= params.power_w * (1 + 1e-9))
    print(
        f"\nDSTA paper drop, element gain {element_gain_dbi} dBi: {n_sat} satellites, {n} tests, "
        f"CPU {cpu:.2f} s = {cpu / n_sat * 1e3:.1f} ms/satellite, {cpu / n * 1e3:.3f} ms/test; "
        f"fast iterations {st.iterations}, SOCP fallbacks {st.fallbacks} ({st.fallbacks / max(st.calls, 1):.2%}); "
        f"statuses {dict(zip(*np.unique(r.status.astype(str), return_counts=True)))}"
    )
    print(
        f"Table III extrapolation: 10500 satellite runs x {cpu / n_sat:.3f} s = {10500 * cpu / n_sat / 60:.1f} CPU-min "
        f"({10500 * cpu / n_sat / 120:.1f} min on 2 cores)"
    )
