"""Monte Carlo RMSE of the seed 000 localisation estimators against the root CRB (seed-math B.7).

A :class:`SensingScenario` holds the fixed part of one operating point (group geometry, array
frames, transmit design W/R, noise, β model); :meth:`SensingScenario.draw` makes one random
trial (target, prior centre p̄ = p + U(±250 m)³, β phases, symbols s and sensing signal r̃,
noise). :func:`monte_carlo` runs an estimator on many trials. Trial ``i`` draws its data from
``SeedSequence([seed, i])`` (first spawned child) and the estimator's randomness from the second
child, so a trial is the same whatever the batching and every method sees the same data.

RMSE = sqrt(mean_i ‖p̂_i − p_i‖²) [m] (seed 000 Section IV). RCRB = sqrt(mean_i tr CRB_i) with
CRB_i from :func:`twin.isac.physics.crb.location_crb` at R_x = Σ_m w_m w_m^H + R (the bound the paper
plots); ``cond_rcrb_m`` uses instead the realised Σ_l x̄_l x̄_l^H of each trial (the CRB given
the known samples, which the estimator actually faces with L = 1 snapshot). Since the FIM is
linear in R_x and E[x̄ x̄^H] = R_x, Jensen gives cond_rcrb_m ≥ rcrb_m.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twin.geometry import ecef_to_geodetic, geodetic_to_ecef
from twin.isac.estimation.locate import SensingProblem, draw_prior_centre, estimate
from twin.isac.physics.crb import location_crb
from twin.isac.physics.model import echo, reflection_coefficients, transmit_samples


@dataclass
class Trial:
    """One Monte Carlo draw: the estimator's problem, the echo y (NK, L), the true target (3,) ECEF m,
    and the transmit covariance Rx (NK, NK) W of the design (for the CRB)."""

    problem: SensingProblem
    y: np.ndarray
    target: np.ndarray
    Rx: np.ndarray


@dataclass
class SensingScenario:
    """Fixed part of a seed 000 sensing operating point.

    sat_pos (K, 3) ECEF m (row 0 = central satellite); frames (K, 3, 3) array frames or None;
    W (NK, M) communication beams (sqrt W) or None; R (NK, NK) sensing covariance (W) or None;
    noise_power σ_n² (W); nx, nz array size; target (3,) ECEF m, or None to draw it uniformly in
    the ground disk of radius ``area_radius_m`` around ``area_centre`` (3,) ECEF m;
    beta_model "paper" | "radar" (+ beta_kwargs); snapshots L; alpha (real); prior_spread_m
    (p̄ = p + U(±spread)³) and half_width_m of the search cube (seed-math B.9); alpha_model
    "complex" (eq. (17)) or "real" for the estimators (see :class:`SensingProblem`).
    """

    sat_pos: np.ndarray
    frames: np.ndarray | None
    W: np.ndarray | None
    R: np.ndarray | None
    noise_power: float
    nx: int = 4
    nz: int = 4
    target: np.ndarray | None = None
    area_centre: np.ndarray | None = None
    area_radius_m: float = 15e3
    beta_model: str = "paper"
    beta_kwargs: dict = field(default_factory=dict)
    snapshots: int = 1
    alpha: float = 1.0
    prior_spread_m: float = 250.0
    half_width_m: float = 500.0
    alpha_model: str = "complex"
    label: str = ""

    def __post_init__(self):
        if self.target is None and self.area_centre is None:
            raise ValueError("give a fixed target (3,) or an area_centre (3,) to draw targets from")
        if self.prior_spread_m > self.half_width_m:
            raise ValueError(
                f"prior_spread_m {self.prior_spread_m} m must be <= half_width_m {self.half_width_m} m "
                "so the target lies inside the search cube"
            )

    @property
    def Rx(self) -> np.ndarray:
        """Transmit covariance R_x = V V^H + R, (NK, NK) W (seed-math B.5)."""
        NK = self.nx * self.nz * np.shape(self.sat_pos)[0]
        Rx = np.zeros((NK, NK), dtype=complex)
        if self.W is not None:
            V = np.asarray(self.W)
            Rx += V @ V.conj().T
        if self.R is not None:
            Rx += np.asarray(self.R)
        return Rx

    def draw_target(self, rng: np.random.Generator) -> np.ndarray:
        """The trial's true target: fixed, or uniform on the ground disk (alt 0) around area_centre. (3,) m."""
        if self.target is not None:
            return np.asarray(self.target, dtype=float)
        lat, lon, _ = ecef_to_geodetic(np.asarray(self.area_centre, dtype=float))
        rad = self.area_radius_m * np.sqrt(rng.random())
        az = rng.uniform(0, 2 * np.pi)
        earth_r = 6.371e6
        return geodetic_to_ecef(
            lat + rad * np.cos(az) / earth_r, lon + rad * np.sin(az) / (earth_r * np.cos(lat)), 0.0
        )

    def draw(self, rng: np.random.Generator) -> Trial:
        """One random trial. β magnitudes are evaluated at the prior centre and the same β (known
        phases) is used to simulate and to estimate (seed-math B.9)."""
        target = self.draw_target(rng)
        prior = draw_prior_centre(target, rng, spread_m=self.prior_spread_m)
        beta = reflection_coefficients(
            self.beta_model, self.sat_pos, prior, rng=rng, **self.beta_kwargs
        )
        x = transmit_samples(self.W, self.R, self.snapshots, rng)
        y = echo(
            self.sat_pos,
            target,
            beta,
            x,
            alpha=self.alpha,
            noise_power=self.noise_power,
            nx=self.nx,
            nz=self.nz,
            frames=self.frames,
            rng=rng,
        )
        problem = SensingProblem(
            sat_pos=np.asarray(self.sat_pos, dtype=float),
            beta=beta,
            nx=self.nx,
            nz=self.nz,
            samples=x,
            noise_power=self.noise_power,
            prior_centre=prior,
            half_width_m=self.half_width_m,
            frames=self.frames,
            alpha_true=self.alpha,
            alpha_model=self.alpha_model,
        )
        return Trial(problem=problem, y=y, target=target, Rx=self.Rx)


