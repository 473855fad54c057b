"""Beam scheduling for seed 002: which `I_TDOA` satellites serve each UT (seed-math A.8-A.10).

A schedule is a boolean array `delta (I, C)`: `delta[i, c]` is True when satellite `i`
points a beam at UT `c`. Every UT gets exactly `i_tdoa` satellites (the reference satellite
is separate and not part of `I`), and no satellite serves more than `max_beams` (= K) UTs.

Schedulers (greedy over UTs in cell-index order unless `order` is given):

- `hbs` (Algorithm 2): `m` candidates with the smallest channel similarity (27), then the one
  with the best geometry gain (28); `m = 1` is `comm_oriented`, `m = I` is `gdop_greedy`.
- `gdop_greedy` (36), `comm_oriented` (= HBS m = 1), `parallax` (37).

Sweep [D, default "rounds"]: the text describes HBS as changing one 0-1 variable "in each
round of iteration" and selecting candidate satellites "for each UT in each iteration", so
the greedy schedulers run `i_tdoa` rounds and in each round every UT (in `order`) adds one
satellite. `sweep="per_ut"` instead completes each UT before the next one. With the preset's
just-sufficient budget `I = ceil(C I_TDOA / K)` the per-UT sweep strands the last UTs in about
half of the drops for HBS m = 4 and almost all for GDOP-greedy, while the round-wise sweep
never did in 240 preset schedules (docs/pnt-reproduction.md).

Beam budget: every greedy scheduler only takes a satellite if the remaining UTs can still be
completed (per_ut: exact Gale-Ryser check `_completion_feasible`; rounds: exact max-flow
check `completable`, used only when the plain pass strands a UT). This never changes a choice
the unguarded greedy could finish with. `budget_guard=False` runs the plain greedy, which
raises `ValueError` when it strands a UT. If the budget itself is too small, `ValueError`
says so up front.

Inputs are ECEF metres; `H (I, C, N)` complex channels as from `twin.pnt.channel.channels`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from twin.pnt.crlb import RANK_RTOL, gdop, unit_differences

#: Relative eigenvalue tolerance of the pseudo-inverse trace (seed-math A.9), as in crlb.
PINV_RTOL = RANK_RTOL

SCHEDULERS = ("hbs", "gdop", "comm", "parallax")
#: The smallest normal float (``np.finfo`` costs microseconds per call in HBS's inner loop).
TINY = np.finfo(float).tiny


# --------------------------------------------------------------------------- metrics


def difference_vectors(ut_pos: np.ndarray, sat_pos: np.ndarray, ref_pos: np.ndarray) -> np.ndarray:
    """All eq. (7) direction differences `a_{i,c}` of a drop, shape (I, C, 3), dimensionless.

    ut_pos (C,3), sat_pos (I,3), ref_pos (3,) ECEF metres; computed by
    `twin.pnt.crlb.unit_differences` (which owns eq. (7)).
    """
    ut = np.asarray(ut_pos, dtype=float)
    sat = np.asarray(sat_pos, dtype=float)
    return np.swapaxes(
        unit_differences(ut, sat[None, :, :], np.asarray(ref_pos, dtype=float)), 0, 1
    )


def similarity_gram(H: np.ndarray) -> np.ndarray:
    """Normalised channel correlations `|h_{i,c}^H h_{i,c'}| / (||h_{i,c}|| ||h_{i,c'}||)`.

    H: (I, C, N) complex. Returns (I, C, C) real in [0, 1] (1 on the diagonal): the terms of
    eq. (27), computed once per drop so HBS needs no per-step channel arithmetic.
    """
    H = np.asarray(H)
    Hn = H / np.linalg.norm(H, axis=-1, keepdims=True)
    gram = np.empty(H.shape[:2] + H.shape[1:2])
    # one BLAS product per satellite, 4x faster than einsum, on one thread: OpenBLAS's threads
    # cost 300 ms CPU on a (21, 61, 64) drop against 1.7 ms on one (2 cores, measured)
    with threadpool_limits(1, user_api="blas"):
        for i, h in enumerate(Hn):
            gram[i] = np.abs(h.conj() @ h.T)
    return gram


def channel_similarity(
    H: np.ndarray, c: int, i, served, *, gram: np.ndarray | None = None
) -> np.ndarray | float:
    """Channel similarity of satellite(s) `i` for UT `c`, seed 002 eq. (27).

    Real, scale-free semi-orthogonality form [C/D, seed-math A.9]:
    `rho_{i,c} = sum_{c' in C_i} |h_{i,c}^H h_{i,c'}| / (||h_{i,c}|| ||h_{i,c'}||)`,
    0 when `C_i` is empty (the paper's constant `c' = c` term is dropped).

    H: (I, C, N) complex channels. c: UT index. i: a satellite index (int) or indices (M,).
    served: `C_i` for one satellite as a bool mask (C,) or a list of UT indices; or, for
    several `i`, the schedule `delta (I, C)` whose rows `i` are used. gram: optional
    `similarity_gram(H)` (I, C, C) to reuse (then H is not read).
    Returns a float (int `i`) or (M,) array, dimensionless, in [0, |C_i|].
    """
    if gram is None:
        gram = similarity_gram(np.asarray(H)[np.atleast_1d(np.asarray(i, dtype=int))])
        rows = np.arange(np.atleast_1d(i).size)
    else:
        rows = np.atleast_1d(np.asarray(i, dtype=int))
    n_sat, n_ut = np.shape(H)[:2] if H is not None else gram.shape[:2]
    scalar = np.ndim(i) == 0
    idx = np.atleast_1d(np.asarray(i, dtype=int))
    served = np.asarray(served)
    if served.ndim == 2:
        if served.shape != (n_sat, n_ut):
            raise ValueError(
                f"served schedule must have shape (I, C) = {(n_sat, n_ut)}, got {served.shape}"
            )
        mask = served[idx].astype(bool)
    else:
        if served.dtype == bool:
            if served.shape != (n_ut,):
                raise ValueError(
                    f"served mask must have shape (C,) = ({n_ut},), got {served.shape}"
                )
            one = served
        else:
            one = np.zeros(n_ut, dtype=bool)
            one[served.astype(int)] = True
        mask = np.broadcast_to(one, (idx.size, n_ut))
    corr = gram[rows, c, :]  # (M, C)
    rho = np.where(mask, corr, 0.0).sum(axis=1)
    return float(rho[0]) if scalar else rho


def pinv_trace(X: np.ndarray) -> np.ndarray:
    """Trace of the Moore-Penrose pseudo-inverse of symmetric PSD matrices.

    X: (..., 3, 3). Returns (...): sum of 1/lambda over eigenvalues above
    `PINV_RTOL * lambda_max` (0 for the zero matrix).
    """
    lam = np.linalg.eigvalsh(np.asarray(X, dtype=float))
    top = lam[..., -1:]
    keep = lam > PINV_RTOL * np.maximum(top, TINY)
    return np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0).sum(axis=-1)


def geometry_gain(X: np.ndarray, a: np.ndarray, method: str = "exact") -> np.ndarray | float:
    """Geometry gain of adding direction difference(s) `a`, seed 002 eq. (28).

    `mu = tr((X + a a^T)^+) - tr(X^+)` with `X = sum_{i in I_c} a_i a_i^T` (3, 3); negative
    means the (unweighted) GDOP^2 falls. a: (3,) or (M, 3). Returns a float or (M,).

    method "exact" (default): eigen-decomposition of the updated 3x3 matrix.
    method "paper_fast": the paper's update (29)-(32), see `geometry_gain_paper_fast`
    (exact only when `a` lies along one eigenvector of X or orthogonal to its span).
    """
    X = np.asarray(X, dtype=float)
    a = np.asarray(a, dtype=float)
    if X.shape != (3, 3):
        raise ValueError(f"X must be 3x3, got shape {X.shape}")
    if a.shape[-1] != 3 or a.ndim > 2:
        raise ValueError(f"a must have shape (3,) or (M, 3), got {a.shape}")
    if method == "paper_fast":
        return geometry_gain_paper_fast(X, a)
    if method != "exact":
        raise ValueError(f"unknown geometry-gain method {method!r}; use 'exact' or 'paper_fast'")
    aa = np.atleast_2d(a)
    new = pinv_trace(X[None] + aa[:, :, None] * aa[:, None, :])
    mu = new - pinv_trace(X)
    return float(mu[0]) if a.ndim == 1 else mu


def geometry_gain_paper_fast(X: np.ndarray, a: np.ndarray) -> np.ndarray | float:
    """The paper's fast eigenvalue update of the geometry gain, seed 002 eqs. (29)-(32).

    With the non-zero eigenpairs `(lambda_r, b_r)` of X (rank R):
    (29) `l = a - sum_r (a^T b_r) b_r`; (30) rank grows iff `l != 0`;
    (31) `lambda~_r = lambda_r + (a^T b_r)^2`, `lambda~_{R+1} = ||l||^2`;
    (32) `mu = sum 1/lambda~ - sum 1/lambda`.
    It drops the cross terms `(a^T b_r)(a^T b_s)`, so it is exact only when `a` is along an
    eigenvector of X or orthogonal to its span [C, seed-math A.9]. X: (3,3); a: (3,) or (M,3).
    """
    X = np.asarray(X, dtype=float)
    a = np.asarray(a, dtype=float)
    aa = np.atleast_2d(a)
    lam, vec = np.linalg.eigh(X)
    keep = lam > PINV_RTOL * max(lam[-1], np.finfo(float).tiny)
    lam_r, b = lam[keep], vec[:, keep]  # (R,), (3, R)
    proj = aa @ b  # (M, R)
    resid = aa - proj @ b.T  # (M, 3)
    l2 = (resid**2).sum(axis=1)
    scale = np.maximum((aa**2).sum(axis=1), lam[-1] if lam.size else 0.0)
    grows = l2 > PINV_RTOL * np.maximum(scale, np.finfo(float).tiny)
    new = (1.0 / (lam_r[None, :] + proj**2)).sum(axis=1) + np.where(
        grows, 1.0 / np.where(grows, l2, 1.0), 0.0
    )
    mu = new - (1.0 / lam_r).sum()
    return float(mu[0]) if a.ndim == 1 else mu


# --------------------------------------------------------------------------- greedy engine


def _check_common(n_sat: int, n_ut: int, i_tdoa: int, max_beams: int, order) -> np.ndarray:
    if int(i_tdoa) != i_tdoa or i_tdoa < 1:
        raise ValueError(f"i_tdoa must be an integer >= 1, got {i_tdoa!r}")
    if int(max_beams) != max_beams or max_beams < 1:
        raise ValueError(f"max_beams (K) must be an integer >= 1, got {max_beams!r}")
    if i_tdoa > n_sat:
        raise ValueError(f"i_tdoa={i_tdoa} exceeds the {n_sat} visible satellites")
    capacity = n_sat * min(max_beams, n_ut)
    if capacity < n_ut * i_tdoa:
        raise ValueError(
            f"beam budget too small: {n_sat} satellites x {max_beams} beams = {n_sat * max_beams} "
            f"< {n_ut} UTs x {i_tdoa} satellites each = {n_ut * i_tdoa}"
        )
    if order is None:
        return np.arange(n_ut)
    order = np.asarray(order, dtype=int)
    if order.shape != (n_ut,) or not np.array_equal(np.sort(order), np.arange(n_ut)):
        raise ValueError(f"order must be a permutation of the {n_ut} UT indices")
    return order


def _completion_feasible(
    remaining: np.ndarray, n_future: int, i_tdoa: int, still_needed: int, excluded: np.ndarray
) -> bool:
    """Can the current UT take `still_needed` more satellites (not `excluded`) and the
    `n_future` later UTs `i_tdoa` each, given the remaining beams (I,)?

    Exact: later UTs may use any satellite, so by Gale-Ryser they fit iff
    `sum_i min(r_i, n_future) >= n_future i_tdoa`; the current UT's best move is to take
    the satellites with the most remaining beams.
    """
    avail = np.flatnonzero(~excluded & (remaining > 0))
    if avail.size < still_needed:
        return False
    r = remaining.copy()
    if still_needed:
        take = avail[np.argsort(-r[avail], kind="stable")[:still_needed]]
        r[take] -= 1
    return int(np.minimum(r, n_future).sum()) >= n_future * i_tdoa


def _allowed(cand: np.ndarray, remaining, n_future, i_tdoa, still_after, served_c) -> np.ndarray:
    """Candidates (sorted indices) whose choice keeps the rest of the schedule completable."""
    # Fast path: each pick lowers sum min(r, n) by at most 1.
    slack = int(np.minimum(remaining, n_future).sum()) - n_future * i_tdoa
    n_other = int((~served_c & (remaining > 0)).sum()) - 1
    if slack >= still_after + 1 and n_other >= still_after:
        return cand
    ok = np.zeros(cand.size, dtype=bool)
    for k, i in enumerate(cand):
        r = remaining.copy()
        r[i] -= 1
        excl = served_c.copy()
        excl[i] = True
        ok[k] = _completion_feasible(r, n_future, i_tdoa, still_after, excl)
    return cand[ok]


def _greedy(
    n_sat, n_ut, *, i_tdoa, max_beams, order, choose: Callable, budget_guard: bool = True
) -> np.ndarray:
    """Greedy engine: for each UT in `order`, add satellites one by one with
    `choose(c, candidates (M,) sorted int, delta) -> satellite index` until `i_tdoa`."""
    order = _check_common(n_sat, n_ut, i_tdoa, max_beams, order)
    delta = np.zeros((n_sat, n_ut), dtype=bool)
    remaining = np.full(n_sat, int(max_beams))
    for pos, c in enumerate(order):
        n_future = n_ut - pos - 1
        for step in range(i_tdoa):
            served_c = delta[:, c].copy()
            cand = np.flatnonzero(~served_c & (remaining > 0))
            if budget_guard:
                cand = _allowed(cand, remaining, n_future, i_tdoa, i_tdoa - step - 1, served_c)
            if cand.size == 0:  # cannot happen when the up-front budget check passed
                raise ValueError(
                    f"beam budget exhausted at UT {c}: no satellite with a free beam left"
                )
            i = int(choose(c, cand, delta))
            delta[i, c] = True
            remaining[i] -= 1
    return delta


def completable(delta: np.ndarray, remaining: np.ndarray, need: np.ndarray) -> bool:
    """Can every UT `c` still get `need[c]` more satellites, each at most once, none already
    serving it (`delta[i, c]`), within the satellites' remaining beams?

    Exact (a bipartite b-matching): the maximum flow source -> UT c (capacity need[c]) ->
    satellite i (capacity 1, only where `not delta[i, c]`) -> sink (capacity remaining[i])
    equals `sum(need)`; solved by `scipy.sparse.csgraph.maximum_flow`.
    delta (I, C) bool; remaining (I,) int >= 0; need (C,) int >= 0.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    d = np.asarray(delta, dtype=bool)
    rem = np.asarray(remaining, dtype=int)
    need = np.asarray(need, dtype=int)
    uts = np.flatnonzero(need > 0)
    sats = np.flatnonzero(rem > 0)
    total = int(need[uts].sum())
    if total == 0:
        return True
    if int(rem[sats].sum()) < total:
        return False
    n_u, n_s = uts.size, sats.size
    si, ui = np.nonzero(~d[np.ix_(sats, uts)])
    src = np.concatenate([np.zeros(n_u, int), 1 + ui, 1 + n_u + np.arange(n_s)])
    dst = np.concatenate([1 + np.arange(n_u), 1 + n_u + si, np.full(n_s, 1 + n_u + n_s)])
    cap = np.concatenate([need[uts], np.ones(si.size, int), rem[sats]]).astype(np.int32)
    n = n_u + n_s + 2
    graph = csr_matrix((cap, (src, dst)), shape=(n, n))
    return int(maximum_flow(graph, 0, n - 1).flow_value) == total


def _greedy_rounds(
    n_sat, n_ut, *, i_tdoa, max_beams, order, choose: Callable, budget_guard: bool = True
) -> np.ndarray:
    """Round-wise greedy engine (the default sweep, seed-math A.9 reading of Algorithm 2):
    `i_tdoa` rounds; in each round every UT in `order` adds one satellite,
    `choose(c, candidates (M,) sorted int, delta) -> satellite index`.

    Budget guard: the plain pass runs first; only if it strands a UT (no satellite with a
    free beam that is not already serving it) is the schedule rebuilt with an exact check
    (`completable`) before every pick, taking the best candidate that keeps the rest
    completable. So the guarded schedule equals the plain one whenever the plain one
    finishes (a rejected pick would have made completion impossible).
    """
    order = _check_common(n_sat, n_ut, i_tdoa, max_beams, order)

    def run(guard: bool) -> np.ndarray:
        delta = np.zeros((n_sat, n_ut), dtype=bool)
        remaining = np.full(n_sat, int(max_beams))
        need = np.full(n_ut, int(i_tdoa))
        for _ in range(i_tdoa):
            for c in order:
                cand = np.flatnonzero(~delta[:, c] & (remaining > 0))
                while True:
                    if cand.size == 0:
                        raise ValueError(
                            f"beam budget exhausted at UT {c}: no satellite with a free beam left"
                        )
                    i = int(choose(c, cand, delta))
                    if not guard:
                        break
                    delta[i, c] = True
                    remaining[i] -= 1
                    need[c] -= 1
                    ok = completable(delta, remaining, need)
                    delta[i, c] = False
                    remaining[i] += 1
                    need[c] += 1
                    if ok:
                        break
                    cand = cand[cand != i]
                delta[i, c] = True
                remaining[i] -= 1
                need[c] -= 1
        return delta

    try:
        return run(False)
    except ValueError:
        if not budget_guard:
            raise
    return run(True)


SWEEPS = ("rounds", "per_ut")


def _engine(sweep: str) -> Callable:
    if sweep == "rounds":
        return _greedy_rounds
    if sweep == "per_ut":
        return _greedy
    raise ValueError(f"unknown sweep {sweep!r}; use one of {', '.join(SWEEPS)}")


# --------------------------------------------------------------------------- schedulers


def hbs(
    H: np.ndarray,
    ut_pos: np.ndarray,
    sat_pos: np.ndarray,
    ref_pos: np.ndarray,
    *,
    i_tdoa: int,
    max_beams: int,
    m: int = 4,
    mu_method: str = "exact",
    order=None,
    budget_guard: bool = True,
    sweep: str = "rounds",
) -> np.ndarray:
    """Heuristic beam scheduling (HBS), seed 002 Algorithm 2 (seed-math A.9).

    In each of `i_tdoa` rounds (sweep "rounds", default) every UT c in cell-index order (or
    `order`) adds one satellite; with sweep "per_ut" each UT adds satellites while
    `|I_c| < i_tdoa` before the next UT. A pick: candidates are the satellites not in `I_c`
    with a free beam; `I*` = the `m` candidates with the smallest
    channel similarity (27) (ties: lower satellite index); choose `i* = argmin_{I*} mu` (28)
    [C: the paper's "argmax" would pick the worst geometry].

    H (I,C,N) complex; ut_pos (C,3), sat_pos (I,3), ref_pos (3,) ECEF m; m >= 1 (m >= I
    gives GDOP-greedy, m = 1 communication-oriented); mu_method "exact"|"paper_fast";
    sweep "rounds"|"per_ut"; budget_guard see the module docstring. Returns delta (I, C) bool.
    """
    H = np.asarray(H)
    n_sat, n_ut = H.shape[:2]
    if int(m) != m or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    a = difference_vectors(ut_pos, sat_pos, ref_pos)
    _check_shapes(H, a)

    gram = similarity_gram(H)

    if mu_method not in ("exact", "paper_fast"):
        geometry_gain(np.zeros((3, 3)), np.zeros(3), method=mu_method)  # raises

    def choose(c, cand, delta):
        # channel_similarity(H, c, cand, delta, gram=gram), without its checks
        rho = np.where(delta[cand], gram[cand, c, :], 0.0).sum(axis=1)
        short = np.sort(cand[np.argsort(rho, kind="stable")[:m]])
        rows = a[delta[:, c], c]
        X = rows.T @ rows
        if mu_method == "paper_fast":
            mu = geometry_gain(X, a[short, c], method=mu_method)
        else:  # geometry_gain "exact", both traces in one eigvalsh call (the same numbers)
            aa = a[short, c]
            tr = pinv_trace(np.concatenate([X[None], X[None] + aa[:, :, None] * aa[:, None, :]]))
            mu = tr[1:] - tr[0]
        return short[int(np.argmin(mu))]

    return _engine(sweep)(
        n_sat,
        n_ut,
        i_tdoa=i_tdoa,
        max_beams=max_beams,
        order=order,
        choose=choose,
        budget_guard=budget_guard,
    )


def gdop_greedy(
    ut_pos: np.ndarray,
    sat_pos: np.ndarray,
    ref_pos: np.ndarray,
    *,
    i_tdoa: int,
    max_beams: int,
    order=None,
    budget_guard: bool = True,
    sweep: str = "rounds",
) -> np.ndarray:
    """GDOP-greedy scheduling (seed-math A.10): add the satellite minimising GDOP (36) of the
    UT's set so far (`twin.pnt.crlb.gdop`, pseudo-inverse while rank < 3). Positions ECEF
    metres; returns delta (I, C) bool."""
    ut_pos = np.asarray(ut_pos, dtype=float)
    sat_pos = np.asarray(sat_pos, dtype=float)
    n_sat, n_ut = sat_pos.shape[0], ut_pos.shape[0]

    def choose(c, cand, delta):
        chosen = sat_pos[delta[:, c]]  # (L0, 3)
        trial = np.concatenate(
            [np.broadcast_to(chosen, (cand.size,) + chosen.shape), sat_pos[cand][:, None, :]],
            axis=1,
        )
        g = gdop(np.broadcast_to(ut_pos[c], (cand.size, 3)), trial, ref_pos)
        return cand[int(np.argmin(g))]

    return _engine(sweep)(
        n_sat,
        n_ut,
        i_tdoa=i_tdoa,
        max_beams=max_beams,
        order=order,
        choose=choose,
        budget_guard=budget_guard,
    )


def comm_oriented(
    H: np.ndarray,
    *,
    i_tdoa: int,
    max_beams: int,
    order=None,
    budget_guard: bool = True,
    sweep: str = "rounds",
) -> np.ndarray:
    """Communication-oriented scheduling (seed-math A.10): add the satellite with the smallest
    channel similarity (27) (ties: lower index). Equals HBS with m = 1. H (I,C,N)."""
    H = np.asarray(H)
    n_sat, n_ut = H.shape[:2]

    gram = similarity_gram(H)

    def choose(c, cand, delta):
        return cand[int(np.argmin(channel_similarity(H, c, cand, delta, gram=gram)))]

    return _engine(sweep)(
        n_sat,
        n_ut,
        i_tdoa=i_tdoa,
        max_beams=max_beams,
        order=order,
        choose=choose,
        budget_guard=budget_guard,
    )


def parallax_costs(ut: np.ndarray, sats: np.ndarray) -> np.ndarray:
    """Parallax matrix of one UT, seed 002 eq. (37): `P[i, j] = e_i^T e_j` with
    `e_i = (s_i - s_c)/||s_i - s_c||`. ut (3,), sats (M,3) ECEF m. Returns (M, M)."""
    e = np.asarray(sats, dtype=float) - np.asarray(ut, dtype=float)[None, :]
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return e @ e.T


def parallax(
    ut_pos: np.ndarray,
    sat_pos: np.ndarray,
    *,
    i_tdoa: int,
    max_beams: int,
    order=None,
    budget_guard: bool = True,
) -> np.ndarray:
    """Parallax-based scheduling (seed-math A.10, eq. (37)).

    For each UT, over the satellites with a free beam: cost `J_i = sum_j P[i, j]`; delete the
    satellite with the largest `J` (its row and column) until `i_tdoa` remain. [D] A deletion
    that would leave the remaining UTs unservable (beam budget) is skipped in favour of the
    next-largest `J`. Returns delta (I, C) bool.
    """
    ut_pos = np.asarray(ut_pos, dtype=float)
    sat_pos = np.asarray(sat_pos, dtype=float)
    n_sat, n_ut = sat_pos.shape[0], ut_pos.shape[0]
    order = _check_common(n_sat, n_ut, i_tdoa, max_beams, order)
    delta = np.zeros((n_sat, n_ut), dtype=bool)
    remaining = np.full(n_sat, int(max_beams))
    for pos, c in enumerate(order):
        n_future = n_ut - pos - 1
        keep = np.flatnonzero(remaining > 0)
        if keep.size < i_tdoa:  # only reachable with budget_guard=False
            raise ValueError(
                f"beam budget exhausted at UT {c}: {keep.size} satellites with a free beam < i_tdoa={i_tdoa}"
            )
        P = parallax_costs(ut_pos[c], sat_pos[keep])
        while keep.size > i_tdoa:
            J = P.sum(axis=1)
            for k in np.argsort(-J, kind="stable"):
                trial = np.delete(keep, k)
                if not budget_guard or _set_feasible(trial, remaining, n_future, i_tdoa):
                    break
            else:
                raise ValueError(f"beam budget exhausted at UT {c}")
            keep = np.delete(keep, k)
            P = np.delete(np.delete(P, k, axis=0), k, axis=1)
        delta[keep, c] = True
        remaining[keep] -= 1
    return delta


def _set_feasible(superset: np.ndarray, remaining, n_future, i_tdoa) -> bool:
    """Can the current UT still pick `i_tdoa` satellites inside `superset` such that the later
    UTs fit? Best pick: the `i_tdoa` satellites with the most remaining beams."""
    if superset.size < i_tdoa:
        return False
    r = remaining.copy()
    take = superset[np.argsort(-r[superset], kind="stable")[:i_tdoa]]
    r[take] -= 1
    return int(np.minimum(r, n_future).sum()) >= n_future * i_tdoa


def _check_shapes(H, a):
    if H.ndim != 3 or H.shape[:2] != a.shape[:2]:
        raise ValueError(
            f"H must have shape (I, C, N) with I, C = {a.shape[:2]} from the positions, got {H.shape}"
        )


def schedule(
    method: str,
    H: np.ndarray,
    ut_pos: np.ndarray,
    sat_pos: np.ndarray,
    ref_pos: np.ndarray,
    *,
    i_tdoa: int,
    max_beams: int,
    m: int = 4,
    mu_method: str = "exact",
    order=None,
    budget_guard: bool = True,
    sweep: str = "rounds",
) -> np.ndarray:
    """Dispatch to a scheduler by name: "hbs" (with `m`), "gdop", "comm", "parallax".

    H (I,C,N); ut_pos (C,3); sat_pos (I,3); ref_pos (3,) ECEF m; sweep "rounds" (default) or
    "per_ut" for the greedy schedulers (parallax always works UT by UT). Returns delta (I,C) bool.
    """
    if method == "hbs":
        return hbs(
            H,
            ut_pos,
            sat_pos,
            ref_pos,
            i_tdoa=i_tdoa,
            max_beams=max_beams,
            m=m,
            mu_method=mu_method,
            order=order,
            budget_guard=budget_guard,
            sweep=sweep,
        )
    if method == "gdop":
        return gdop_greedy(
            ut_pos,
            sat_pos,
            ref_pos,
            i_tdoa=i_tdoa,
            max_beams=max_beams,
            order=order,
            budget_guard=budget_guard,
            sweep=sweep,
        )
    if method == "comm":
        return comm_oriented(
            H,
            i_tdoa=i_tdoa,
            max_beams=max_beams,
            order=order,
            budget_guard=budget_guard,
            sweep=sweep,
        )
    if method == "parallax":
        return parallax(
            ut_pos,
            sat_pos,
            i_tdoa=i_tdoa,
            max_beams=max_beams,
            order=order,
            budget_guard=budget_guard,
        )
    raise ValueError(f"unknown scheduler {method!r}; use one of {', '.join(SCHEDULERS)}")
