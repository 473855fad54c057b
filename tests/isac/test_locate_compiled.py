"""The compiled concentrated fit (twin.isac.estimation.compiled) against locate's numpy residual
(seed 000 eqs. (16)-(18)) on the toy groups of tests/isac/test_locate.py: equal to rounding at
random points of the search cube, with receivers and the real-alpha model, and with and without
array frames; the estimators with engine="compiled" land where the numpy ones land."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from isac.test_locate import toy_problem
from twin.isac.estimation.compiled import residuals
from twin.isac.estimation.locate import concentrated_residual, estimate


@pytest.mark.parametrize("L", [1, 3])
def test_compiled_residual_equals_numpy(L):
    problem, y, target = toy_problem(seed=4, L=L)
    rng = np.random.default_rng(1)
    pts = problem.to_ecef(rng.uniform(-500, 500, size=(64, 3)))
    pts = np.vstack([pts, target[None]])  # near the optimum the residual is ~ the noise only
    variants = [
        (problem, None),
        (problem, [2]),
        (dataclasses.replace(problem, alpha_model="real"), None),
        (dataclasses.replace(problem, frames=None), [0, 3]),
    ]
    for pb, rx in variants:
        ref = concentrated_residual(pb, y, pts, receivers=rx)
        got = residuals(pb, y, pts, receivers=rx)
        np.testing.assert_allclose(got, ref, rtol=1e-9)


def test_compiled_estimates_equal_numpy_estimates():
    problem, y, target = toy_problem(seed=7)
    for method, opts in (("pso_refined", dict(particles=20, iterations=10)), ("pso", {})):
        a = estimate(method, problem, y, np.random.default_rng(3), **opts)
        b = estimate(method, problem, y, np.random.default_rng(3), engine="compiled", **opts)
        assert np.linalg.norm(a.position - b.position) < 1e-6  # metres
        assert a.n_evaluations == b.n_evaluations
    with pytest.raises(ValueError, match="engine"):
        estimate("pso", problem, y, np.random.default_rng(3), engine="gpu")
