"""Tests of the compiled, batched fast design (twin.isac.design.fast_many, twin.isac.design.compiled)
on six design problems captured from the regional scenario (scenarios/region-starlink.toml, 20
targets, first epochs: K = 5, N = 4x4, M = 10; four cold, two warm-started from the previous
epoch's factors; tests/isac/data/region_problems.npz):

* the compiled objective equals fast_design's numpy objective (value and gradient to 1e-10
  relative) and its gradient matches central finite differences;
* the structured operators (no dense D_i) equal the dense ones;
* the certificate's faster linear algebra (twin.isac.design.dual_fast) gives dual_bound's bound;
* the batched call returns, for every problem, the same design bit for bit as the one-problem call;
* against the numpy reference fast_design: the same statuses, every design certified (dual gap <=
  gap_tol), and RCRBs that agree within what the certificates guarantee: both lie in [b, (1 +
  gap_tol) b] above the same weak-duality bound b, so their ratio is within (1 + gap_tol)^{+-1}.

The tests that run the design kernels are marked slow (their first call compiles them, ~15 s of
CPU without numba's on-disk cache).
"""

import pathlib

import numpy as np
import pytest

from twin.isac.design.alm import phr_penalty
from twin.isac.design.dual_bound import dual_lower_bound
from twin.isac.design.dual_fast import downdated_min_eigenvalues, fast_lower_bound
from twin.isac.design.factor_form import chain, factors, rate_log_slack
from twin.isac.design.fast_design import fast_design
from twin.isac.design.fast_many import fast_design_compiled, fast_design_many, setup_run
from twin.isac.design.operators import FastOperators, crb_and_gradient
from twin.isac.design.problem import DesignProblem, evaluate_design

DATA = pathlib.Path(__file__).resolve().parent / "data" / "region_problems.npz"
GAP_TOL = 2e-3  # fast_design's default


def region_problems():
    """[(DesignProblem, warm-start DesignResult or None)] of the captured regional problems."""
    z = np.load(DATA)
    out = []
    for j in range(int(z["n"])):
        kw = {k: z[f"p{j}_{k}"] for k in ("sat_pos", "target", "beta", "H", "eta", "p_max_w")}
        kw.update(frames=z[f"p{j}_frames"], comm_noise=z[f"p{j}_comm_noise"])
        for k in ("sensing_noise_w", "alpha", "snapshots", "spacing_wl"):
            kw[k] = float(z[f"p{j}_{k}"])
        kw.update(nx=int(z[f"p{j}_nx"]), nz=int(z[f"p{j}_nz"]))
        pb = DesignProblem(**kw)
        warm = None
        if f"p{j}_warm_factors" in z:  # as the ISAC process rebuilds it from the held plan
            Y = z[f"p{j}_warm_factors"]
            Z, _ = factors(Y, pb.p_max_w)
            W, L = Z[:, : pb.M], Z[:, pb.M :]
            warm = evaluate_design(pb, W, L @ L.conj().T, scheme="held", extra={"factors": Y})
        out.append((pb, warm))
    return out


@pytest.fixture(scope="module")
def problems():
    return region_problems()


def numpy_objective(run, x, lam, rho):
    """fast_design's phi (rate_form "log") in numpy, on the data of a compiled run."""
    gamma, scale, p_max = run.args[7], run.args[9], run.args[6]
    Yc = x.view(complex).reshape(run.shape)  # the compiled engine's interleaved layout
    Z, nrm = factors(Yc, p_max)
    f, gf = crb_and_gradient(run.ops, Z)
    cr, g, Cf = rate_log_slack(run.ops, Z, gamma)
    pen, act = phr_penalty(cr, lam, rho)
    Gz = scale * gf + run.ops.Hn.T @ (-act[:, None] * Cf * g)
    grad = 2.0 * chain(Yc, nrm, Gz.reshape(run.shape), p_max)
    return scale * f + pen, np.ascontiguousarray(grad).ravel().view(float)


@pytest.mark.slow  # numba compiles the design kernels on first use: ~15 s CPU
def test_compiled_objective_equals_numpy_and_finite_differences(problems):
    rng = np.random.default_rng(3)
    for pb, warm in problems[::3]:
        run = setup_run(pb, warm)
        lam = np.abs(rng.standard_normal(pb.M))
        x = run.x + 0.05 * rng.standard_normal(run.x.size)
        v, g = run.objective(x, lam, 0.7)
        v_np, g_np = numpy_objective(run, x, lam, 0.7)
        assert abs(v - v_np) <= 1e-10 * abs(v_np)
        assert np.linalg.norm(g - g_np) <= 1e-10 * np.linalg.norm(g_np)
        # central differences along 5 random directions (value O(1-100), step 1e-6)
        for _ in range(5):
            d = rng.standard_normal(x.size)
            d /= np.linalg.norm(d)
            h = 1e-6
            vp, _ = run.objective(x + h * d, lam, 0.7)
            vm, _ = run.objective(x - h * d, lam, 0.7)
            fd = (vp - vm) / (2 * h)
            assert abs(fd - g @ d) <= 1e-5 * max(1.0, np.linalg.norm(g))


