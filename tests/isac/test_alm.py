"""twin/isac/design/alm.py: the L-BFGS and the PHR augmented Lagrangian shared by the fast designs,
against closed forms and scipy on problems unrelated to ISAC."""

import numpy as np
from scipy.optimize import minimize

from twin.isac.design.alm import augmented_lagrangian, lbfgs, phr_penalty


def test_lbfgs_finds_the_rosenbrock_minimum_like_scipy():
    def rosen(x):
        f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        g = np.zeros_like(x)
        g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1 - x[:-1])
        g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
        return f, g

    x0 = np.full(6, -1.2)
    x, f, _ = lbfgs(rosen, x0, max_iter=5000, ftol=1e-15)
    ref = minimize(
        lambda z: rosen(z)[0],
        x0,
        jac=lambda z: rosen(z)[1],
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000},
    )
    np.testing.assert_allclose(x, np.ones(6), atol=1e-5)
    np.testing.assert_allclose(x, ref.x, atol=1e-5)
    assert f < 1e-10


def test_phr_penalty_value_and_gradient_by_finite_differences():
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(4, 3)), rng.normal(size=4)
    lam, rho = np.abs(rng.normal(size=4)), 2.5

    def value(x):
        return phr_penalty(A @ x + b, lam, rho)[0]

    x = rng.normal(size=3)
    _, act = phr_penalty(A @ x + b, lam, rho)
    grad = -A.T @ act
    fd = np.array([(value(x + h) - value(x - h)) / 2e-6 for h in 1e-6 * np.eye(3)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_augmented_lagrangian_projects_onto_a_polytope():
    """min ||x - a||^2 s.t. G x <= h (rows c = h - G x >= 0): the projection of a, found
    independently by scipy's SLSQP; multipliers from the KKT conditions 2 (x - a) + G^T lam = 0."""
    rng = np.random.default_rng(3)
    a = np.array([2.0, 1.5, -0.5])
    G = np.vstack([np.ones(3), rng.normal(size=(2, 3))])
    h = np.array([1.0, 0.3, 0.2])

    def lagrangian(x, lam, rho):
        pen, act = phr_penalty(h - G @ x, lam, rho)
        return float(np.sum((x - a) ** 2)) + pen, 2.0 * (x - a) + G.T @ act

    def measure(x):
        return float(np.sum((x - a) ** 2)), h - G @ x

    run = augmented_lagrangian(
        lagrangian,
        measure,
        np.zeros(3),
        np.zeros(3),
        rho=1.0,
        max_outer=50,
        inner_iter=500,
        outer_stop=lambda x, f, viol, hist: (
            viol < 1e-10 and len(hist) > 1 and abs(hist[-2] - f) < 1e-12 * f
        ),
    )
    ref = minimize(
        lambda x: np.sum((x - a) ** 2),
        np.zeros(3),
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda x: h - G @ x}],
        options={"ftol": 1e-14},
    )
    np.testing.assert_allclose(run.x, ref.x, atol=1e-6)
    assert run.violation < 1e-8 and not run.stopped_inner
    np.testing.assert_allclose(2.0 * (run.x - a) + G.T @ run.lam, 0.0, atol=1e-5)
    assert np.all(run.lam >= 0) and np.all(
        run.lam * (h - G @ run.x) < 1e-6
    )  # complementary slackness


def test_inner_stop_ends_the_run_without_a_multiplier_update():
    calls = []

    def lagrangian(x, lam, rho):
        pen, act = phr_penalty(1.0 - x, lam, rho)
        return float(x @ x) + pen, 2.0 * x - act

    run = augmented_lagrangian(
        lagrangian,
        lambda x: (float(x @ x), 1.0 - x),
        np.full(2, 2.0),
        np.ones(2),
        rho=1.0,
        max_outer=10,
        inner_iter=100,
        inner_stop=lambda x: calls.append(1) or len(calls) >= 3,
    )
    assert run.stopped_inner and run.outer == 1 and len(run.history) == 1
    np.testing.assert_array_equal(run.lam, np.ones(2))
    assert len(calls) == 3 and np.all(
        run.x < 2.0
    )  # stopped at the third L-BFGS iteration, after moving
