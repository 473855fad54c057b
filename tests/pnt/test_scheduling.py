"""Tests of seed 002 beam scheduling (seed-math A.8-A.10)."""

from __future__ import annotations

import numpy as np
import pytest

from twin.paper.pnt.drop import cap_half_angle, points_on_sphere, sample_cap
from twin.pnt import scheduling as sch
from twin.pnt.cells import hex_cells, sample_in_hexagons

R_E = 6378137.0
H_SAT = 600e3


def _geometry(rng, n_sat=21, rings=4):
    """Positions like the paper drop, built from its helpers (no frames needed)."""
    centre = np.array([R_E, 0.0, 0.0])
    cells = hex_cells(rings)
    en = sample_in_hexagons(cells, 43.3e3, rng)
    ut = points_on_sphere(
        centre, np.hypot(en[:, 0], en[:, 1]) / R_E, np.arctan2(en[:, 0], en[:, 1]), R_E
    )
    psi, az = sample_cap(rng, n_sat, cap_half_angle(np.deg2rad(60), R_E, R_E + H_SAT))
    sat = points_on_sphere(centre, psi, az, R_E + H_SAT)
    ref = np.array([R_E + H_SAT, 0.0, 0.0])
    return ut, sat, ref


def _channels(rng, n_sat, n_ut, n_ant=16):
    return rng.standard_normal((n_sat, n_ut, n_ant)) + 1j * rng.standard_normal(
        (n_sat, n_ut, n_ant)
    )


def _all_methods(H, ut, sat, ref, i_tdoa, K, order=None):
    out = {
        f"hbs{m}": sch.hbs(H, ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, m=m, order=order)
        for m in (1, 4, 12)
    }
    out["hbs_fast"] = sch.hbs(
        H, ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, m=4, mu_method="paper_fast", order=order
    )
    out["gdop"] = sch.gdop_greedy(ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, order=order)
    out["comm"] = sch.comm_oriented(H, i_tdoa=i_tdoa, max_beams=K, order=order)
    out["parallax"] = sch.parallax(ut, sat, i_tdoa=i_tdoa, max_beams=K, order=order)
    return out


@pytest.mark.parametrize("n_sat,i_tdoa", [(16, 3), (21, 4), (26, 5)])
def test_every_ut_gets_i_tdoa_satellites_within_the_beam_limit(n_sat, i_tdoa):
    rng = np.random.default_rng(n_sat)
    ut, sat, ref = _geometry(rng, n_sat)
    H = _channels(rng, n_sat, ut.shape[0])
    for order in (None, rng.permutation(ut.shape[0])):
        for name, delta in _all_methods(H, ut, sat, ref, i_tdoa, 12, order).items():
            assert delta.shape == (n_sat, 61) and delta.dtype == bool, name
            np.testing.assert_array_equal(delta.sum(axis=0), i_tdoa, err_msg=name)
            assert delta.sum(axis=1).max() <= 12, name


def test_hbs_with_m_equal_to_all_satellites_is_gdop_greedy():
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        ut, sat, ref = _geometry(rng)
        H = _channels(rng, 21, 61)
        d_hbs = sch.hbs(H, ut, sat, ref, i_tdoa=4, max_beams=12, m=21)
        d_gdop = sch.gdop_greedy(ut, sat, ref, i_tdoa=4, max_beams=12)
        np.testing.assert_array_equal(d_hbs, d_gdop)
        # and m = 4 really is something else (the test could fail)
        assert not np.array_equal(sch.hbs(H, ut, sat, ref, i_tdoa=4, max_beams=12, m=4), d_gdop)


def test_hbs_with_m_one_is_communication_oriented():
    for seed in range(3):
        rng = np.random.default_rng(200 + seed)
        ut, sat, ref = _geometry(rng)
        H = _channels(rng, 21, 61)
        order = rng.permutation(61)
        np.testing.assert_array_equal(
            sch.hbs(H, ut, sat, ref, i_tdoa=4, max_beams=12, m=1, order=order),
            sch.comm_oriented(H, i_tdoa=4, max_beams=12, order=order),
        )


