"""Cost of the ISAC physics hot paths (twin.isac.physics.model / twin.isac.physics.crb).

    /work/venv/bin/pytest tests/bench/test_bench_isac_physics.py -s

Measured in this process, best of several repeats, printed as ratios (not asserted):
  * echo_apply (structured D x) for P candidate positions vs the dense baseline
    echo_matrix(...) @ x, K = 5, N = 4x4, L snapshots;
  * location_crb (structured traces, no NK x NK derivative matrices) vs the dense
    baseline tr(D_i^H D_j R_x) built from fim_operators, for N = 4x4 and 8x8.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from twin.isac.physics import crb as C
from twin.isac.physics.model import angles, echo_apply, echo_matrix, isac_array_frames, paper_beta

pytestmark = pytest.mark.bench
R_E = 6378137.0


def _best(fn, repeats=5):
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _group(rng, K=5):
    up = np.array([0.6, 0.2, 0.77])
    up /= np.linalg.norm(up)
    target = R_E * up
    q = up + 0.12 * rng.normal(size=(K, 3))
    q = (R_E + 550e3) * q / np.linalg.norm(q, axis=1, keepdims=True)
    v = np.cross(q, [0.0, 0.0, 1.0])
    return q, 7.6e3 * v / np.linalg.norm(v, axis=1, keepdims=True), target


@pytest.mark.parametrize("P,L", [(50, 1), (2000, 1), (500, 64)])
def test_bench_echo_apply(benchmark, P, L):
    rng = np.random.default_rng(0)
    K, nx, nz = 5, 4, 4
    q, v, p = _group(rng, K)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    pts = p + rng.uniform(-500, 500, size=(P, 3))
    th, ph = angles(q, pts, frames)
    x = (rng.normal(size=(K * nx * nz, L)) + 1j * rng.normal(size=(K * nx * nz, L))) / np.sqrt(2)
    t_fast, y = _best(lambda: echo_apply(th, ph, beta, x, nx, nz))
    t_dense, yd = _best(lambda: echo_matrix(th, ph, beta, nx, nz) @ x, repeats=3)
    assert np.max(np.abs(y - yd)) < 1e-12 * np.max(np.abs(yd))
    print(
        f"\necho_apply P={P} L={L}: structured {t_fast * 1e3:.2f} ms, dense {t_dense * 1e3:.2f} ms, "
        f"speed-up x{t_dense / t_fast:.1f}, {t_fast / P * 1e6:.2f} us per position"
    )
    benchmark(lambda: echo_apply(th, ph, beta, x, nx, nz))


def _dense_rcrb(q, p, Rx, beta, nx, nz, frames, noise):
    D0, Ds = C.fim_operators(q, p, beta, nx=nx, nz=nz, frames=frames)
    ops = np.concatenate([D0[None], Ds])
    Phi = np.einsum("iab,jab->ij", ops.conj(), ops @ Rx)
    F = C._position_fim_from_phi(
        Phi, C.angle_jacobian(q, p, frames), alpha=1.0, noise_power=noise, snapshots=1
    )
    return float(np.sqrt(np.trace(np.linalg.inv(F))))


@pytest.mark.parametrize("side", [4, 8])
def test_bench_location_crb(benchmark, side):
    rng = np.random.default_rng(1)
    K = 5
    q, v, p = _group(rng, K)
    frames = isac_array_frames(q, v)
    beta = paper_beta(q, p, rng=rng)
    NK = K * side * side
    G = rng.normal(size=(NK, NK)) + 1j * rng.normal(size=(NK, NK))
    Rx = G @ G.conj().T / NK
    kw = dict(noise_power=1e-14, nx=side, nz=side, frames=frames)
    t_fast, r = _best(lambda: C.rcrb(q, p, Rx, beta, **kw))
    t_dense, rd = _best(lambda: _dense_rcrb(q, p, Rx, beta, side, side, frames, 1e-14), repeats=3)
    assert r == pytest.approx(rd, rel=1e-9)
    print(
        f"\nlocation_crb K={K} N={side}x{side}: structured {t_fast * 1e3:.2f} ms, dense operators "
        f"{t_dense * 1e3:.2f} ms, speed-up x{t_dense / t_fast:.1f}"
    )
    benchmark(lambda: C.rcrb(q, p, Rx, beta, **kw))