@dataclass
class MonteCarloResult:
    """Monte Carlo summary of one estimator on one scenario.

    rmse_m: sqrt(mean ‖p̂ − p‖²); rcrb_m: sqrt(mean tr CRB(R_x)); cond_rcrb_m: sqrt(mean tr CRB(x̄x̄^H));
    mse_se_m2: standard error of the mean-square-error estimate (std of ‖e_i‖² / sqrt(trials));
    crb_se_m2: standard error of mean tr CRB(R_x) (0 when it is computed on every trial and constant);
    errors (T, 3) ECEF m and errors_enu (T, 3) m (p̂ − p); crb_m2 (C,) and cond_crb_m2 (C,) tr CRB on the
    first C = min(T, crb_trials) trials (all by default);
    n_evals (T,) likelihood evaluations; history (T, S) F(g_best) per iteration/stage (direct methods);
    stage_rmse_m {step_m: rmse} and stage_evals {step_m: mean evaluations} for the grid search.
    """

    method: str
    trials: int
    rmse_m: float
    rcrb_m: float
    cond_rcrb_m: float
    mse_se_m2: float
    crb_se_m2: float
    errors: np.ndarray
    errors_enu: np.ndarray
    crb_m2: np.ndarray
    cond_crb_m2: np.ndarray
    n_evals: np.ndarray
    history: np.ndarray | None = None
    stage_rmse_m: dict = field(default_factory=dict)
    stage_evals: dict = field(default_factory=dict)

    @property
    def tolerance_m2(self) -> float:
        """Standard error of MSE_hat − mean CRB: sqrt(mse_se² + crb_se²), m²."""
        return float(np.hypot(self.mse_se_m2, self.crb_se_m2))

    def consistent_with_bound(self, z: float = 1.96) -> bool:
        """RMSE ≥ RCRB within the statistical tolerance (95 % two-sided for z = 1.96):
        MSE_hat − CRB ≥ −z · sqrt(SE_mse² + SE_crb²)."""
        return bool(self.rmse_m**2 - self.rcrb_m**2 >= -z * self.tolerance_m2)


