"""Seed 002 beamforming: SINR (2), ZF/SCB/SCBWI (33)-(35), feasibility methods, DSTA."""

from __future__ import annotations

import numpy as np
import pytest

from twin.pnt import beamforming as bf
from twin.pnt import feasibility as fz
from twin.pnt.channel import PntParams, channels, pnt_body_frames

PARAMS = PntParams()
P_W = PARAMS.power_w
NOISE_W = PARAMS.noise_w
R_E = 6371e3


def cluster_channels(rng, K, nx, ny, *, spacing_m=75e3, offset_m=150e3, element_gain_dbi=0.0):
    """Channels (K, nx·ny) of K UTs around a point offset from a 600 km satellite's nadir.

    Spacing 75 km (the paper's cell spacing), so neighbouring beams interfere.
    """
    sat = np.array([[R_E + PARAMS.altitude_m, 0.0, 0.0]])
    east = rng.uniform(-1, 1) * offset_m + rng.uniform(-1, 1, size=K) * spacing_m * np.sqrt(K) / 2
    north = rng.uniform(-1, 1) * offset_m + rng.uniform(-1, 1, size=K) * spacing_m * np.sqrt(K) / 2
    ut = np.stack([np.full(K, R_E), east, north], axis=1)
    ut = R_E * ut / np.linalg.norm(ut, axis=1, keepdims=True)
    H = channels(
        sat,
        ut,
        pnt_body_frames(sat),
        freq_hz=PARAMS.freq_hz,
        nx=nx,
        ny=ny,
        element_gain_dbi=element_gain_dbi,
        rng=rng,
    )
    return H[0]


def iid_channels(rng, K, N, snr_db):
    """iid Rayleigh channels normalised so that P‖h‖²/ε² ≈ snr_db · N."""
    H = (rng.normal(size=(K, N)) + 1j * rng.normal(size=(K, N))) / np.sqrt(2)
    return H * np.sqrt(10 ** (snr_db / 10) * NOISE_W / P_W)


def sinr_of(H_i, W_i):
    """Eq. (2) by explicit loops (independent of link_sinr)."""
    K = H_i.shape[0]
    out = np.empty(K)
    for c in range(K):
        sig = abs(H_i[c] @ W_i[c]) ** 2
        intf = sum(abs(H_i[c] @ W_i[j]) ** 2 for j in range(K) if j != c)
        out[c] = sig / (intf + NOISE_W)
    return out


def max_min_scale(Hn, w, rel_tol=1e-3):
    """Largest t with γ = t·w feasible (within rel_tol), by bisection on the fast method."""
    lo, hi = 1e-4, float(np.min(np.sum(np.abs(Hn) ** 2, axis=1) / w))
    while hi / lo > 1 + rel_tol:
        mid = np.sqrt(lo * hi)
        ok, _, _, _ = fz.fast_reduced(Hn, mid * w)
        if ok is None:
            ok, _ = fz.socp_reduced(Hn, mid * w)
        lo, hi = (mid, hi) if ok else (lo, mid)
    return lo


# ----------------------------------------------------------------------------- eq. (2)
def test_link_sinr_matches_loops_and_ignores_other_satellites():
    rng = np.random.default_rng(0)
    I, C, N = 3, 5, 8
    H = rng.normal(size=(I, C, N)) + 1j * rng.normal(size=(I, C, N))
    W = rng.normal(size=(I, C, N)) + 1j * rng.normal(size=(I, C, N))
    delta = rng.random((I, C)) < 0.6
    delta[0, :] = False
    noise = 0.7
    got = bf.link_sinr(H, W, delta, noise)
    for i in range(I):
        for c in range(C):
            if not delta[i, c]:
                assert np.isnan(got[i, c])
                continue
            sig = abs(H[i, c] @ W[i, c]) ** 2
            intf = sum(abs(H[i, c] @ W[i, j]) ** 2 for j in range(C) if j != c and delta[i, j])
            assert got[i, c] == pytest.approx(sig / (intf + noise), rel=1e-12)


