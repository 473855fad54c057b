"""The cvxpy semidefinite relaxation of seed 000 (33), eqs. (34)-(41) (seed-math B.6): the
normalised SDP maps, the compiled model every cvxpy design path re-solves, the solver choice, and
the SDR lower bound, the paper-faithful reference of the fast path.

* :func:`sdr_lower_bound` - the semidefinite relaxation of (33) (no rank constraint). Its optimum
  is a LOWER bound on the CRB of every feasible design (the fast path's certificate);
  :func:`sdr_violation` checks a solver's point against (33b)-(33c).
* :class:`Sdp` (normalised linear maps in each satellite's signal subspace) and :class:`Model`
  (one compiled DPP problem of the design family) are shared with Algorithm 2
  (:mod:`twin.isac.design.algorithm2`) and the baselines (:mod:`twin.isac.design.baselines`), as are
  :func:`failure` and :data:`OK`.
* Problem and result types: :mod:`twin.isac.design.problem`; rank-one extraction:
  :mod:`twin.isac.design.rank_one`.

Conventions (see :mod:`twin.isac.physics.channel` and :mod:`twin.isac.physics.model`):

* Stacked vectors are satellite-major, length NK. ``H`` (M, NK): row i is h~_i; UE i receives
  y_i = h~_i^H x, so H_i = h~_i h~_i^H and tr(W_m H_i) = h~_i^H W_m h~_i.
* ``W`` (NK, M) holds the beams w~_m as columns, W_m = w~_m w~_m^H; ``R`` (NK, NK) is the sensing
  covariance (r~ r~^H when rank one); R_x = sum_m W_m + R. Powers in W.
* Numerics (seed-math B.6 [D]): inside every SDP the matrices are divided by
  s = max_k P_k^max, the UE noise is 1 (channels divided by sigma_i), the 4 x 4 FIM of (34) is
  congruence-scaled so its diagonal at the isotropic full-power design is 1, and the CRB objective
  is divided by the CRB of that isotropic design. None of this changes the optimum.
* Infeasibility is data: when rate targets cannot be met or the solver fails, the functions
  return the stand-in design :func:`twin.isac.physics.transmit.matched_filter_isotropic` with
  ``status = "fallback:matched_filter_isotropic"`` and ``cause`` = "infeasible" | "solver_error".
"""

from __future__ import annotations

import time
import warnings

import cvxpy as cp
import numpy as np

from twin.isac.design.problem import (
    DesignProblem,
    DesignResult,
    crb_rx,
    evaluate_design,
    fallback_design,
    sinr_targets,
)
from twin.isac.design.rank_one import extract_47, principal, psd_part, rank_one_beams, rank_residual
from twin.isac.physics.crb import angle_jacobian, fim_operators
from twin.isac.physics.model import angles, steering_derivatives

__all__ = [
    "OK",
    "Sdp",
    "Model",
    "choose_solver",
    "scs_eps",
    "subspace_dim",
    "cpu_seconds",
    "failure",
    "sdr_lower_bound",
    "sdr_violation",
    "SDR_FEASIBILITY_TOL",
]

#: cvxpy statuses accepted as a solution
OK = ("optimal", "optimal_inaccurate")
_INFEASIBLE = ("infeasible", "infeasible_inaccurate")


def subspace_dim(problem: DesignProblem) -> int:
    """Upper bound sum_k min(N, 3 + M) on the reduced SDP dimension d of :class:`Sdp` (the SDP
    matrices are d x d instead of NK x NK)."""
    return problem.K * min(problem.N, 3 + problem.M)


def choose_solver(problem: DesignProblem, solver: str = "auto") -> str:
    """ "CLARABEL" for small SDPs (reduced dimension :func:`subspace_dim` d <= 20, e.g. 2x2 arrays
    with K <= 5, or 3x3 arrays with K = 3 and M = 2), else "SCS"; explicit names pass through.
    Clarabel (interior point) is ~1e-8 accurate and fast on small problems, but its dense PSD-cone
    KKT blocks grow like (d^2)^2: at d = 27 (3x3, K = 3, M = 2, before the subspace reduction) one
    SDR took 33 s CPU, and at Table II size (NK = 80, M = 10) it ran out of memory. SCS (first
    order) scales: at Table II size (d = 65) one SDR took 40-76 s CPU at the default eps 1e-6 on
    three geometries and landed inside the fast design's certified bracket (docs/isac-design.md,
    "Solver choice"); its tolerance is :func:`scs_eps`."""
    s = solver.upper()
    if s != "AUTO":
        if s not in ("SCS", "CLARABEL"):
            raise ValueError(f"solver must be 'auto', 'SCS' or 'CLARABEL', got {solver!r}")
        return s
    return "CLARABEL" if subspace_dim(problem) <= 20 else "SCS"