def test_schedule_dispatch_and_errors():
    rng = np.random.default_rng(3)
    ut, sat, ref = _geometry(rng, 16, rings=2)
    H = _channels(rng, 16, 19)
    np.testing.assert_array_equal(
        sch.schedule("hbs", H, ut, sat, ref, i_tdoa=3, max_beams=12, m=4),
        sch.hbs(H, ut, sat, ref, i_tdoa=3, max_beams=12, m=4),
    )
    for name in ("gdop", "comm", "parallax"):
        d = sch.schedule(name, H, ut, sat, ref, i_tdoa=3, max_beams=12)
        np.testing.assert_array_equal(d.sum(axis=0), 3)
    with pytest.raises(ValueError, match="unknown scheduler"):
        sch.schedule("best", H, ut, sat, ref, i_tdoa=3, max_beams=12)
    with pytest.raises(ValueError, match="beam budget too small"):
        sch.schedule("hbs", H, ut, sat, ref, i_tdoa=3, max_beams=3)
    with pytest.raises(ValueError, match="exceeds the 16 visible"):
        sch.schedule("gdop", H, ut, sat, ref, i_tdoa=17, max_beams=12)
    with pytest.raises(ValueError, match="permutation"):
        sch.schedule("comm", H, ut, sat, ref, i_tdoa=3, max_beams=12, order=[0] * 19)
    with pytest.raises(ValueError, match="m must be"):
        sch.hbs(H, ut, sat, ref, i_tdoa=3, max_beams=12, m=0)


def test_greedy_never_strands_ut_when_budget_is_tight():
    """Small instances with I K = C L exactly: the guarded schedulers always finish, while
    the paper's unguarded greedy gets stuck on some of them; where the unguarded greedy
    finishes, the guard changes nothing."""
    rng = np.random.default_rng(11)
    stuck = 0
    for trial in range(60):
        n_sat = int(rng.integers(3, 7))
        i_tdoa = int(rng.integers(2, n_sat))
        n_ut = int(rng.integers(3, 10))
        K = int(np.ceil(n_ut * i_tdoa / n_sat))
        if n_sat * min(K, n_ut) < n_ut * i_tdoa:
            continue
        ut = rng.standard_normal((n_ut, 3)) * 1e5 + [R_E, 0, 0]
        sat = rng.standard_normal((n_sat, 3)) * 3e5 + [R_E + H_SAT, 0, 0]
        ref = np.array([R_E + H_SAT, 0, 0])
        H = _channels(rng, n_sat, n_ut, 4)
        order = rng.permutation(n_ut)
        guarded = _all_methods(H, ut, sat, ref, i_tdoa, K, order)
        for name, d in guarded.items():
            np.testing.assert_array_equal(d.sum(axis=0), i_tdoa, err_msg=name)
            assert d.sum(axis=1).max() <= K
        plain_fns = {
            "hbs1": lambda: sch.hbs(
                H, ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, m=1, order=order, budget_guard=False
            ),
            "hbs4": lambda: sch.hbs(
                H, ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, m=4, order=order, budget_guard=False
            ),
            "gdop": lambda: sch.gdop_greedy(
                ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, order=order, budget_guard=False
            ),
            "comm": lambda: sch.comm_oriented(
                H, i_tdoa=i_tdoa, max_beams=K, order=order, budget_guard=False
            ),
            "parallax": lambda: sch.parallax(
                ut, sat, i_tdoa=i_tdoa, max_beams=K, order=order, budget_guard=False
            ),
        }
        for name, fn in plain_fns.items():  # the paper's plain greedy
            try:
                plain = fn()
            except ValueError as err:
                assert "beam budget exhausted" in str(err)
                stuck += 1
                continue
            np.testing.assert_array_equal(plain, guarded[name])
    assert stuck > 0  # the guard is not dead code


# ----------------------------------------------------------------------------- metrics