@pytest.mark.slow  # numba compiles the design kernels on first use: ~15 s CPU
def test_batched_equals_single_bit_for_bit_and_reference_within_certificate(problems):
    pbs = [p for p, _ in problems]
    warms = [w for _, w in problems]
    batch = fast_design_many(pbs, warms)
    for (pb, warm), res in zip(problems, batch):
        one = fast_design_compiled(pb, warm_start=warm)
        assert one.status == res.status
        np.testing.assert_array_equal(one.W, res.W)
        np.testing.assert_array_equal(one.R, res.R)
        assert one.rcrb_m == res.rcrb_m and one.extra["dual_gap"] == res.extra["dual_gap"]
        ref = fast_design(pb, warm_start=warm)
        assert res.status == ref.status == "optimal"
        for r in (res, ref):  # certified: the gap is recomputed from the bound, and within tol
            assert r.extra["dual_bound_m"] > 0
            assert r.rcrb_m / r.extra["dual_bound_m"] - 1 == pytest.approx(r.extra["dual_gap"])
            assert r.extra["dual_gap"] <= GAP_TOL
            assert np.all(r.rates >= pb.eta - 1e-9)
        ratio = res.rcrb_m / ref.rcrb_m
        assert 1 / (1 + GAP_TOL) <= ratio <= 1 + GAP_TOL


def test_structured_operators_equal_dense(problems):
    """FastOperators(structured=True) (no dense D_i) gives the dense construction's Gram maps."""
    for pb, _ in problems:
        dense, fast = FastOperators(pb), FastOperators(pb, structured=True)
        scale = np.abs(dense.S).max()
        np.testing.assert_allclose(fast.S, dense.S, rtol=0, atol=1e-12 * scale)
        np.testing.assert_array_equal(fast.E_big, dense.E_big)
        assert fast.c == dense.c and np.array_equal(fast.Hn, dense.Hn)


def test_fast_lower_bound_equals_dual_lower_bound(problems):
    """dual_fast (QR + NNLS multipliers, secular-equation eigenvalues) gives dual_bound's bound:
    at the captured warm starts and at perturbed points where the eigenvalue term is large."""
    rng = np.random.default_rng(5)
    for pb, warm in problems[4:]:
        ops = FastOperators(pb)
        Y = warm.extra["factors"]
        for pert in (0.0, 0.3):
            noise = rng.standard_normal(Y.shape) + 1j * rng.standard_normal(Y.shape)
            Z, _ = factors(Y + pert * np.abs(Y).mean() * noise, pb.p_max_w)
            args = (ops, pb.H, pb.comm_noise, pb.eta, pb.p_max_w, Z[:, : pb.M], Z[:, pb.M :])
            a, b = dual_lower_bound(*args), fast_lower_bound(*args)
            assert b.bound_m2 == pytest.approx(a.bound_m2, rel=1e-10)
            assert b.min_eig == pytest.approx(a.min_eig, rel=1e-9)
            np.testing.assert_allclose(b.lam, a.lam, rtol=1e-8, atol=1e-12 * a.lam.max())
    # the secular-equation eigenvalues against eigvalsh on a random Hermitian matrix
    A = rng.standard_normal((30, 30)) + 1j * rng.standard_normal((30, 30))
    A = A + A.conj().T
    Hr = rng.standard_normal((4, 30)) + 1j * rng.standard_normal((4, 30))
    rho = np.array([0.0, 0.1, 1.0, 10.0])
    d, U = np.linalg.eigh(A)
    direct = [np.linalg.eigvalsh(A - r * np.outer(h, h.conj()))[0] for r, h in zip(rho, Hr)]
    np.testing.assert_allclose(downdated_min_eigenvalues(d, U, Hr, rho), direct, atol=1e-12)


@pytest.mark.slow  # numba compiles the design kernels on first use: ~15 s CPU
def test_unreachable_rate_targets_fall_back_like_fast_design(problems):
    """12 bit/s/Hz per UE cannot be met: the documented fallback (status and the unmet design
    kept), as fast_design does (tests/isac/test_fast_design.py), never an exception."""
    pb, _ = problems[0]
    bad = pb.with_(eta=12.0)
    (res,) = fast_design_many([bad])
    assert res.status == "fallback:matched_filter_isotropic"
    assert np.min(res.extra["unmet_design"].rates) < 12.0
    with pytest.raises(ValueError, match="warm starts"):
        fast_design_many([pb, pb], [None])
