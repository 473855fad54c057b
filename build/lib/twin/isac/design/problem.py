"""The joint-design problem of seed 000 (33) and its result: the data types, the evaluation of a
design from scratch and the documented fallback, shared by every design engine.

* :class:`DesignProblem` - one instance of (33) in SI units; :class:`DesignResult` - a design and
  how it was obtained.
* :func:`evaluate_design` recomputes RCRB (20), rates (8) and per-satellite powers (2) of any
  (W, R); :func:`crb_rx` is the RCRB of a transmit covariance.
* :func:`fallback_design` - infeasibility is data: the stand-in design
  :func:`twin.isac.physics.transmit.matched_filter_isotropic` with
  ``status = "fallback:matched_filter_isotropic"`` and ``cause`` = "infeasible" | "solver_error".
* :func:`sinr_targets` (SINR targets of the rate constraints) and :func:`default_crb_unit_m2` (the
  unit of Algorithm 2's CRB term), shared by the cvxpy and the fast engines.

Conventions (see :mod:`twin.isac.physics.channel` and :mod:`twin.isac.physics.model`): stacked
vectors are satellite-major, length NK; ``H`` (M, NK): row i is h~_i, UE i receives y_i = h~_i^H x;
``W`` (NK, M) holds the beams w~_m as columns; ``R`` (NK, NK) is the sensing covariance; R_x =
sum_m W_m + R. Powers in W.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from twin.isac.physics.channel import sinr_rate
from twin.isac.physics.crb import location_crb
from twin.isac.physics.transmit import matched_filter_isotropic, satellite_powers

__all__ = [
    "DesignProblem",
    "DesignResult",
    "FALLBACK",
    "CRB_UNIT_FRACTION",
    "crb_rx",
    "evaluate_design",
    "fallback_design",
    "sinr_targets",
    "default_crb_unit_m2",
]

FALLBACK = "matched_filter_isotropic"
#: default unit of the CRB term of (46), as a fraction of the isotropic design's tr CRB (algorithm2)
CRB_UNIT_FRACTION = 0.001


# ---------------------------------------------------------------------------
# data classes


@dataclass
class DesignProblem:
    """One joint-design instance of seed 000 (33) (SI units).

    sat_pos (K, 3) Earth-fixed m; target (3,) m: the prior target position at which the CRB is
    evaluated; beta (K, K) complex [transmitter, receiver]; frames (K, 3, 3) array frames or None;
    H (M, NK) UE channels (y_i = h~_i^H x); eta (M,) or scalar rate targets in bit/s/Hz;
    p_max_w (K,) or scalar per-satellite power budgets P_k^max in W; sensing_noise_w sigma_n^2 (W,
    per element and snapshot); comm_noise (M,) or scalar UE noise sigma_i^2 in the units of |h|^2 W
    (1 for :func:`twin.isac.physics.channel.comm_channels`); nx, nz UPA size (N = nx nz); alpha real
    reflection coefficient; snapshots L (FIM x L); spacing_wl element spacing d/lambda.
    """

    sat_pos: np.ndarray
    target: np.ndarray
    beta: np.ndarray
    H: np.ndarray
    eta: np.ndarray
    p_max_w: np.ndarray
    sensing_noise_w: float
    nx: int
    nz: int
    frames: np.ndarray | None = None
    comm_noise: np.ndarray | float = 1.0
    alpha: float = 1.0
    snapshots: float = 1.0
    spacing_wl: float = 0.5

    def __post_init__(self):
        self.sat_pos = np.asarray(self.sat_pos, dtype=float)
        if self.sat_pos.ndim != 2 or self.sat_pos.shape[1] != 3:
            raise ValueError(f"sat_pos must be (K, 3) metres, got {self.sat_pos.shape}")
        K = self.sat_pos.shape[0]
        self.target = np.asarray(self.target, dtype=float)
        if self.target.shape != (3,):
            raise ValueError(f"target must be (3,) metres, got {self.target.shape}")
        self.beta = np.asarray(self.beta, dtype=complex)
        if self.beta.shape != (K, K):
            raise ValueError(f"beta must be (K, K) = ({K}, {K}), got {self.beta.shape}")
        if int(self.nx) != self.nx or int(self.nz) != self.nz or self.nx < 1 or self.nz < 1:
            raise ValueError(f"nx, nz must be positive integers, got {self.nx}, {self.nz}")
        self.nx, self.nz = int(self.nx), int(self.nz)
        NK = K * self.nx * self.nz
        self.H = np.asarray(self.H, dtype=complex)
        if self.H.ndim != 2 or self.H.shape[1] != NK or self.H.shape[0] < 1:
            raise ValueError(f"H must be (M, NK) with NK = {NK} and M >= 1, got {self.H.shape}")
        M = self.H.shape[0]
        if np.any(np.linalg.norm(self.H, axis=1) == 0):
            raise ValueError("a UE channel row of H is identically zero")
        self.eta = np.broadcast_to(np.asarray(self.eta, dtype=float), (M,)).copy()
        if np.any(self.eta < 0) or not np.all(np.isfinite(self.eta)):
            raise ValueError(f"eta must be finite and >= 0 bit/s/Hz, got {self.eta}")
        self.p_max_w = np.broadcast_to(np.asarray(self.p_max_w, dtype=float), (K,)).copy()
        if np.any(self.p_max_w <= 0):
            raise ValueError(f"p_max_w must be > 0 W, got {self.p_max_w}")
        self.comm_noise = np.broadcast_to(np.asarray(self.comm_noise, dtype=float), (M,)).copy()
        if np.any(self.comm_noise <= 0):
            raise ValueError(f"comm_noise must be > 0, got {self.comm_noise}")
        if not self.sensing_noise_w > 0:
            raise ValueError(f"sensing_noise_w must be > 0 W, got {self.sensing_noise_w}")
        if not self.snapshots > 0:
            raise ValueError(f"snapshots must be > 0, got {self.snapshots}")
        if self.alpha == 0:
            raise ValueError("alpha must be non-zero (alpha = 0 gives no angle information)")
        if self.frames is not None:
            self.frames = np.asarray(self.frames, dtype=float)
            if self.frames.shape != (K, 3, 3):
                raise ValueError(f"frames must be (K, 3, 3), got {self.frames.shape}")

    @property
    def K(self) -> int:
        return self.sat_pos.shape[0]

    @property
    def N(self) -> int:
        return self.nx * self.nz

    @property
    def NK(self) -> int:
        return self.K * self.N

    @property
    def M(self) -> int:
        return self.H.shape[0]

    def crb_kwargs(self) -> dict:
        """Keyword arguments of :func:`twin.isac.physics.crb.location_crb` for this problem."""
        return dict(
            noise_power=self.sensing_noise_w,
            nx=self.nx,
            nz=self.nz,
            alpha=self.alpha,
            spacing_wl=self.spacing_wl,
            frames=self.frames,
            snapshots=self.snapshots,
        )

    def with_(self, **changes) -> DesignProblem:
        """A copy with some fields replaced (e.g. ``problem.with_(eta=3.0)``)."""
        return replace(self, **changes)


@dataclass
class DesignResult:
    """A transmit design and how it was obtained.

    W (NK, M) beams in sqrt(W) (columns w~_m); R (NK, NK) sensing covariance (W); r (NK,) the
    sensing waveform when R is rank one (else None); Rx (NK, NK) = W W^H + R (or R alone when
    ``sensing_from == "R"``, the non-assisted scheme); rcrb_m = sqrt(tr CRB) of THIS design
    recomputed with :func:`twin.isac.physics.crb.location_crb` (inf if its FIM is singular); rates (M,)
    bit/s/Hz and sat_power_w (K,) W recomputed from (W, R); status "optimal" or
    "fallback:<design>"; cause "" | "infeasible" | "solver_error"; bound_m the SDR optimum
    sqrt(tr CRB) (a lower bound, :func:`sdr_lower_bound` only); objective_history the
    objective per iteration; rcrb_history_m sqrt(tr CRB) of each iterate (Fig. 4); rank_residual
    sum |tr X - lambda_max(X)| / s over the rank-one-constrained matrices of the last iterate
    (s = max P^max); solve_time_s wall time; solver_status raw cvxpy status of the last solve.
    """

    scheme: str
    status: str
    W: np.ndarray
    R: np.ndarray
    Rx: np.ndarray
    rcrb_m: float
    rates: np.ndarray
    sat_power_w: np.ndarray
    r: np.ndarray | None = None
    sensing_from: str = "Rx"
    cause: str = ""
    solver: str = ""
    solver_status: str = ""
    iterations: int = 0
    objective_history: list = field(default_factory=list)
    rcrb_history_m: list = field(default_factory=list)
    rank_residual: float = float("nan")
    solve_time_s: float = 0.0
    bound_m: float = float("nan")
    message: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the scheme itself produced the design (not a fallback)."""
        return self.status == "optimal"

    @property
    def crb_m2(self) -> float:
        return self.rcrb_m**2

    def meets(
        self, problem: DesignProblem, *, rate_tol: float = 1e-6, power_rtol: float = 1e-6
    ) -> bool:
        """Whether the design meets every rate target (33c) and power limit (33b) of ``problem``
        (within ``rate_tol`` bit/s/Hz and relative ``power_rtol``), recomputed from (W, R)."""
        return bool(
            np.all(self.rates >= problem.eta - rate_tol)
            and np.all(self.sat_power_w <= problem.p_max_w * (1 + power_rtol))
        )