def test_channel_similarity_matches_direct_formula_and_is_scale_free():
    rng = np.random.default_rng(5)
    H = _channels(rng, 4, 6, 8)
    served = np.array([1, 3, 4])
    c, i = 2, 1
    direct = sum(
        abs(np.vdot(H[i, c], H[i, k])) / (np.linalg.norm(H[i, c]) * np.linalg.norm(H[i, k]))
        for k in served
    )
    assert sch.channel_similarity(H, c, i, served) == pytest.approx(direct, rel=1e-12)
    mask = np.zeros(6, bool)
    mask[served] = True
    assert sch.channel_similarity(H, c, i, mask) == pytest.approx(direct, rel=1e-12)
    H2 = H.copy()
    H2[i] *= rng.uniform(0.1, 10, size=(6, 1)) * np.exp(1j * rng.uniform(0, 6, size=(6, 1)))
    assert sch.channel_similarity(H2, c, i, served) == pytest.approx(direct, rel=1e-10)
    assert sch.channel_similarity(H, c, i, []) == 0.0
    # vectorised over satellites with a schedule
    delta = rng.random((4, 6)) < 0.5
    vec = sch.channel_similarity(H, c, np.arange(4), delta)
    for k in range(4):
        assert vec[k] == pytest.approx(sch.channel_similarity(H, c, k, delta[k]), rel=1e-12)
    gram = sch.similarity_gram(H)
    np.testing.assert_allclose(
        sch.channel_similarity(None, c, np.arange(4), delta, gram=gram), vec, rtol=1e-12
    )
    np.testing.assert_allclose(np.diagonal(gram, axis1=1, axis2=2), 1.0)
    # identical channels: similarity 1 per served UT; orthogonal: 0
    Hs = np.zeros((1, 3, 4), complex)
    Hs[0, 0] = [1, 0, 0, 0]
    Hs[0, 1] = [2j, 0, 0, 0]
    Hs[0, 2] = [0, 1, 0, 0]
    assert sch.channel_similarity(Hs, 0, 0, [1, 2]) == pytest.approx(1.0)


def _brute_mu(X, a):
    return np.trace(np.linalg.pinv(X + np.outer(a, a), rcond=1e-9)) - np.trace(
        np.linalg.pinv(X, rcond=1e-9)
    )


@pytest.mark.parametrize("rank", [0, 1, 2, 3])
def test_exact_geometry_gain_equals_brute_force_pinv_trace(rank):
    rng = np.random.default_rng(rank)
    for _ in range(20):
        rows = rng.standard_normal((rank, 3))
        X = rows.T @ rows
        A = rng.standard_normal((5, 3))
        mu = sch.geometry_gain(X, A)
        expect = [_brute_mu(X, a) for a in A]
        np.testing.assert_allclose(mu, expect, rtol=1e-8, atol=1e-10)
        assert sch.geometry_gain(X, A[0]) == pytest.approx(expect[0], rel=1e-8)
    # adding to a full-rank X always lowers the trace
    if rank == 3:
        assert (sch.geometry_gain(X, rng.standard_normal((50, 3))) < 0).all()


def test_paper_fast_update_exact_only_along_eigenvectors_or_orthogonal():
    rng = np.random.default_rng(9)
    # rank-2 X with eigenvectors e1, e2 (distinct eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    X = 2.0 * np.outer(Q[:, 0], Q[:, 0]) + 0.5 * np.outer(Q[:, 1], Q[:, 1])
    along = 0.7 * Q[:, 1]
    ortho = 1.3 * Q[:, 2]
    generic = 0.8 * Q[:, 0] + 0.6 * Q[:, 1] + 0.4 * Q[:, 2]
    for a in (along, ortho):
        assert sch.geometry_gain(X, a, "paper_fast") == pytest.approx(
            sch.geometry_gain(X, a), rel=1e-9
        )
    fast, exact = sch.geometry_gain(X, generic, "paper_fast"), sch.geometry_gain(X, generic)
    assert exact == pytest.approx(_brute_mu(X, generic), rel=1e-9)
    assert abs(fast - exact) > 0.05 * abs(exact)  # the dropped cross terms matter
    # full-rank X, a mixing two eigenvectors: also off
    Xf = X + 0.3 * np.outer(Q[:, 2], Q[:, 2])
    mix = Q[:, 0] + Q[:, 2]
    assert abs(sch.geometry_gain(Xf, mix, "paper_fast") - sch.geometry_gain(Xf, mix)) > 0.05 * abs(
        sch.geometry_gain(Xf, mix)
    )
    with pytest.raises(ValueError, match="unknown geometry-gain"):
        sch.geometry_gain(X, generic, "fast")


def test_difference_vectors_match_unit_vector_definition():
    rng = np.random.default_rng(2)
    ut, sat, ref = _geometry(rng, 5, rings=1)
    a = sch.difference_vectors(ut, sat, ref)
    i, c = 3, 4
    u = (ut[c] - sat[i]) / np.linalg.norm(ut[c] - sat[i])
    u0 = (ut[c] - ref) / np.linalg.norm(ut[c] - ref)
    np.testing.assert_allclose(a[i, c], u - u0, atol=1e-15)