def trial_rngs(seed: int, trial: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(data rng, estimator rng) of trial ``trial``: children of SeedSequence([seed, trial])."""
    data, est = np.random.SeedSequence([int(seed), int(trial)]).spawn(2)
    return np.random.default_rng(data), np.random.default_rng(est)


def trial_crbs(trial: Trial, conditional: bool = True) -> tuple[float, float]:
    """(tr CRB at R_x, tr CRB at the realised Σ_l x̄_l x̄_l^H) for one trial, m² (NaN if not conditional)."""
    p = trial.problem
    kw = dict(
        noise_power=p.noise_power,
        nx=p.nx,
        nz=p.nz,
        alpha=p.alpha_true,
        spacing_wl=p.spacing_wl,
        frames=p.frames,
    )
    L = np.shape(p.samples)[1]  # FIM × L for L i.i.d. snapshots at the design covariance
    crb = float(
        np.trace(location_crb(p.sat_pos, trial.target, trial.Rx, p.beta, snapshots=L, **kw))
    )
    if not conditional:
        return crb, float("nan")
    x = np.asarray(p.samples)
    try:
        cond = float(np.trace(location_crb(p.sat_pos, trial.target, x @ x.conj().T, p.beta, **kw)))
    except ValueError:
        cond = np.inf
    return crb, cond


def monte_carlo(
    scenario: SensingScenario | Callable[[np.random.Generator], Trial],
    method: str,
    *,
    trials: int = 1000,
    seed: int = 0,
    crb_trials: int | None = None,
    conditional_crb: bool = True,
    progress: Callable[[int], None] | None = None,
    **opts,
) -> MonteCarloResult:
    """Run ``estimate(method, ...)`` on ``trials`` independent trials and compare with the CRB.

    scenario: a :class:`SensingScenario` or any callable ``rng -> Trial``; method: one of
    :data:`twin.isac.estimation.locate.METHODS`; opts go to the estimator; crb_trials: the CRBs are
    computed on the first min(trials, crb_trials) trials (None = all), the conditional one only if
    ``conditional_crb``. progress(i) is called after
    each trial. Trials are run one after another (each estimator call is vectorised over its
    particles / lattice points; PSO cannot batch trials because each trial has its own x̄).
    """
    if trials < 2:
        raise ValueError(f"need at least 2 trials for a standard error, got {trials}")
    draw = scenario.draw if isinstance(scenario, SensingScenario) else scenario
    errors = np.empty((trials, 3))
    errors_enu = np.empty((trials, 3))
    n_crb = trials if crb_trials is None else max(2, min(trials, int(crb_trials)))
    crb = np.empty(n_crb)
    cond = np.empty(n_crb)
    n_evals = np.empty(trials, dtype=int)
    histories = []
    stage_sq: dict[float, list[float]] = {}
    stage_ev: dict[float, list[float]] = {}
    for i in range(trials):
        data_rng, est_rng = trial_rngs(seed, i)
        trial = draw(data_rng)
        est = estimate(method, trial.problem, trial.y, est_rng, **opts)
        errors[i] = est.position - trial.target
        errors_enu[i] = errors[i] @ trial.problem.enu.T
        if i < n_crb:
            crb[i], cond[i] = trial_crbs(trial, conditional_crb)
        n_evals[i] = est.n_evaluations
        histories.append(est.history)
        if "stage_positions" in est.extra:
            for step, pos, ev in zip(
                est.extra["steps_m"], est.extra["stage_positions"], est.extra["stage_evaluations"]
            ):
                key = float(f"{step:.6g}")
                stage_sq.setdefault(key, []).append(float(np.sum((pos - trial.target) ** 2)))
                stage_ev.setdefault(key, []).append(float(ev))
        if progress is not None:
            progress(i)
    sq = np.sum(errors**2, axis=1)
    lengths = {len(h) for h in histories}
    return MonteCarloResult(
        method=method,
        trials=trials,
        rmse_m=float(np.sqrt(sq.mean())),
        rcrb_m=float(np.sqrt(crb.mean())),
        cond_rcrb_m=float(np.sqrt(cond.mean())),
        mse_se_m2=float(sq.std(ddof=1) / np.sqrt(trials)),
        crb_se_m2=float(crb.std(ddof=1) / np.sqrt(n_crb)),
        errors=errors,
        errors_enu=errors_enu,
        crb_m2=crb,
        cond_crb_m2=cond,
        n_evals=n_evals,
        history=np.array(histories) if len(lengths) == 1 else None,
        stage_rmse_m={
            k: float(np.sqrt(np.mean(v))) for k, v in stage_sq.items() if len(v) == trials
        },
        stage_evals={k: float(np.mean(v)) for k, v in stage_ev.items() if len(v) == trials},
    )