# ----------------------------------------------------------------------------- baselines
def test_zf_nulls_interference_and_power_normalisations():
    rng = np.random.default_rng(1)
    H = cluster_channels(rng, 6, 8, 8)
    W = bf.zf_beams(H, P_W)
    Y = H @ W.T
    assert np.max(np.abs(Y - np.diag(np.diag(Y)))) < 1e-9 * np.max(np.abs(np.diag(Y)))
    assert np.sum(np.abs(W) ** 2) == pytest.approx(6 * P_W, rel=1e-12)
    Wb = bf.zf_beams(H, P_W, per_beam=True)
    assert np.allclose(np.sum(np.abs(Wb) ** 2, axis=1), P_W)
    Yb = H @ Wb.T
    assert np.max(np.abs(Yb - np.diag(np.diag(Yb)))) < 1e-9 * np.max(np.abs(np.diag(Yb)))
    with pytest.raises(ValueError):
        bf.zf_beams(rng.normal(size=(5, 4)) + 0j, P_W)


def test_scb_and_scbwi():
    rng = np.random.default_rng(2)
    H = cluster_channels(rng, 5, 8, 8)
    W = bf.scb_beams(H, P_W)
    assert np.allclose(np.sum(np.abs(W) ** 2, axis=1), P_W)
    gain = np.abs(np.sum(H * W, axis=1)) ** 2
    assert np.allclose(
        gain, P_W * np.sum(np.abs(H) ** 2, axis=1)
    )  # matched filter: |h^T w|² = P‖h‖²
    snr = bf.scbwi_sinr(H, P_W, NOISE_W)
    assert np.allclose(snr, gain / NOISE_W)
    assert np.all(sinr_of(H, W) < snr)  # interference only lowers it


def test_beamform_dispatcher():
    rng = np.random.default_rng(3)
    I, C = 3, 6
    H = np.stack([cluster_channels(rng, C, 4, 4) for _ in range(I)])
    delta = np.zeros((I, C), dtype=bool)
    delta[0, :4] = True
    delta[1, 2:] = True  # satellite 2 serves nobody
    for m in ("zf", "scb", "scbwi"):
        r = bf.beamform(m, H, delta, power_w=P_W, noise_w=NOISE_W)
        assert r.W.shape == H.shape and r.sinr.shape == (I, C)
        assert np.all(r.W[~delta] == 0) and np.all(np.isnan(r.sinr[~delta]))
        assert list(r.status) == ["ok", "ok", "empty"]
    scb = bf.beamform("scb", H, delta, power_w=P_W, noise_w=NOISE_W)
    wi = bf.beamform("scbwi", H, delta, power_w=P_W, noise_w=NOISE_W)
    assert np.array_equal(scb.W, wi.W)
    assert np.allclose(wi.sinr[delta], bf.scbwi_sinr(H, P_W, NOISE_W)[delta])
    with pytest.raises(ValueError):
        bf.beamform("mmse", H, delta, power_w=P_W, noise_w=NOISE_W)


# ----------------------------------------------------------------------------- feasibility
def test_reduction_to_channel_span_is_exact():
    rng = np.random.default_rng(4)
    H = cluster_channels(rng, 5, 8, 8)
    Q, Hr = fz.reduce_channels(H)
    assert Q.shape == (64, 5) and np.allclose(Q.conj().T @ Q, np.eye(5))
    W = rng.normal(size=(5, 64)) + 1j * rng.normal(size=(5, 64))
    X = Q.conj().T @ W.T  # coordinates of the projection onto the span
    W_proj = (Q @ X).T
    assert np.allclose(H @ W.T, H @ W_proj.T)  # every UT sees the same signal
    assert np.all(np.linalg.norm(W_proj, axis=1) <= np.linalg.norm(W, axis=1) + 1e-12)


def test_single_user_bound_rejects():
    rng = np.random.default_rng(5)
    H = cluster_channels(rng, 3, 4, 4)
    snr = bf.scbwi_sinr(H, P_W, NOISE_W)
    for method in ("fast", "socp"):
        ok, W = fz.feasible(H, snr * np.array([1.01, 0.1, 0.1]), P_W, NOISE_W, method=method)
        assert not ok and np.all(W == 0)
    ok, W = fz.feasible(H[:1], snr[:1] * 0.999, P_W, NOISE_W)  # one UT: matched filter suffices
    assert ok and sinr_of(H[:1], W)[0] >= 0.999 * snr[0] * (1 - 1e-9)