def test_parallax_keeps_the_spread_satellites():
    """Parallax deletes the satellite most aligned with the others (37): with one cluster
    of nearly co-located satellites and a few spread ones, the cluster is thinned first."""
    ut = np.array([[R_E, 0.0, 0.0]])
    centre = np.array([R_E, 0, 0])
    spread = points_on_sphere(centre, np.full(3, 0.04), np.deg2rad([0, 120, 240]), R_E + H_SAT)
    cluster = points_on_sphere(centre, np.full(3, 0.001), np.deg2rad([0, 120, 240]), R_E + H_SAT)
    sat = np.concatenate([cluster, spread])
    d = sch.parallax(ut, sat, i_tdoa=4, max_beams=1)
    assert d[3:, 0].all() and d[:3, 0].sum() == 1
    P = sch.parallax_costs(ut[0], sat)
    np.testing.assert_allclose(np.diag(P), 1.0)
    assert (P <= 1 + 1e-12).all()


# ----------------------------------------------------------------------------- sweeps


def _brute_completable(delta, remaining, need):
    """Independent check of `completable`: enumerate every choice of need[c] allowed
    satellites per UT and test the beam limits."""
    import itertools

    n_sat, n_ut = delta.shape
    options = []
    for c in range(n_ut):
        allowed = [i for i in range(n_sat) if not delta[i, c] and remaining[i] > 0]
        options.append(list(itertools.combinations(allowed, int(need[c]))))
    for pick in itertools.product(*options):
        load = np.zeros(n_sat, dtype=int)
        for sats in pick:
            load[list(sats)] += 1
        if np.all(load <= remaining):
            return True
    return False


def test_completable_matches_brute_force_enumeration():
    rng = np.random.default_rng(21)
    verdicts = []
    for _ in range(150):
        n_sat, n_ut = int(rng.integers(2, 5)), int(rng.integers(1, 5))
        delta = rng.random((n_sat, n_ut)) < 0.3
        remaining = rng.integers(0, 3, n_sat)
        need = rng.integers(0, 3, n_ut)
        ours = sch.completable(delta, remaining, need)
        assert ours == _brute_completable(delta, remaining, need)
        verdicts.append(ours)
    assert 0 < sum(verdicts) < len(verdicts)  # both verdicts occur


def test_round_sweep_gives_each_ut_one_satellite_per_round():
    """GDOP-greedy with sweep="rounds" equals a direct round-robin loop written with
    `crlb.gdop` (independent of the engine), and differs from the per-UT sweep."""
    from twin.pnt.crlb import gdop

    rng = np.random.default_rng(5)
    ut, sat, ref = _geometry(rng, 16, rings=2)  # 19 UTs, 16 satellites
    i_tdoa, K = 3, 4
    delta = np.zeros((16, 19), dtype=bool)
    load = np.zeros(16, dtype=int)
    for _ in range(i_tdoa):
        for c in range(19):
            best, best_g = None, np.inf
            for i in range(16):
                if delta[i, c] or load[i] >= K:
                    continue
                g = gdop(ut[c][None], np.concatenate([sat[delta[:, c]], sat[i][None]])[None], ref)[
                    0
                ]
                if g < best_g:
                    best, best_g = i, g
            delta[best, c] = True
            load[best] += 1
    rounds = sch.gdop_greedy(ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, budget_guard=False)
    np.testing.assert_array_equal(rounds, delta)
    assert not np.array_equal(
        rounds, sch.gdop_greedy(ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, sweep="per_ut")
    )
    with pytest.raises(ValueError, match="unknown sweep"):
        sch.gdop_greedy(ut, sat, ref, i_tdoa=i_tdoa, max_beams=K, sweep="random")


def test_round_sweep_finishes_where_per_ut_sweep_strands_on_the_preset_budget():
    """Preset-sized geometry, I = ceil(C L / K): the plain per-UT GDOP-greedy strands a UT,
    the plain round-wise one finishes (the reason for the default sweep)."""
    stranded_per_ut = finished_rounds = 0
    for seed in range(2):
        rng = np.random.default_rng(300 + seed)
        ut, sat, ref = _geometry(rng, 21)
        try:
            sch.gdop_greedy(
                ut, sat, ref, i_tdoa=4, max_beams=12, sweep="per_ut", budget_guard=False
            )
        except ValueError as err:
            assert "beam budget exhausted" in str(err)
            stranded_per_ut += 1
        d = sch.gdop_greedy(ut, sat, ref, i_tdoa=4, max_beams=12, budget_guard=False)
        np.testing.assert_array_equal(d.sum(axis=0), 4)
        assert d.sum(axis=1).max() <= 12
        finished_rounds += 1
    assert stranded_per_ut >= 1 and finished_rounds == 2
