"""Localisation throughput: the vectorised concentrated likelihood (eq. 19 via ``echo_apply``) and one
PSO localisation (Algorithm 1, 50 particles × 41 iterations), each against a straightforward
per-particle Python loop that forms D = A ⊙ B with ``echo_matrix`` and evaluates eq. (19) — both
measured in this process at N = 16 (4×4), K = 5, L = 1.

    /work/venv/bin/pytest tests/bench/test_bench_isac_locate.py -s

Ratios are printed, not asserted. Times are best-of-N process CPU times; run with
OPENBLAS_NUM_THREADS=1 (multi-threaded OpenBLAS spins on small products when the cores are shared).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from twin.geometry import geodetic_to_ecef
from twin.isac.estimation.locate import (
    SensingProblem,
    concentrated_likelihood,
    draw_prior_centre,
    estimate,
)
from twin.isac.estimation.optimizers import pso
from twin.isac.physics.model import (
    angles,
    echo,
    echo_matrix,
    isac_array_frames,
    paper_beta,
    transmit_samples,
)

pytestmark = pytest.mark.bench


def _problem():
    rng = np.random.default_rng(0)
    lat0, lon0, d = np.radians(30.0), np.radians(10.0), np.radians(17.8)
    offs = [(0, 0), (d, 0), (-d, 0), (0, 1.1 * d), (0, -1.1 * d)]
    sat = np.array([geodetic_to_ecef(lat0 + a, lon0 + b, 550e3) for a, b in offs])
    ahead = np.array([geodetic_to_ecef(lat0 + a + 1e-3, lon0 + b, 550e3) for a, b in offs])
    frames = isac_array_frames(sat, ahead - sat)
    target = geodetic_to_ecef(lat0, lon0, 0.0)
    prior = draw_prior_centre(target, rng)
    beta = paper_beta(sat, prior, rng=rng)
    x = transmit_samples(None, np.eye(80) / 16, 1, rng)
    y = echo(sat, target, beta, x, noise_power=1e-14, nx=4, nz=4, frames=frames, rng=rng)
    return SensingProblem(sat, beta, 4, 4, x, 1e-14, prior, frames=frames), y


def _loop_likelihood(problem, y, points):
    """Baseline: one particle at a time, dense D (NK × NK) from echo_matrix, eq. (19) literally."""
    out = np.empty(len(points))
    for i, p in enumerate(points):
        th, ph = angles(problem.sat_pos, p, problem.frames)
        D = echo_matrix(th, ph, problem.beta, problem.nx, problem.nz)
        Dx = D @ problem.samples
        out[i] = abs(np.vdot(Dx, y)) ** 2 / np.vdot(Dx, Dx).real
    return out


def _best(fn, repeats):
    """Best CPU time (process_time) of ``repeats`` calls: CPU time, unlike wall-clock, is not inflated
    when other processes share the 2 cores (both sides of every ratio are single-threaded numpy)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def test_bench_likelihood_50_particles(benchmark):
    problem, y = _problem()
    pts = problem.to_ecef(np.random.default_rng(1).uniform(-500, 500, size=(50, 3)))
    np.testing.assert_allclose(
        concentrated_likelihood(problem, y, pts), _loop_likelihood(problem, y, pts), rtol=1e-9
    )
    t_vec = _best(lambda: concentrated_likelihood(problem, y, pts), 50)
    t_loop = _best(lambda: _loop_likelihood(problem, y, pts), 5)
    print(
        f"\nlikelihood, 50 particles, N=16, K=5: vectorised {50 / t_vec:,.0f} evals/s, "
        f"per-particle echo_matrix loop {50 / t_loop:,.0f} evals/s, ratio {t_loop / t_vec:.1f}x"
    )
    benchmark(concentrated_likelihood, problem, y, pts)


def test_bench_one_pso_localisation(benchmark):
    problem, y = _problem()
    lo, hi = problem.bounds()

    def loop_fitness(offsets):  # same optimiser, baseline objective
        return _loop_likelihood(problem, y, problem.to_ecef(offsets.reshape(-1, 3))).reshape(
            offsets.shape[:-1]
        )

    t_vec = _best(lambda: estimate("pso", problem, y, np.random.default_rng(0)), 5)
    t_loop = _best(lambda: pso(loop_fitness, lo, hi, np.random.default_rng(0)), 1)
    print(
        f"\none PSO localisation (50 particles x 41 iterations = 2050 evaluations): vectorised {t_vec * 1e3:.1f} ms, "
        f"per-particle loop {t_loop * 1e3:.0f} ms, ratio {t_loop / t_vec:.1f}x"
    )
    benchmark(estimate, "pso", problem, y, np.random.default_rng(0))