#: SCS tolerance (eps_abs = eps_rel), see :func:`scs_eps` and docs/isac-design.md ("Solver choice")
SCS_EPS = 1e-6


def scs_eps(problem: DesignProblem) -> float:
    """Default SCS eps_abs = eps_rel for ``problem``: SCS_EPS = 1e-6 at every size. Measured at
    Table II size (d = 65) on paper_problem("II") and two random geometries: eps 1e-4 / 1e-5 / 1e-6
    took 625-1275 / 700-1375 / 800-1475 SCS iterations (34-68 / 37-75 / 40-76 s CPU); every bound
    lay inside the fast design's certified bracket, but the largest constraint violation
    (:func:`sdr_violation`) was up to 1.4e-2 / 1.7e-3 / 1.6e-4: 1e-6 costs 10-30 % more and is the
    only tolerance whose design met the SINR targets to 2e-4 (docs/isac-design.md)."""
    return SCS_EPS


_CPU_SECONDS = [0.0]  # process CPU seconds spent in solves (this process), see cpu_seconds()


def cpu_seconds() -> float:
    """Process CPU time (s) spent in cvxpy solves so far: the load-independent cost measure
    (wall times on a shared machine can be several times larger)."""
    return _CPU_SECONDS[0]


def _solve(prob: cp.Problem, solver: str, solver_opts: dict | None) -> tuple[str, float]:
    """Solve; returns (cvxpy status or "solver_error", seconds)."""
    opts = dict(solver_opts or {})
    if solver == "SCS":
        opts.setdefault("eps_abs", SCS_EPS)
        opts.setdefault("eps_rel", SCS_EPS)
        opts.setdefault("max_iters", 50_000)
        opts.setdefault(
            "warm_start", True
        )  # re-solves of one model (Algorithm 2, bisection) start from the last
    t0 = time.perf_counter()
    c0 = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(solver=solver, **opts)
        status = prob.status
    except (cp.error.SolverError, MemoryError) as exc:
        status = f"solver_error: {type(exc).__name__}: {exc}"[:300]
    _CPU_SECONDS[0] += time.process_time() - c0
    return status, time.perf_counter() - t0


