"""Beamforming of seed 002: SINR (eq. (2)), DSTA (Algorithm 1, eq. (17)-(20)) and the
ZF / SCB / SCBWI baselines (eq. (33)-(35)); seed-math A.2, A.7, A.10.

Data layout for one drop: I visible satellites, C UTs, N antennas.
``H`` (I, C, N) complex channels (UT c receives ``h_{i,c}^T w``), ``delta`` (I, C) bool
schedule, ``W`` (I, C, N) complex beams in √W (zero where unscheduled). Powers in W,
SINRs linear. The feasibility tests live in :mod:`twin.pnt.feasibility`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.pnt.channel import THRESHOLD_RULES
from twin.pnt.crlb import gather_schedule, sinr_gradient_from_A, tdoa_jacobian
from twin.pnt.feasibility import (
    ENGINES,
    METHODS,
    STATS,
    FastState,
    fast_reduced,
    fill_power,
    normalised_sinr,
    reduce_channels,
    sdr_full,
    socp_reduced,
)
from twin.pnt.sum_power import sum_power_feasible

BEAMFORMERS = ("dsta", "zf", "scb", "scbwi")
#: DSTA's power constraints: ‖w_c‖² ≤ P per beam (eq. (19)) or Σ_c ‖w_c‖² ≤ |C_i| P per
#: satellite (the budget of ZF's eq. (33); `twin.pnt.sum_power`).
POWER_CONSTRAINTS = ("per_beam", "total")


@dataclass
class BeamResult:
    """Beams and SINRs of one drop.

    W: (I, C, N) complex √W, zero where unscheduled. sinr: (I, C) linear, nan where
    unscheduled. n_tests: (I,) feasibility tests run (DSTA; 0 for the baselines).
    status: (I,) str per satellite: "empty" (no UT), "ok", "lowered" (DSTA: γ' was
    infeasible and the thresholds were lowered by bisection, see `dsta`'s
    `threshold_rule`), "infeasible" (DSTA:
    not even the lowest threshold was feasible; zero beams).
    """

    W: np.ndarray
    sinr: np.ndarray
    n_tests: np.ndarray
    status: np.ndarray


def _check_drop(H, delta):
    H = np.asarray(H, dtype=complex)
    d = np.asarray(delta, dtype=bool)
    if H.ndim != 3 or d.shape != H.shape[:2]:
        raise ValueError(f"need H (I, C, N) and delta (I, C); got {H.shape}, {d.shape}")
    return H, d


def link_sinr(H, W, delta, noise_w):
    """Seed 002 eq. (2): SINR of every scheduled link, linear (I, C).

    H: (I, C, N); W: (I, C, N) beams (entries of unscheduled links are ignored);
    delta: (I, C) bool; noise_w: ε² in W. Interference on link (i, c) comes only from
    satellite i's other scheduled beams (satellites use orthogonal resources, A.2).
    Unscheduled links get nan.
    """
    H, d = _check_drop(H, delta)
    W = np.asarray(W, dtype=complex) * d[..., None]
    if W.shape != H.shape:
        raise ValueError(f"W must have shape {H.shape}, got {W.shape}")
    if not noise_w > 0:
        raise ValueError(f"noise_w must be > 0, got {noise_w}")
    Y = np.einsum("icn,idn->icd", H, W)  # Y[i, c, c'] = h_{i,c}^T w_{i,c'}
    G = Y.real**2 + Y.imag**2
    sig = np.einsum("icc->ic", G)
    sinr = sig / (G.sum(axis=2) - sig + noise_w)
    return np.where(d, sinr, np.nan)


def zf_beams(H_i, power_w, per_beam: bool = False):
    """Seed 002 eq. (33), corrected [C]: zero forcing for one satellite.

    H_i: (Ci, N) rows h_c (Ci ≤ N, full row rank); power_w: P in W. Beams are the
    columns of ``β G^H (G G^H)^{-1}`` (G = H_i) with the total-power normalisation
    ``β = √(P Ci / ‖G^H (G G^H)^{-1}‖_F²)`` (default, as the paper), or each beam scaled
    to ‖w_c‖² = P (``per_beam=True``). Returns W_i (Ci, N).
    """
    G = np.asarray(H_i, dtype=complex)
    K, N = G.shape
    if K == 0:
        return np.zeros((0, N), dtype=complex)
    if K > N:
        raise ValueError(f"zero forcing needs Ci <= N (got Ci={K}, N={N})")
    Wt = G.conj().T @ np.linalg.inv(G @ G.conj().T)  # (N, Ci), G @ Wt = I
    if per_beam:
        Wt = Wt * np.sqrt(power_w) / np.linalg.norm(Wt, axis=0)
    else:
        Wt = Wt * np.sqrt(power_w * K / np.sum(np.abs(Wt) ** 2))
    return Wt.T


def scb_beams(H_i, power_w):
    """Seed 002 eq. (34) [C: conj]: matched filter ``w_c = √P conj(h_c)/‖h_c‖``.

    H_i: (..., N) channels; power_w: P in W. Returns (..., N).
    """
    H = np.asarray(H_i, dtype=complex)
    nrm = np.linalg.norm(H, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nrm > 0, np.sqrt(power_w) * H.conj() / nrm, 0.0)


def scbwi_sinr(H_i, power_w, noise_w):
    """Seed 002 eq. (35): SCB SNR with interference ignored, ``P ‖h_c‖² / ε²`` (linear).

    H_i: (..., N); returns (...). An upper-bound reference, not achievable with
    several beams.
    """
    H = np.asarray(H_i, dtype=complex)
    return power_w * np.sum(np.abs(H) ** 2, axis=-1) / noise_w


class _SatelliteTests:
    """Feasibility tests of one satellite with a cached reduction and warm start
    (``warm_start=False``: every fast test starts cold, the reference path; ``engine``: the
    fast test's implementation, :data:`twin.pnt.feasibility.ENGINES`; ``total_power=True``:
    the total-power test of `twin.pnt.sum_power`, budget Ci·P)."""

    def __init__(
        self,
        H_i,
        power_w,
        noise_w,
        method,
        rng,
        warm_start=True,
        engine="compiled",
        total_power=False,
    ):
        if method not in METHODS:
            raise ValueError(f"feasibility must be one of {METHODS}, got {method!r}")
        self.method = method
        self.engine = engine
        self.H = H_i
        self.power_w = power_w
        self.scale = np.sqrt(power_w / noise_w)
        self.rng = rng
        self.warm_start = warm_start
        self.n = 0
        self.total_power = total_power
        self.warm_q = None  # (thresholds, uplink powers) of the last feasible total-power test
        if method == "sdr":
            self.Hn = H_i * self.scale
        else:
            self.Q, Hr = reduce_channels(H_i)
            self.Hn = Hr * self.scale
        self.state: FastState | None = None

    def test(self, gamma):
        """(ok, X) for thresholds gamma (K,); X in the method's normalised coordinates."""
        self.n += 1
        if self.total_power:
            q0 = None
            if self.warm_start and self.warm_q is not None and np.all(gamma >= self.warm_q[0]):
                q0 = self.warm_q[1]  # below the new least fixed point: still a proof
            ok, X, q = sum_power_feasible(self.Hn, gamma, float(len(gamma)), q0=q0)
            if ok:
                self.warm_q = (np.array(gamma, dtype=float), q)
            return ok, X
        if self.method == "fast":
            ok, X, state, _ = fast_reduced(self.Hn, gamma, self.state, engine=self.engine)
            if ok is None:
                STATS.fallbacks += 1
                ok, X = socp_reduced(self.Hn, gamma)
            elif ok and self.warm_start:
                self.state = state
            return ok, X
        if self.method == "socp":
            return socp_reduced(self.Hn, gamma)
        _, ok, X = sdr_full(self.Hn, gamma, power_equality=False, rng=self.rng)
        return ok, X

    def sinr(self, X):
        return normalised_sinr(self.Hn, X)

    def beams(self, X):
        """Beams (K, N) in √W from normalised coordinates."""
        if self.method == "sdr":
            return (X * np.sqrt(self.power_w)).T
        return (self.Q @ X * np.sqrt(self.power_w)).T