def _instances():
    """40 channel sets (half geometric clusters, half iid), K = 2..12, N ∈ {16, 36, 64}."""
    rng = np.random.default_rng(2024)
    sets = []
    for n in range(40):
        K = int(rng.integers(2, 13))
        nx = int(rng.choice([4, 6, 8]))
        if n % 2 == 0:
            H = cluster_channels(rng, K, nx, nx, element_gain_dbi=float(rng.choice([0.0, 5.5])))
        else:
            H = iid_channels(rng, K, nx * nx, snr_db=float(rng.uniform(-8, 2)))
        sets.append((H, rng.uniform(0.5, 1.0, size=K)))
    return sets


FACTORS = (0.5, 0.9, 0.98, 1.02, 1.1, 2.0)


def test_fast_matches_socp_on_240_instances():
    """Same verdict as the exact SOCP on 40 channel sets × 6 threshold factors (γ = f·t*·w,
    t* the max-min weighted SINR), and SINR = γ (fast: FEAS_RTOL = 1e-3, SOCP: 1e-5 relative)."""
    agree = feasible = 0
    for H, w in _instances():
        Q, Hr = fz.reduce_channels(H)
        Hn = Hr * np.sqrt(P_W / NOISE_W)
        w = w * np.sum(np.abs(Hn) ** 2, axis=1)  # thresholds near each UT's own SNR: beams interact
        t = max_min_scale(Hn, w)
        for f in FACTORS:
            gamma = f * t * w
            ok_f, W_f = fz.feasible(H, gamma, P_W, NOISE_W, method="fast")
            ok_s, W_s = fz.feasible(H, gamma, P_W, NOISE_W, method="socp")
            assert ok_f == ok_s, (H.shape, f)
            assert ok_f == (f < 1)
            agree += 1
            if ok_f:
                feasible += 1
                s_f, s_s = sinr_of(H, W_f), sinr_of(H, W_s)
                assert np.allclose(s_f, gamma, rtol=fz.FEAS_RTOL)
                assert np.allclose(s_s, gamma, rtol=1e-5)
                assert np.all(np.sum(np.abs(W_f) ** 2, axis=1) <= P_W * (1 + 1e-9))
                assert np.all(np.sum(np.abs(W_s) ** 2, axis=1) <= P_W * (1 + 1e-5))
    print(
        f"fast vs socp: {agree} verdicts agree ({feasible} feasible); fallbacks so far: {fz.STATS.fallbacks}"
    )
    assert agree == 240 and feasible == 120


def test_fill_power_reaches_equality_without_losing_sinr():
    """C4's '=' form: every fast solution padded to ‖w_c‖² = P keeps SINR ≥ γ (N ≥ Ci)."""
    for H, w in _instances()[:20]:
        snr = bf.scbwi_sinr(H, P_W, NOISE_W)
        gamma = 0.3 * snr * w
        ok, W = fz.feasible(H, gamma, P_W, NOISE_W)
        if not ok:
            continue
        Wf = fz.fill_power(H, W, P_W)
        assert np.allclose(np.sum(np.abs(Wf) ** 2, axis=1), P_W, rtol=1e-9)
        assert np.all(sinr_of(H, Wf) >= gamma * (1 - fz.FEAS_RTOL))
        others = H @ (Wf - W).T
        assert np.max(np.abs(others - np.diag(np.diag(others)))) < 1e-9 * np.sqrt(P_W) * np.max(
            np.abs(H)
        )