class Sdp:
    """Normalised linear maps of (33) in each satellite's signal subspace: FIM blocks (35)-(37),
    powers (38), rate terms (39).

    Exact subspace reduction (issue 5 lever (b)): the FIM sees R_x only through E^H R_x E,
    E = blockdiag([a_k, da_k/dtheta, da_k/dphi]) (see :class:`twin.isac.design.operators.FastOperators`),
    and the rates only through h~_i^H W_m h~_i. So with B_k (N, d_k) an orthonormal basis of
    S_k = span{a_k, da_k/dtheta, da_k/dphi, h_{1,k} .. h_{M,k}} (d_k <= min(N, 3 + M)) and
    B = blockdiag(B_k) (NK, d), projecting any matrix X -> B B^H X B B^H keeps every FIM entry and
    every rate term and does not raise any satellite's power (tr of a compressed PSD block): every
    optimum of the relaxation lies in the subspace, and the SDP variables are d x d matrices V with
    X = B V B^H. ``subspace=False`` uses B = I (d = NK), for comparisons.

    Variables are X = (matrix in W) / s with s = max P^max. ``self.A`` (16, d^2) complex: the
    4 x 4 matrix G(V) = Re(A vec_F(V)) equals S [[J^T F_OO J, J^T F_Oa], [., F_aa]] S at
    R_x = s B V B^H, S = diag(self.d) the congruence scaling that gives G(reference) a unit diagonal.
    """

    def __init__(self, problem: DesignProblem, *, subspace: bool = True):
        p = problem
        self.p = p
        K, N, NK = p.K, p.N, p.NK
        self.s = float(np.max(p.p_max_w))
        D0, Ds = fim_operators(
            p.sat_pos, p.target, p.beta, nx=p.nx, nz=p.nz, spacing_wl=p.spacing_wl, frames=p.frames
        )
        J = angle_jacobian(p.sat_pos, p.target, p.frames)  # (2K, 3)
        T = np.zeros((2 * K + 1, 4))
        T[1:, :3] = p.alpha * J
        T[0, 3] = 1.0
        E = np.einsum("ia,inm->anm", T, np.concatenate([D0[None], Ds]))  # (4, NK, NK)
        C = np.einsum("anm,bnl->abml", E.conj(), E)  # C_ab = E_a^H E_b (4, 4, NK, NK)
        coef = 2.0 * p.snapshots / p.sensing_noise_w * self.s
        Gref = coef * np.real(np.einsum("abnm,mn->ab", C, self._reference(p)))
        dg = np.diag(Gref)
        if np.any(dg <= 0):
            raise ValueError(
                "the isotropic design gives no Fisher information about the target "
                "(beta = 0, or a 1 x 1 array, whose steering vector does not depend on the angles)"
            )
        self.d = 1.0 / np.sqrt(dg)
        self.Cs = (
            coef * C * np.outer(self.d, self.d)[:, :, None, None]
        )  # full-space scaled FIM operators
        self.B, self.sat_of = (
            self._basis(p) if subspace else (np.eye(NK, dtype=complex), np.repeat(np.arange(K), N))
        )
        self.dim = self.B.shape[1]
        Cb = np.einsum(
            "nr,abnm,ms->abrs", self.B.conj(), self.Cs, self.B
        )  # B^H C_ab B (4, 4, d, d)
        # tr(C V) = sum_ij C_ji V_ij and vec_F(V)[i + j d] = V_ij, so the row is C.ravel(order="C")
        self.A = Cb.reshape(16, self.dim**2)
        Gref_s = Gref * np.outer(self.d, self.d)
        Fp = Gref_s[:3, :3] - np.outer(Gref_s[:3, 3], Gref_s[:3, 3]) / Gref_s[3, 3]
        self.obj_ref = float(
            np.sum(self.d[:3] ** 2 * np.diag(np.linalg.inv(Fp)))
        )  # m^2, reference CRB
        # channels normalised by the UE noise: g_i = h_i sqrt(s / sigma_i^2), so noise nu_i = 1 and
        # tr(X G_i) is the SNR; every rate row is O(SINR target) at the optimum (first-order
        # solvers check residuals against the largest row, so no row may be tiny or huge)
        self.G = p.H * np.sqrt(self.s / p.comm_noise)[:, None]  # (M, NK) full space
        self.Gb = self.G @ self.B.conj()  # (M, d): rows (B^H g_i)^T, so g_i^H B V B^H g_i = quad(V)
        self.nu = np.ones(p.M)
        self.pk = p.p_max_w / self.s
        self.sel = np.kron(np.eye(K), np.ones((1, N)))  # (K, NK) full space
        self.sel_b = (self.sat_of[None, :] == np.arange(K)[:, None]).astype(float)  # (K, d)

    @staticmethod
    def _basis(p: DesignProblem, rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
        """B (NK, d) block-diagonal with orthonormal columns spanning each S_k, and sat_of (d,) the
        satellite of each column (SVD of [a_k, da_k/dtheta, da_k/dphi, h_{1,k} .. h_{M,k}])."""
        theta, phi = angles(p.sat_pos, p.target, p.frames)
        vecs = np.stack(
            steering_derivatives(theta, phi, p.nx, p.nz, p.spacing_wl), axis=1
        )  # (K, 3, N)
        Hk = p.H.reshape(p.M, p.K, p.N).transpose(1, 0, 2)  # (K, M, N)
        cols, owner = [], []
        for k in range(p.K):
            U, sv, _ = np.linalg.svd(
                np.concatenate([vecs[k], Hk[k]]).T, full_matrices=False
            )  # (N, 3 + M)
            r = int(np.count_nonzero(sv > rtol * sv[0]))
            blk = np.zeros((p.NK, r), dtype=complex)
            blk[k * p.N : (k + 1) * p.N] = (
                U[:, :r] if r < p.N else np.eye(p.N)
            )  # whole space: keep the axes
            cols.append(blk)
            owner.append(np.full(r, k))
        return np.concatenate(cols, axis=1), np.concatenate(owner)

    @staticmethod
    def _reference(p: DesignProblem) -> np.ndarray:
        """Normalised reference covariance for the scaling: each satellite spends P_k/s in equal
        thirds on the unit directions of a, da/dtheta, da/dphi towards the target (the span an
        optimal sensing covariance lives in), so the scaled FIM is O(1) near the optimum.
        (An isotropic reference left SCS residuals 10x the power limit at Table II size.)"""
        theta, phi = angles(p.sat_pos, p.target, p.frames)
        vecs = np.stack(
            steering_derivatives(theta, phi, p.nx, p.nz, p.spacing_wl), axis=1
        )  # (K, 3, N)
        norms = np.linalg.norm(vecs, axis=2, keepdims=True)
        u = np.where(norms > 0, vecs / np.where(norms > 0, norms, 1.0), 0.0)
        w = (
            p.p_max_w
            / np.max(p.p_max_w)
            / np.maximum(np.count_nonzero(norms[..., 0] > 0, axis=1), 1)
        )
        blocks = np.einsum("k,ktn,ktm->knm", w, u, u.conj())
        X = np.zeros((p.NK, p.NK), dtype=complex)
        for k in range(p.K):
            X[k * p.N : (k + 1) * p.N, k * p.N : (k + 1) * p.N] = blocks[k]
        return X

    # -- affine maps in the reduced coordinates (V: d x d cvxpy expressions) --------------------
    def fim_vec(self, V) -> cp.Expression:
        """(16,) real: the scaled 4 x 4 FIM of (34) of X = B V B^H, row-major."""
        return cp.real(self.A @ cp.vec(V, order="F"))

    def fim_rank_one(self, U) -> np.ndarray:
        """(16, m) real: the scaled FIM of each u u^H, U (NK, m) full-space directions (exact for any
        direction, inside the subspace or not)."""
        NK = self.p.NK
        return np.real(np.einsum("nb,xnm,mb->xb", U.conj(), self.Cs.reshape(16, NK, NK), U))

    def fim_isotropic(self) -> np.ndarray:
        """(16, K) real: the scaled FIM of blockdiag(I_N on satellite k only), for each k."""
        NK = self.p.NK
        diag = np.real(np.einsum("xnn->xn", self.Cs.reshape(16, NK, NK)))  # (16, NK)
        return diag @ self.sel.T

    def epigraph(self, fim16, form: str = "schur"):
        """(34) for the (16,) scaled FIM expression: returns (constraints, objective) with U the
        3 x 3 scaled FIM lower bound and objective = tr(D U^{-1} D) / obj_ref = tr CRB (m^2) /
        obj_ref. ``form`` "schur" (used with SCS): tr Z with [[U, D'], [D', Z]] >= 0,
        D' = D / sqrt(obj_ref) (entries O(1)); "tr_inv" (used with Clarabel): the first version,
        cvxpy's tr_inv(D^{-1} U D^{-1}) / obj_ref, which puts entries 1/d_j^2 up to ~4e4 and a
        factor 1/obj_ref ~ 2e3 into the conic data. At Table II size SCS's initial residual is 13
        on the Schur form against 2.8e6, and after 200 iterations 2.2e-3 / 1.7e-4 (primal / dual)
        against 1.4 / 4.8e-3 (tr_inv(D'^{-1} U D'^{-1}): 5.1e-3 / 4.4e-3). Clarabel, on the small
        test instance, stops at "optimal_inaccurate" (SINR errors up to 1e-3) or fails at high
        rate targets on the Schur and D' forms, and reaches "optimal" on the first version."""
        U = cp.Variable((3, 3), symmetric=True)
        Fm = cp.reshape(fim16, (4, 4), order="C")
        F = 0.5 * (Fm + Fm.T)
        lmi = cp.bmat([[F[:3, :3] - U, F[:3, 3:]], [F[3:, :3], F[3:, 3:]]])
        Dp = np.diag(self.d[:3] / np.sqrt(self.obj_ref))
        if form == "tr_inv":
            Dinv = np.diag(1.0 / self.d[:3])
            return [lmi >> 0], cp.tr_inv(Dinv @ U @ Dinv) / self.obj_ref
        if form != "schur":
            raise ValueError(f"epigraph form must be 'schur' or 'tr_inv', got {form!r}")
        Z = cp.Variable((3, 3), symmetric=True)
        schur = cp.bmat([[U, Dp], [Dp, Z]])  # Z >= D' U^{-1} D'  (U > 0)
        return [lmi >> 0, schur >> 0], cp.trace(Z)

    def quad(self, V) -> cp.Expression:
        """(M,) vector g_i^H X g_i (normalised tr(X H_i)) of X = B V B^H."""
        return cp.real(cp.sum(cp.multiply(self.Gb.conj() @ V, self.Gb), axis=1))

    def quad_np(self, X) -> np.ndarray:
        """(M,) g_i^H X g_i of a full-space (NK, NK) numpy matrix."""
        return np.real(np.einsum("in,nm,im->i", self.G.conj(), X, self.G))

    def power(self, V) -> cp.Expression:
        """(K,) per-satellite power (38) of X = B V B^H (orthonormal B: tr of the satellite's block of V)."""
        return self.sel_b @ cp.real(cp.diag(V))

    def hermitian_vars(self, n: int) -> list:
        return [cp.Variable((self.dim, self.dim), hermitian=True) for _ in range(n)]

    def to_full(self, V) -> np.ndarray:
        """B V B^H (NK, NK) of a reduced (d, d) numpy matrix (or (n, d, d) stack)."""
        return np.matmul(np.matmul(self.B, V), self.B.conj().T)

    def to_reduced(self, X) -> np.ndarray:
        """B^H X B (d, d) of a full-space matrix (or stack)."""
        return np.matmul(np.matmul(self.B.conj().T, X), self.B)

    def crb_rx(self, Rx_norm) -> float:
        """sqrt(tr CRB) (m) of a normalised full-space covariance."""
        return crb_rx(self.p, Rx_norm * self.s)


class Model:
    """One compiled (DPP) SDP of the design family in the reduced coordinates of :class:`Sdp`,
    re-solved with new parameter values.

    beams: "psd" (Hermitian V_m, W_m = B V_m B^H, m = 1..M) or "fixed" (W_m = p_m u_m u_m^H,
    directions U (NK, M) given); sensing: "psd" (Hermitian Y, R = B Y B^H) | "isotropic"
    (R = blockdiag(t_k I_N)) | None; fim_from: "Rx" | "R" (non-assisted) | None (no FIM); rate:
    "linear" (parameter gamma (M,)) | "sca" (parameters of the first-order expansion (40)) | None;
    penalty: adds the (46) terms with parameter matrices rho (I - v v^H)^* (v = B^H v_full) for every
    V_m (and Y when ``penalize_sensing``); objective: "crb" (+ penalty) | "sensing_power" (maximise
    isotropic sensing power: the start); solver: the solver it will be solved with ("auto" as in
    :func:`choose_solver`), which picks the epigraph form of :meth:`Sdp.epigraph` and aux_total
    (None: True for SCS, False for Clarabel).

    Lean form (SCS): with PSD beams the total T = sum_m V_m + Y is an auxiliary Hermitian variable, so
    the 16 dense FIM rows and the M interference rows touch T only, and UE i's linear rate row
    (1 + gamma_i) g_i^H V_i g_i >= gamma_i (g_i^H T g_i + 1) touches V_i and T (the interference
    sum_{m != i} + sensing is g_i^H (T - V_i) g_i). With Clarabel the sums are written out: the
    equality T = sum V_m + Y made it stop at "optimal_inaccurate" (SINR errors ~1e-4..1e-3) or fail
    on the small test instance at high rate targets.
    """

    def __init__(
        self,
        sdp: Sdp,
        *,
        beams="psd",
        directions=None,
        sensing="psd",
        fim_from="Rx",
        rate="linear",
        penalty=False,
        penalize_sensing=True,
        objective="crb",
        aux_total=None,
        solver="auto",
    ):
        self.sdp = sdp
        p = sdp.p
        clarabel = choose_solver(p, solver) == "CLARABEL"
        if aux_total is None:
            aux_total = not clarabel
        M = p.M
        self.beams, self.sensing, self.rate, self.fim_from = beams, sensing, rate, fim_from
        cons = []
        # sensing
        self.Y = self.t = None
        fim_R = None
        if sensing == "psd":
            (self.Y,) = sdp.hermitian_vars(1)
            cons.append(self.Y >> 0)
            fim_R = sdp.fim_vec(self.Y)
            qY, powY = None, sdp.power(self.Y)
        elif sensing == "isotropic":
            self.t = cp.Variable(p.K, nonneg=True)
            qY = (np.abs(sdp.G) ** 2) @ (sdp.sel.T @ self.t)
            powY = p.N * self.t
            fim_R = sdp.fim_isotropic() @ self.t
        elif sensing is None:
            qY, powY = None, 0
        else:
            raise ValueError(f"sensing must be 'psd', 'isotropic' or None, got {sensing!r}")
        # beams
        fim_W = None
        if beams == "psd":
            self.Xs = sdp.hermitian_vars(M)
            cons += [X >> 0 for X in self.Xs]
            useful = cp.hstack(
                [cp.real(sdp.Gb[m].conj() @ X @ sdp.Gb[m]) for m, X in enumerate(self.Xs)]
            )
            tot_parts = self.Xs + ([self.Y] if self.Y is not None else [])
            if aux_total:
                self.T = cp.Variable((sdp.dim, sdp.dim), hermitian=True)
                cons.append(self.T == sum(tot_parts[1:], tot_parts[0]))
                Tsum = self.T
            else:
                self.T = None
                Tsum = sum(tot_parts[1:], tot_parts[0])
            # Tsum holds Y when sensing is "psd"; isotropic sensing is added explicitly
            total = sdp.quad(Tsum) + (qY if qY is not None else 0)
            power = sdp.power(Tsum) + (powY if self.Y is None else 0)
            fim_W = sdp.fim_vec(Tsum)
        elif beams == "fixed":
            U = np.asarray(directions, dtype=complex)
            self.U = U
            self.pw = cp.Variable(M, nonneg=True)
            gain = np.abs(sdp.G.conj() @ U) ** 2  # [i, m] = |g_i^H u_m|^2
            useful = cp.multiply(np.diag(gain), self.pw)
            total = gain @ self.pw + (
                sdp.quad(self.Y) if self.Y is not None else (qY if qY is not None else 0)
            )
            power = sdp.sel @ ((np.abs(U) ** 2) @ self.pw) + powY
            fim_W = sdp.fim_rank_one(U) @ self.pw
        elif beams is None:
            if rate is not None:
                raise ValueError("rate constraints need beams")
            useful = total = None
            power = powY
        else:
            raise ValueError(f"beams must be 'psd', 'fixed' or None, got {beams!r}")
        cons.append(power <= sdp.pk)  # (38)
        # rates (39)
        self.params = {}
        if rate is not None:
            if rate == "linear":
                gam = cp.Parameter(M, nonneg=True)
                self.params["gamma"] = gam
                cons.append(cp.multiply(1.0 + gam, useful) >= cp.multiply(gam, total + sdp.nu))
            elif rate == "sca":
                eta_ln2 = cp.Parameter(M)
                inv_i0 = cp.Parameter(M, nonneg=True)
                log_i0 = cp.Parameter(M)
                self.params.update(eta_ln2=eta_ln2, inv_i0=inv_i0, log_i0_m1=log_i0)
                interf = total - useful + sdp.nu
                # (41): ln(total) >= eta ln 2 + ln I0 + (I - I0) / I0, natural-log form of (39)-(41)
                cons.append(
                    cp.log(total + sdp.nu) >= eta_ln2 + log_i0 + cp.multiply(inv_i0, interf)
                )
            else:
                raise ValueError(f"rate_form must be 'linear' or 'sca', got {rate!r}")
        # objective
        self.obj_crb = None
        if fim_from is not None:
            if fim_from == "Rx":
                if beams == "psd" and self.Y is not None:
                    fim = fim_W  # T already holds sum V_m + Y
                else:
                    parts = [f for f in (fim_W, fim_R) if f is not None]
                    if not parts:
                        raise ValueError("no transmit signal to sense with")
                    fim = sum(parts[1:], parts[0])
            elif fim_from == "R":
                if self.Y is None:
                    raise ValueError("fim_from='R' needs a PSD sensing covariance")
                fim = fim_R
            else:
                raise ValueError(f"fim_from must be 'Rx' or 'R', got {fim_from!r}")
            form = "tr_inv" if clarabel else "schur"
            c2, self.obj_crb = sdp.epigraph(fim, form)
            cons += c2
        if objective == "crb":
            obj = self.obj_crb
            if penalty:
                d = sdp.dim
                self.Pm = [cp.Parameter((d, d), complex=True) for _ in range(M)]
                pen = sum(cp.real(cp.sum(cp.multiply(P, X))) for P, X in zip(self.Pm, self.Xs))
                if penalize_sensing and self.Y is not None:
                    self.PR = cp.Parameter((d, d), complex=True)
                    pen = pen + cp.real(cp.sum(cp.multiply(self.PR, self.Y)))
                else:
                    self.PR = None
                obj = obj + pen
            prob_obj = cp.Minimize(obj)
        elif objective == "sensing_power":
            prob_obj = cp.Maximize(cp.sum(self.t))
        else:
            raise ValueError(f"unknown objective {objective!r}")
        self.prob = cp.Problem(prob_obj, cons)

    # -- parameter setters -----------------------------------------------------------------
    def set_gamma(self, gamma):
        self.params["gamma"].value = np.broadcast_to(
            np.asarray(gamma, dtype=float), (self.sdp.p.M,)
        ).copy()

    def set_sca(self, eta, Xs_prev, Y_prev):
        """(40) at the previous full-space iterate (normalised) Xs_prev (M, NK, NK), Y_prev (NK, NK)."""
        sdp = self.sdp
        Tp = np.array([sdp.quad_np(X) for X in Xs_prev])
        i0 = (
            Tp.sum(axis=0)
            - np.diag(Tp)
            + (sdp.quad_np(Y_prev) if Y_prev is not None else 0)
            + sdp.nu
        )
        self.params["eta_ln2"].value = np.log(2.0) * np.broadcast_to(
            np.asarray(eta, float), (sdp.p.M,)
        )
        self.params["inv_i0"].value = 1.0 / i0
        self.params["log_i0_m1"].value = np.log(i0) - 1.0

    def set_penalty(self, rho, Xs_prev, Y_prev):
        """(44)-(46) weights rho (I - v v^H)^* restricted to the subspace (v -> B^H v), v the
        principal eigenvector of each previous full-space iterate (normalised)."""
        sdp = self.sdp
        eye = np.eye(sdp.dim)
        for P, X in zip(self.Pm, Xs_prev):
            _, v = principal(X)
            vb = sdp.B.conj().T @ v
            P.value = rho * np.conj(eye - np.outer(vb, vb.conj()))
        if self.PR is not None:
            _, v = principal(Y_prev)
            vb = sdp.B.conj().T @ v
            self.PR.value = rho * np.conj(eye - np.outer(vb, vb.conj()))

    def solve(self, solver, solver_opts=None) -> tuple[str, float]:
        """Solve (cvxpy status, wall seconds); sets last_cpu_s and last_iterations."""
        c0 = time.process_time()
        opts = dict(solver_opts or {})
        if solver == "SCS":
            eps = scs_eps(self.sdp.p)
            opts.setdefault("eps_abs", eps)
            opts.setdefault("eps_rel", eps)
        out = _solve(self.prob, solver, opts)
        self.last_cpu_s = time.process_time() - c0
        stats = self.prob.solver_stats
        self.last_iterations = (
            int(stats.num_iters) if stats is not None and stats.num_iters is not None else -1
        )
        return out

    # -- values (normalised, full space) ------------------------------------------------------
    def beam_mats(self) -> np.ndarray:
        """(M, NK, NK) normalised beam covariances W_m / s."""
        if self.beams is None:
            return np.zeros((self.sdp.p.M, self.sdp.p.NK, self.sdp.p.NK), dtype=complex)
        if self.beams == "psd":
            return self.sdp.to_full(np.array([psd_part(X.value) for X in self.Xs]))
        pw = np.maximum(self.pw.value, 0.0)
        return np.einsum("m,nm,lm->mnl", pw, self.U, self.U.conj())

    def sensing_mat(self) -> np.ndarray | None:
        """(NK, NK) normalised sensing covariance R / s (None without sensing)."""
        if self.Y is not None:
            return self.sdp.to_full(psd_part(self.Y.value))
        if self.t is not None:
            return np.diag(self.sdp.sel.T @ np.maximum(self.t.value, 0.0)).astype(complex)
        return None

    def crb_value_m2(self) -> float:
        return float(self.obj_crb.value) * self.sdp.obj_ref


def failure(problem, scheme, status, slv, secs, msg, **fields) -> DesignResult:
    cause = "infeasible" if status in _INFEASIBLE else "solver_error"
    return fallback_design(
        problem,
        scheme=scheme,
        cause=cause,
        solver=slv,
        solver_status=status,
        solve_time_s=secs,
        message=f"{msg}: {status}",
        **fields,
    )


# ---------------------------------------------------------------------------
# (33) relaxed: the lower bound


def sdr_lower_bound(
    problem: DesignProblem,
    *,
    solver: str = "auto",
    rate_form: str = "linear",
    sensing_rank: str = "full",
    rate_margin: float = 0.0,
    solver_opts: dict | None = None,
    _model: Model | None = None,
) -> DesignResult:
    """Semidefinite relaxation of seed 000 (33): min tr(U^{-1}) over Hermitian PSD W_1..W_M, R and
    symmetric U s.t. the epigraph LMI (34) with FIM entries (35)-(37) linear in R_x = sum W_m + R,
    per-satellite power (38) and the rate constraint (39) in linear form (seed-math B.6 [R]);
    NO rank constraint. Its optimum ``bound_m`` = sqrt(tr CRB*) is a lower bound on the RCRB of
    every design meeting (33b)-(33c) (single-stream or not), up to the solver tolerance.

    rate_form: only "linear" (for fixed eta, (39) IS the linear constraint; the SCA form (41) is a
    restriction, not a relaxation, so it cannot give a bound). sensing_rank: "full" returns the
    rank-one beams of :func:`rank_one_beams` (same R_x and SINRs, so the design attains the bound
    with a sensing covariance R of any rank); "one" returns the (47) extraction w~_m, r~ (rank-one
    sensing as in the paper; may miss the bound and the rate targets - see rates / rcrb_m).
    The relaxed problem is the same for both. rate_margin: relative SINR margin (>= 0) added to
    the targets. solver: "auto" | "SCS" | "CLARABEL" (:func:`choose_solver`).

    Returns a :class:`DesignResult` with bound_m, objective_history [tr CRB* m^2], the design, and
    extra["relaxed_rcrb_m"] (RCRB of the relaxed R_x recomputed with ``location_crb``); or the
    fallback with cause "infeasible" / "solver_error".
    """
    if rate_form != "linear":
        raise ValueError(
            f"sdr_lower_bound supports rate_form='linear' only (got {rate_form!r}): "
            "the SCA form is an inner approximation and gives no lower bound"
        )
    if sensing_rank not in ("full", "one"):
        raise ValueError(f"sensing_rank must be 'full' or 'one', got {sensing_rank!r}")
    slv = choose_solver(problem, solver)
    model = _model if _model is not None else Model(Sdp(problem), solver=slv)
    model.set_gamma(sinr_targets(problem.eta, rate_margin))
    status, secs = model.solve(slv, solver_opts)
    scheme = "sdr_lower_bound"
    if status not in OK:
        return failure(problem, scheme, status, slv, secs, "SDR")
    s = model.sdp.s
    crb_star = model.crb_value_m2()
    Ws = model.beam_mats() * s
    Rs = model.sensing_mat() * s
    Rx = Ws.sum(axis=0) + Rs
    if sensing_rank == "full":
        W, R = rank_one_beams(problem, Ws, Rx)
    else:
        W, R = extract_47(Ws, Rs)
    bound = float(np.sqrt(max(crb_star, 0.0)))
    res = evaluate_design(
        problem,
        W,
        R,
        scheme=scheme,
        solver=slv,
        solver_status=status,
        iterations=1,
        objective_history=[crb_star],
        rcrb_history_m=[bound],
        rank_residual=rank_residual(list(Ws) + ([Rs] if sensing_rank == "one" else []), s),
        solve_time_s=secs,
        bound_m=bound,
    )
    res.extra.update(
        relaxed_rcrb_m=crb_rx(problem, Rx),
        solver_iterations=model.last_iterations,
        solver_cpu_s=model.last_cpu_s,
        subspace_dim=model.sdp.dim,
    )
    # A first-order solver can stop at a point it labels optimal that violates (33b)-(33c) by far
    # (SCS at N = 4x4, K = 5, M = 10: 220 W on a 1 W satellite, docs/isac-fast-design.md); its
    # objective is then no bound. The extracted beams keep R_x and every SINR, so check them.
    violation = sdr_violation(problem, res, rate_margin=rate_margin)
    res.extra["feasibility_violation"] = violation
    if violation > SDR_FEASIBILITY_TOL:
        res.status, res.cause = "solver_inaccurate", "solver_error"
    return res


#: Largest relative violation of (33b)-(33c) accepted from an SDR solve before its bound is refused.
SDR_FEASIBILITY_TOL = 1e-2


def sdr_violation(
    problem: DesignProblem, result: DesignResult, *, rate_margin: float = 0.0
) -> float:
    """Largest relative violation of the per-satellite power (38) and of the SINR targets (39)
    by ``result`` (0 when feasible): max over satellites of P_k / P_k^max - 1 and over UEs of
    1 - SINR_m / gamma_m, with gamma_m = (2^eta_m - 1)(1 + rate_margin) (UEs with eta_m = 0 have
    no target)."""
    p_max = np.broadcast_to(np.asarray(problem.p_max_w, dtype=float), result.sat_power_w.shape)
    gamma = sinr_targets(problem.eta, rate_margin)
    sinr = 2.0 ** np.asarray(result.rates, dtype=float) - 1.0
    power_excess = float(np.max(result.sat_power_w / p_max - 1.0))
    has_target = gamma > 0  # eta_m = 0 (comm-centric bisection at r = 0) asks for nothing
    sinr_shortfall = (
        float(np.max(1.0 - sinr[has_target] / gamma[has_target])) if np.any(has_target) else 0.0
    )
    return max(0.0, power_excess, sinr_shortfall)