def _ut_jacobians(ut_pos, sat_pos, ref_pos, delta):
    """Per UT: (sorted satellite indices (L,), TDOA Jacobian (L, 3) in s/m)."""
    out = {}
    for L, (u_idx, s_idx) in gather_schedule(delta).items():
        if L == 0:
            continue
        A = tdoa_jacobian(ut_pos[u_idx], sat_pos[s_idx], ref_pos)
        for n, c in enumerate(u_idx):
            out[int(c)] = (s_idx[n], A[n])
    return out


def _gradient(jac, c, i, sinr_est, bandwidth_hz, ref_var):
    """Eq. (17) ∂CRLB_c/∂SINR_{i,c} (m² per unit SINR); 0 when UT c has < 3 satellites."""
    idx, A = jac[c]
    if len(idx) < 3:
        return 0.0
    s = sinr_est[idx, c]
    try:
        g = sinr_gradient_from_A(A, s, bandwidth_hz, ref_var)
    except (np.linalg.LinAlgError, ValueError):
        return 0.0
    return float(g[int(np.searchsorted(idx, i))])


def dsta(
    H,
    delta,
    ut_pos,
    sat_pos,
    ref_pos,
    *,
    power_w: float,
    noise_w: float,
    bandwidth_hz: float,
    ref_var: float,
    gamma_init: float = 10.0,
    gamma_step: float = 2.0,
    gamma_max: float = 100.0,
    feasibility: str = "fast",
    fill_to_power: bool = False,
    bisection_tol_db: float = 0.05,
    bisection_floor_db: float = -30.0,
    warm_start: bool = True,
    threshold_rule: str = "common",
    engine: str = "compiled",
    power_constraint: str = "per_beam",
    rng=None,
) -> BeamResult:
    """Seed 002 Algorithm 1 (DSTA), per satellite in index order (seed-math A.7 [V + D]).

    H (I, C, N); delta (I, C) bool; ut_pos (C, 3), sat_pos (I, 3), ref_pos (3,) metres;
    power_w: per-beam P in W; noise_w: ε² in W; bandwidth_hz: B; ref_var: σ²_0 in s²;
    gamma_init γ', gamma_step γ0, gamma_max (linear); feasibility: "fast" | "socp" |
    "sdr"; fill_to_power: raise every beam to ‖w‖² = P afterwards (C4's equality; SINRs
    then exceed the thresholds), default False (beams meet SINR = threshold with
    ‖w‖² ≤ P); bisection_tol_db / bisection_floor_db: the lowering of an infeasible γ'
    (bisection in dB down to the floor γ'·10^{floor/10}); warm_start: each fast feasibility
    test of a satellite starts from the last feasible one's directions and dual weights
    (default; False = every test cold, the reference path); rng: for the SDR randomisations.
    threshold_rule: what happens when γ' is infeasible for a satellite (Algorithm 1 does
    not say; docs/pnt-reproduction.md): "common" (seed-math A.7 [D], the earlier default)
    lowers one common threshold for all its UTs by bisection in dB, so every UT of the
    satellite drops to what the weakest can get; "per_ut" lowers a UT's threshold only
    where γ' exceeds what it can get: thresholds ``min(γ', t·SNR0_c)`` with SNR0_c =
    P‖h_c‖²/ε² its interference-free SNR (eq. (35)) and the largest feasible t ≤ 1 found
    by bisection in dB, so UTs that can reach γ' keep it; "grid" lowers one common
    threshold down Algorithm 1's own grid, γ' − γ0, γ' − 2γ0, ... (> 0), to the first
    feasible value (then bisection as "common" if none is), and raises from there as usual.
    power_constraint: "per_beam" (default, eq. (19): ‖w_c‖² ≤ P) or "total" (Σ_c ‖w_c‖² ≤
    |C_i| P, the budget ZF's eq. (33) normalises to; `twin.pnt.sum_power`; `feasibility`
    then only picks the basis: full space for "sdr", reduced otherwise).
    engine: the fast feasibility test's implementation, "compiled" (numba kernels, default)
    or "numpy" (the reference); equal up to rounding (tests/pnt/test_kernels.py). The
    compiled search covers per-beam power with every threshold rule; total power runs the
    numpy search.

    Per satellite i: all thresholds start at γ' (lowered by bisection if infeasible);
    then, while some raisable threshold is < γ_max, the UT with the most negative eq. (17)
    gradient (eq. (18); SINRs of satellites not yet processed taken as γ', of processed
    ones their final SINR) gets +γ0; an infeasible raise is undone and the UT is no
    longer raisable. Beams come from the last feasible solution; SINRs are recomputed
    by eq. (2). Returns a :class:`BeamResult`.
    """
    H, d = _check_drop(H, delta)
    I, C, N = H.shape
    ut_pos = np.asarray(ut_pos, dtype=float)
    sat_pos = np.asarray(sat_pos, dtype=float)
    ref_pos = np.asarray(ref_pos, dtype=float)
    if ut_pos.shape != (C, 3) or sat_pos.shape != (I, 3) or ref_pos.shape != (3,):
        raise ValueError(
            f"need ut_pos ({C},3), sat_pos ({I},3), ref_pos (3,); got {ut_pos.shape}, {sat_pos.shape}, {ref_pos.shape}"
        )
    if not (gamma_init > 0 and gamma_step > 0 and gamma_max >= gamma_init):
        raise ValueError("need gamma_init > 0, gamma_step > 0 and gamma_max >= gamma_init")
    if threshold_rule not in THRESHOLD_RULES:
        raise ValueError(f"threshold_rule must be one of {THRESHOLD_RULES}, got {threshold_rule!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if power_constraint not in POWER_CONSTRAINTS:
        raise ValueError(
            f"power_constraint must be one of {POWER_CONSTRAINTS}, got {power_constraint!r}"
        )
    rng = rng if rng is not None else np.random.default_rng(0)
    jac = _ut_jacobians(ut_pos, sat_pos, ref_pos, d)
    compiled = None
    if (
        feasibility == "fast"
        and engine == "compiled"
        and power_constraint == "per_beam"
        and threshold_rule in ("common", "per_ut", "grid")
    ):
        from twin.pnt.dsta_compiled import (  # deferred: numba (0.5 s to import) only for DSTA
            CompiledSearch,
        )

        compiled = CompiledSearch(
            jac,
            C,
            bandwidth_hz=bandwidth_hz,
            ref_var=ref_var,
            gamma_init=gamma_init,
            gamma_step=gamma_step,
            gamma_max=gamma_max,
            bisection_tol_db=bisection_tol_db,
            bisection_floor_db=bisection_floor_db,
            warm_start=warm_start,
            threshold_rule=threshold_rule,
        )
    sinr_est = np.where(d, float(gamma_init), np.nan)
    W = np.zeros_like(H)
    n_tests = np.zeros(I, dtype=int)
    status = np.full(I, "empty", dtype=object)
    for i in range(I):
        cs = np.flatnonzero(d[i])
        K = len(cs)
        if K == 0:
            continue
        sat = _SatelliteTests(
            H[i, cs],
            power_w,
            noise_w,
            feasibility,
            rng,
            warm_start,
            engine,
            power_constraint == "total",
        )
        if compiled is not None:  # the same search in compiled code (twin.pnt.dsta_compiled)
            ceiling = None if threshold_rule != "per_ut" else scbwi_sinr(H[i, cs], power_w, noise_w)
            status[i], n_tests[i], X = compiled.search(i, cs, sat.Hn, ceiling, sinr_est)
            if status[i] != "infeasible":
                Wi = sat.beams(X)
                W[i, cs] = fill_power(H[i, cs], Wi, power_w) if fill_to_power else Wi
            continue
        gam = np.full(K, float(gamma_init))
        ok, X = sat.test(gam)
        status[i] = "ok"
        if not ok and threshold_rule == "grid":  # γ' − kγ0, k = 1, 2, ... while > 0
            for k_down in range(1, int(np.ceil(gamma_init / gamma_step))):
                ok, X = sat.test(np.full(K, gamma_init - k_down * gamma_step))
                if ok:
                    gam = np.full(K, gamma_init - k_down * gamma_step)
                    status[i] = "lowered"
                    break
        if not ok:
            if threshold_rule in ("common", "grid"):
                hi_db = 10 * np.log10(gamma_init)
                lo_db = hi_db + bisection_floor_db

                def thresholds(x_db, K=K):
                    return np.full(K, 10 ** (x_db / 10))

            else:  # per_ut: min(γ', t·SNR0_c) with t = 10^{x/10}
                ceiling = scbwi_sinr(H[i, cs], power_w, noise_w)
                hi_db = 10 * np.log10(gamma_init / ceiling.min())
                lo_db = min(hi_db, 0.0) + bisection_floor_db

                def thresholds(x_db, ceiling=ceiling):
                    return np.minimum(float(gamma_init), ceiling * 10 ** (x_db / 10))

            ok, X = sat.test(thresholds(lo_db))
            if not ok:
                status[i] = "infeasible"
                n_tests[i] = sat.n
                sinr_est[i, cs] = 0.0
                continue
            while hi_db - lo_db > bisection_tol_db:
                mid = 0.5 * (hi_db + lo_db)
                ok_mid, X_mid = sat.test(thresholds(mid))
                if ok_mid:
                    lo_db, X = mid, X_mid
                else:
                    hi_db = mid
            gam = thresholds(lo_db)
            status[i] = "lowered"
        sinr_est[i, cs] = sat.sinr(X)
        grad = np.array([_gradient(jac, int(c), i, sinr_est, bandwidth_hz, ref_var) for c in cs])
        raisable = np.ones(K, dtype=bool)
        while True:
            cand = raisable & (gam < gamma_max)
            if not cand.any():
                break
            k = int(np.argmin(np.where(cand, grad, np.inf)))
            trial = gam.copy()
            trial[k] += gamma_step
            ok, Xt = sat.test(trial)
            if ok:
                gam, X = trial, Xt
                sinr_est[i, cs] = sat.sinr(X)
                grad[k] = _gradient(jac, int(cs[k]), i, sinr_est, bandwidth_hz, ref_var)
            else:
                raisable[k] = False
        Wi = sat.beams(X)
        if fill_to_power:
            Wi = fill_power(H[i, cs], Wi, power_w)
        W[i, cs] = Wi
        n_tests[i] = sat.n
    if compiled is not None and not fill_to_power:
        # the search's SINR estimates of the final beams are eq. (2) of W (in the reduced,
        # normalised coordinates: equal to link_sinr up to rounding), 0 where infeasible
        return BeamResult(W=W, sinr=np.where(d, sinr_est, np.nan), n_tests=n_tests, status=status)
    return BeamResult(W=W, sinr=link_sinr(H, W, d, noise_w), n_tests=n_tests, status=status)


def beamform(
    method: str, H, delta, *, power_w: float, noise_w: float, zf_per_beam: bool = False, **dsta_args
) -> BeamResult:
    """One entry point for the four beamformers of seed 002's Table III / Fig. 3-4.

    method: "dsta" (needs ut_pos, sat_pos, ref_pos, bandwidth_hz, ref_var and optional
    DSTA arguments in ``dsta_args``), "zf" (eq. (33); ``zf_per_beam``), "scb" (eq. (34))
    or "scbwi" (eq. (35): SCB beams, SINR = interference-free SNR). H (I, C, N), delta
    (I, C) bool, power_w P and noise_w ε² in W. Returns a :class:`BeamResult`.
    """
    if method not in BEAMFORMERS:
        raise ValueError(f"method must be one of {BEAMFORMERS}, got {method!r}")
    H, d = _check_drop(H, delta)
    if method == "dsta":
        return dsta(H, d, power_w=power_w, noise_w=noise_w, **dsta_args)
    if dsta_args:
        unknown = set(dsta_args) - {"ut_pos", "sat_pos", "ref_pos", "bandwidth_hz", "ref_var"}
        if unknown:
            raise ValueError(f"arguments {sorted(unknown)} apply to DSTA only")
    I, C, N = H.shape
    status = np.where(d.any(axis=1), "ok", "empty").astype(object)
    n_tests = np.zeros(I, dtype=int)
    if method in ("scb", "scbwi"):
        W = scb_beams(H, power_w) * d[..., None]
        if method == "scbwi":
            sinr = np.where(d, scbwi_sinr(H, power_w, noise_w), np.nan)
            return BeamResult(W=W, sinr=sinr, n_tests=n_tests, status=status)
        return BeamResult(W=W, sinr=link_sinr(H, W, d, noise_w), n_tests=n_tests, status=status)
    W = np.zeros_like(H)
    for i in range(I):  # Ci differs per satellite; I ≤ a few tens
        cs = np.flatnonzero(d[i])
        if len(cs):
            W[i, cs] = zf_beams(H[i, cs], power_w, per_beam=zf_per_beam)
    return BeamResult(W=W, sinr=link_sinr(H, W, d, noise_w), n_tests=n_tests, status=status)


__all__ = [
    "BEAMFORMERS",
    "POWER_CONSTRAINTS",
    "THRESHOLD_RULES",
    "BeamResult",
    "beamform",
    "dsta",
    "link_sinr",
    "scb_beams",
    "scbwi_sinr",
    "zf_beams",
]