def _small_instances(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        K = int(rng.integers(2, 5))
        nx = int(rng.choice([2, 3, 4]))
        H = cluster_channels(rng, K, nx, nx, spacing_m=120e3, element_gain_dbi=5.5)
        out.append(H)
    return out


def _sdr_vs_socp(instances, factors):
    checked = 0
    for H in instances:
        Q, Hr = fz.reduce_channels(H)
        Hn = Hr * np.sqrt(P_W / NOISE_W)
        w = np.sum(np.abs(Hn) ** 2, axis=1)
        t = max_min_scale(Hn, w)
        for f in factors:
            gamma = f * t * w
            ok_s, _ = fz.feasible(H, gamma, P_W, NOISE_W, method="socp")
            ok_r, W_r = fz.feasible(
                H, gamma, P_W, NOISE_W, method="sdr", rng=np.random.default_rng(0)
            )
            assert ok_r == ok_s, (H.shape, f)
            if ok_r:
                assert np.all(sinr_of(H, W_r) >= gamma * (1 - 1e-3))
            checked += 1
    return checked


def test_sdr_matches_socp_small():
    assert _sdr_vs_socp(_small_instances(2, 7), (0.8, 1.25)) == 4


@pytest.mark.slow
def test_sdr_matches_socp_and_equality_form_many():
    """SDR (20) vs SOCP on 12 small instances × 4 factors; plus the '=' vs '≤' power forms."""
    insts = _small_instances(12, 8)
    assert _sdr_vs_socp(insts, (0.7, 0.95, 1.05, 1.4)) == 48
    for H in insts[:6]:
        Q, Hr = fz.reduce_channels(H)
        Hn = Hr * np.sqrt(P_W / NOISE_W)
        w = np.sum(np.abs(Hn) ** 2, axis=1)
        t = max_min_scale(Hn, w)
        for f in (0.9, 1.1):
            eq, _ = fz.feasible(H, f * t * w, P_W, NOISE_W, method="sdr", power_equality=True)
            le, _ = fz.feasible(H, f * t * w, P_W, NOISE_W, method="sdr", power_equality=False)
            assert eq == le == (f < 1)


def test_feasible_rejects_bad_input():
    H = np.ones((3, 4), dtype=complex)
    with pytest.raises(ValueError):
        fz.feasible(H, np.ones(2), P_W, NOISE_W)
    with pytest.raises(ValueError):
        fz.feasible(H, -np.ones(3), P_W, NOISE_W)
    with pytest.raises(ValueError):
        fz.feasible(H, np.ones(3), P_W, NOISE_W, method="magic")


# ----------------------------------------------------------------------------- DSTA
def small_drop(seed, I=3, C=6, nx=4, i_tdoa=3, element_gain_dbi=5.5, spacing_m=75e3):
    """A small drop: C ≤ 9 UTs on a grid (spacing_m, ±10 km), I satellites at 600 km, I_TDOA satellites per UT."""
    rng = np.random.default_rng(seed)
    grid = (
        np.array([(e, n) for n in range(-1, 2) for e in range(-1, 2)], dtype=float)[:C] * spacing_m
    )
    east = grid[:, 0] + rng.uniform(-10e3, 10e3, size=C)
    north = grid[:, 1] + rng.uniform(-10e3, 10e3, size=C)
    ut = np.stack([np.full(C, R_E), east, north], axis=1)
    ut = R_E * ut / np.linalg.norm(ut, axis=1, keepdims=True)
    ang = rng.uniform(0, 2 * np.pi, size=I)
    off = rng.uniform(50e3, 300e3, size=I)
    rs = R_E + PARAMS.altitude_m
    sats = np.stack([np.full(I, rs), off * np.cos(ang), off * np.sin(ang)], axis=1)
    sats = rs * sats / np.linalg.norm(sats, axis=1, keepdims=True)
    ref = np.array([rs, 0.0, 0.0])
    H = channels(
        sats,
        ut,
        pnt_body_frames(sats),
        freq_hz=PARAMS.freq_hz,
        nx=nx,
        ny=nx,
        element_gain_dbi=element_gain_dbi,
        rng=rng,
    )
    delta = np.zeros((I, C), dtype=bool)
    for c in range(C):
        delta[rng.choice(I, size=i_tdoa, replace=False), c] = True
    return H, delta, ut, sats, ref


def run_dsta(H, delta, ut, sats, ref, method, **kw):
    return bf.dsta(
        H,
        delta,
        ut,
        sats,
        ref,
        power_w=P_W,
        noise_w=NOISE_W,
        bandwidth_hz=PARAMS.bandwidth_hz,
        ref_var=PARAMS.ref_toa_var_s2,
        feasibility=method,
        **kw,
    )


@pytest.mark.parametrize("seed,gain,spacing_m", [(0, 5.5, 200e3), (1, 0.0, 75e3)])
def test_dsta_fast_equals_socp_and_stops_at_the_boundary(seed, gain, spacing_m):
    H, delta, ut, sats, ref = small_drop(
        seed, I=4, C=6, nx=8, element_gain_dbi=gain, spacing_m=spacing_m
    )
    rf = run_dsta(H, delta, ut, sats, ref, "fast")
    rs = run_dsta(H, delta, ut, sats, ref, "socp")
    assert np.array_equal(rf.n_tests, rs.n_tests)
    assert list(rf.status) == list(rs.status)
    assert ("ok" in list(rf.status)) == (spacing_m > 100e3)  # both DSTA branches are exercised
    assert np.allclose(rf.sinr[delta], rs.sinr[delta], rtol=fz.FEAS_RTOL)
    assert np.all(np.isnan(rf.sinr[~delta])) and np.all(rf.W[~delta] == 0)
    assert np.all(np.sum(np.abs(rf.W) ** 2, axis=2) <= P_W * (1 + 1e-9))
    for i in range(H.shape[0]):
        cs = np.flatnonzero(delta[i])
        if not len(cs):
            continue
        s = rf.sinr[i, cs]
        if rf.status[i] != "ok":
            continue
        # thresholds are γ' + k·γ0 and the SINRs meet them (within FEAS_RTOL)
        k = np.round((s - 10.0) / 2.0)
        gam = 10.0 + 2.0 * k
        assert np.allclose(s, gam, rtol=fz.FEAS_RTOL) and np.all(k >= 0)
        # no threshold below γ_max can be raised by γ0 any more: the SOCP agrees at
        # (γ + γ0 e_c)(1 + 2 FEAS_RTOL), just beyond the fast method's tolerance band
        for n in range(len(cs)):
            if gam[n] >= 100.0:
                continue
            trial = gam.copy()
            trial[n] += 2.0
            ok, _ = fz.feasible(
                H[i, cs], trial * (1 + 2 * fz.FEAS_RTOL), P_W, NOISE_W, method="socp"
            )
            assert not ok


def test_dsta_empty_satellite_fill_and_dispatch():
    H, delta, ut, sats, ref = small_drop(3, I=3, C=4)
    delta[2, :] = False
    delta[:2, :] = True  # two satellites per UT: eq. (17) undefined, gradients taken as 0
    r = run_dsta(H, delta, ut, sats, ref, "fast", fill_to_power=True)
    assert r.status[2] == "empty" and r.n_tests[2] == 0 and np.all(r.W[2] == 0)
    assert np.allclose(np.sum(np.abs(r.W[delta]) ** 2, axis=1), P_W, rtol=1e-9)
    r0 = run_dsta(H, delta, ut, sats, ref, "fast")
    assert np.all(r.sinr[delta] >= r0.sinr[delta] * (1 - 1e-9))
    rd = bf.beamform(
        "dsta",
        H,
        delta,
        power_w=P_W,
        noise_w=NOISE_W,
        ut_pos=ut,
        sat_pos=sats,
        ref_pos=ref,
        bandwidth_hz=PARAMS.bandwidth_hz,
        ref_var=PARAMS.ref_toa_var_s2,
    )
    assert np.allclose(rd.sinr[delta], r0.sinr[delta])


def test_dsta_gradient_order_prefers_largest_crlb_gain():
    """The first raise goes to the UT whose CRLB falls fastest (most negative eq. (17))."""
    from twin.pnt import crlb

    H, delta, ut, sats, ref = small_drop(5, I=3, C=5, nx=8, spacing_m=200e3)
    calls = []
    orig = bf._SatelliteTests.test

    def spy(self, gamma):
        calls.append(gamma.copy())
        return orig(self, gamma)

    bf._SatelliteTests.test = spy
    try:  # the numpy engine, whose tests can be spied on (tests/pnt/test_kernels.py: the
        # compiled engine runs the same tests)
        r = run_dsta(H, delta, ut, sats, ref, "fast", engine="numpy")
    finally:
        bf._SatelliteTests.test = orig
    cs = np.flatnonzero(delta[0])
    assert r.status[0] == "ok" and len(calls) >= 2
    raised = int(np.flatnonzero(calls[1] != calls[0])[0])
    grads = []
    for c in cs:
        idx = np.flatnonzero(delta[:, c])
        g = crlb.crlb_sinr_gradient(
            ut[c],
            sats[idx],
            ref,
            np.full(len(idx), 10.0),
            PARAMS.bandwidth_hz,
            PARAMS.ref_toa_var_s2,
        )
        grads.append(g[list(idx).index(0)])
    assert raised == int(np.argmin(grads))