# ---------------------------------------------------------------------------
# evaluation and fallback


def crb_rx(problem: DesignProblem, Rx) -> float:
    """sqrt(tr CRB) in m of the transmit covariance Rx (NK, NK) W; inf if the FIM is singular."""
    try:
        C = location_crb(problem.sat_pos, problem.target, Rx, problem.beta, **problem.crb_kwargs())
    except ValueError:
        return float("inf")
    tr = float(np.trace(C))
    return float(np.sqrt(tr)) if tr > 0 else float("inf")


def evaluate_design(
    problem: DesignProblem,
    W,
    R,
    *,
    scheme: str,
    status: str = "optimal",
    sensing_from: str = "Rx",
    **fields,
) -> DesignResult:
    """Build a :class:`DesignResult` for beams W (NK, M) and sensing R ((NK, NK) covariance or
    (NK,) waveform), recomputing RCRB (seed 000 eq. (20) via ``location_crb``), rates (eq. (8)
    via ``sinr_rate``) and per-satellite powers (eq. (2)). ``sensing_from`` "Rx" (FIM from
    W W^H + R) or "R" (non-assisted: FIM from R only). Extra keyword arguments set result fields."""
    W = np.asarray(W, dtype=complex).reshape(problem.NK, problem.M)
    R = np.asarray(R, dtype=complex)
    r = None
    if R.ndim == 1:
        r = R
        R = np.outer(r, r.conj())
    R = 0.5 * (R + R.conj().T)
    if sensing_from not in ("Rx", "R"):
        raise ValueError(f"sensing_from must be 'Rx' or 'R', got {sensing_from!r}")
    Rx = W @ W.conj().T + R if sensing_from == "Rx" else R
    _, rates = sinr_rate(problem.H, W, R, problem.comm_noise)
    power = satellite_powers(W, R, problem.K)
    return DesignResult(
        scheme=scheme,
        status=status,
        W=W,
        R=R,
        r=r,
        Rx=Rx,
        rcrb_m=crb_rx(problem, Rx),
        rates=rates,
        sat_power_w=power,
        sensing_from=sensing_from,
        **fields,
    )


def fallback_design(
    problem: DesignProblem,
    *,
    scheme: str,
    cause: str,
    message: str = "",
    comm_fraction: float = 0.5,
    **fields,
) -> DesignResult:
    """The documented fallback: :func:`twin.isac.physics.transmit.matched_filter_isotropic` (MRT beams on
    ``comm_fraction`` of each satellite's budget, isotropic sensing on the rest), returned with
    status "fallback:matched_filter_isotropic" and ``cause`` ("infeasible" | "solver_error")."""
    W, R = matched_filter_isotropic(
        problem.H, problem.K, problem.N, problem.p_max_w, comm_fraction=comm_fraction
    )
    return evaluate_design(
        problem,
        W,
        R,
        scheme=scheme,
        status=f"fallback:{FALLBACK}",
        cause=cause,
        message=message,
        **fields,
    )


def sinr_targets(eta, margin: float) -> np.ndarray:
    """SINR targets 2^eta - 1, raised by the relative ``margin`` (>= 0)."""
    if margin < 0:
        raise ValueError(f"rate_margin must be >= 0, got {margin}")
    return (2.0 ** np.asarray(eta, dtype=float) - 1.0) * (1.0 + margin)


def default_crb_unit_m2(problem: DesignProblem, fraction: float = CRB_UNIT_FRACTION) -> float:
    """Unit (m^2) of the CRB term of Algorithm 2's (46): ``fraction`` of the tr CRB of the
    isotropic full-power design (every satellite P_k^max / N per antenna). The paper's units leave
    the balance between rho and the CRB open; docs/isac-design.md and docs/isac-algorithm2.md
    measure how the fraction sets the convergence speed."""
    if not fraction > 0:
        raise ValueError(f"the CRB unit fraction must be > 0, got {fraction}")
    return (
        fraction
        * crb_rx(
            problem, np.diag(np.repeat(problem.p_max_w / problem.N, problem.N)).astype(complex)
        )
        ** 2
    )
