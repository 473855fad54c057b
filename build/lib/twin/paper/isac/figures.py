"""Seed 000 localisation figures: Figs. 3, 8, 9, 10 and the cooperation table.

Fig. 3 (PSO convergence), Figs. 8-9 (RMSE of the localisation algorithms vs η and P_max), Fig. 10
(RMSE vs satellites per plane) and the cooperation table (K = 5 vs K = 1, collaboration types
I/II/III). Axes per seed-math B.7.

Each ``figN(...)`` computes its curves and returns a :class:`FigureData`; :func:`write_figure`
writes ``<name>.csv`` and ``<name>.png`` (matplotlib, Agg). The transmit design is
``OperatingPoint.design``: ``"stand_in"`` (default; ``transmit.matched_filter_isotropic``, half of
each satellite's power on matched-filter communication beams, half isotropic sensing; η does not
enter it, so its Fig. 8 curves are flat by construction) or ``"fast"`` (seed 000's joint design,
``twin.isac.design.fast_design``, planned at the service-area centre). Every figure names its design
(:func:`design_note`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from twin.geometry import ecef_to_geodetic, enu_basis
from twin.isac.design.fast_design import fast_design
from twin.isac.design.problem import DesignProblem
from twin.isac.estimation.locate import estimate, single_receiver_crbs
from twin.isac.estimation.montecarlo import (
    MonteCarloResult,
    SensingScenario,
    monte_carlo,
    trial_rngs,
)
from twin.isac.physics import channel, transmit
from twin.isac.physics.crb import location_fim
from twin.isac.physics.model import isac_array_frames, reflection_coefficients
from twin.paper.isac.snapshot import walker_group_snapshot
from twin.units import dbm_to_w

DESIGN_NOTES = {
    "stand_in": "stand-in design: isotropic per-satellite sensing + matched-filter comm beams (η unused)",
    "fast": "seed 000 joint design (twin.isac.design.fast_design) planned at the service-area centre",
}


def design_note(op: OperatingPoint) -> str:
    """The figure note naming the transmit design of ``op``."""
    return DESIGN_NOTES[op.design]


#: Localisation curves of Figs. 8-9: (label, method, estimator options). The three grid
#: accuracies come from one coarse-to-fine run (coarser ε = earlier stages).
LOCALISATION_CURVES = (
    ("PSO (Algorithm 1)", "pso", {}),
    ("GA direct", "ga", {}),
    ("Two-step", "two_step", {}),
    ("Auxiliary-satellite direct", "aux_direct", {}),
    ("Grid search", "grid", {"final_step": 1e-3}),
)
GRID_ACCURACIES_M = (1.0, 0.1, 1e-3)


@dataclass(frozen=True)
class OperatingPoint:
    """Seed 000 Table I/II operating point (seed-math B.8/B.9 defaults), SI except the named dB fields.

    planes, per_plane, phasing, altitude_m, inclination_deg: Walker Delta; collaboration "I"|"II"|"III";
    nx, nz: UPA; p_max_dbm per satellite; eta_bps_hz (unused by the stand-in design); n_ue;
    sensing_noise_dbm σ_n²; comm_fraction of the power on communication beams; snapshots L;
    beta_model; area_radius_m of the service disk; channel_seed for UEs and channels; design
    "stand_in" | "fast" (see :func:`transmit_design`).
    """

    planes: int = 72
    per_plane: int = 22
    phasing: int = 1
    altitude_m: float = 550e3
    inclination_deg: float = 53.0
    collaboration: str = "II"
    nx: int = 4
    nz: int = 4
    p_max_dbm: float = 30.0
    eta_bps_hz: float = 2.0
    n_ue: int = 10
    sensing_noise_dbm: float = -110.0
    comm_fraction: float = 0.5
    snapshots: int = 1
    beta_model: str = "paper"
    area_radius_m: float = 15e3
    channel_seed: int = 0
    design: str = "stand_in"


def group_geometry(op: OperatingPoint, group_size: int | None = None):
    """Walker snapshot serving group (``twin.paper.isac.snapshot.walker_group_snapshot``) for ``op``."""
    return walker_group_snapshot(
        planes=op.planes,
        per_plane=op.per_plane,
        phasing=op.phasing,
        altitude_m=op.altitude_m,
        inclination_rad=np.radians(op.inclination_deg),
        collaboration=op.collaboration,
        group_size=group_size,
    )


def transmit_design(op: OperatingPoint, geometry, frames) -> tuple[np.ndarray, np.ndarray]:
    """(W (NK, M), R (NK, NK)) of ``op.design`` for the group: ``op.n_ue`` UEs uniform in the
    service disk (``channel.ue_positions``), seed 000 channels (3)-(5) (``channel.comm_channels``);
    "stand_in" = ``transmit.matched_filter_isotropic`` (η unused); "fast" = ``fast_design`` of
    problem (33) at the service-area centre with β of ``op.beta_model`` there (if the rate targets
    cannot be met it returns its documented fallback design, named in its status)."""
    if op.design not in DESIGN_NOTES:
        raise ValueError(f"unknown design {op.design!r}; allowed: {sorted(DESIGN_NOTES)}")

    rng = np.random.default_rng(op.channel_seed)
    K = len(geometry.members)
    params = channel.IsacParams(
        nx=op.nx,
        nz=op.nz,
        K=K,
        M=op.n_ue,
        p_max_dbm=op.p_max_dbm,
        rate_target_bps_hz=op.eta_bps_hz,
        altitude_m=op.altitude_m,
        service_radius_m=op.area_radius_m,
        sensing_noise_dbm=op.sensing_noise_dbm,
    )
    ues = channel.ue_positions(geometry.central_nadir_ecef, op.area_radius_m, op.n_ue, rng)
    H = channel.comm_channels(
        geometry.sat_pos,
        ues,
        frames=frames,
        params=params,
        rng=rng,
        center_ecef=geometry.central_nadir_ecef,
    )
    if op.design == "stand_in":
        return transmit.matched_filter_isotropic(
            H, K, op.nx * op.nz, float(dbm_to_w(op.p_max_dbm)), comm_fraction=op.comm_fraction
        )
    centre = geometry.central_nadir_ecef
    beta = reflection_coefficients(op.beta_model, geometry.sat_pos, centre, rng=rng)
    problem = DesignProblem(
        sat_pos=geometry.sat_pos,
        target=centre,
        beta=beta,
        H=H,
        eta=op.eta_bps_hz,
        p_max_w=float(dbm_to_w(op.p_max_dbm)),
        sensing_noise_w=float(dbm_to_w(op.sensing_noise_dbm)),
        nx=op.nx,
        nz=op.nz,
        frames=frames,
        snapshots=op.snapshots,
    )
    result = fast_design(problem)
    return np.asarray(result.W), np.asarray(result.R)


def build_scenario(
    op: OperatingPoint, *, fixed_target: bool = False, group_size: int | None = None
) -> SensingScenario:
    """The :class:`SensingScenario` of an operating point: group, body-frame arrays, stand-in design,
    σ_n² = ``sensing_noise_dbm``, targets uniform on the ground in the service disk around the
    central's nadir (or fixed at the nadir with ``fixed_target``)."""
    g = group_geometry(op, group_size=group_size)
    frames = isac_array_frames(g.sat_pos, g.sat_vel)
    W, R = transmit_design(op, g, frames)
    return SensingScenario(
        sat_pos=g.sat_pos,
        frames=frames,
        W=W,
        R=R,
        noise_power=float(dbm_to_w(op.sensing_noise_dbm)),
        nx=op.nx,
        nz=op.nz,
        target=g.central_nadir_ecef if fixed_target else None,
        area_centre=g.central_nadir_ecef,
        area_radius_m=op.area_radius_m,
        beta_model=op.beta_model,
        snapshots=op.snapshots,
        label=f"{op.planes}x{op.per_plane} type {op.collaboration}",
    )


@dataclass
class FigureData:
    """Curves of one figure: x values, named y columns, axis labels and free-text notes."""

    name: str
    title: str
    x_label: str
    y_label: str
    x: np.ndarray
    columns: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)
    log_y: bool = True
    extra_tables: dict[str, tuple[list[str], list[list]]] = field(default_factory=dict)


Progress = Callable[[int], None]


def _noop(_: int = 1) -> None:
    return None


def _run_curves(
    scenario, trials, seed, crb_trials, advance, curves=LOCALISATION_CURVES
) -> dict[str, float]:
    """RMSE of every localisation curve + RCRB at one scenario; grid gives one value per ε."""
    out: dict[str, float] = {}
    rcrb = None
    for label, method, opts in curves:
        if method == "aux_direct" and "crb_weights" not in opts:
            opts = {**opts, "crb_weights": _aux_weights(scenario, seed)}
        # Every curve sees the same trials (same seed), so the RCRB is computed with the first one only.
        res: MonteCarloResult = monte_carlo(
            scenario,
            method,
            trials=trials,
            seed=seed,
            crb_trials=crb_trials if rcrb is None else 2,
            conditional_crb=False,
            progress=lambda i: advance(1),
            **opts,
        )
        rcrb = res.rcrb_m if rcrb is None else rcrb
        if method == "grid":
            for eps in GRID_ACCURACIES_M:
                key = min(res.stage_rmse_m, key=lambda s: abs(np.log(s / eps)))
                out[f"{label} eps={eps:g} m"] = res.stage_rmse_m[key]
        else:
            out[label] = res.rmse_m
    out["RCRB"] = rcrb
    return out


def _aux_weights(scenario: SensingScenario, seed: int) -> np.ndarray:
    """Per-satellite single-receiver CRB traces (m²) at the operating point, used as the fixed
    1/CRB_u weights of "aux_direct" (design R_x, one reference draw of β, service-area centre)."""
    ref = scenario.draw(np.random.default_rng([int(seed), 2**31]))
    centre = scenario.area_centre if scenario.area_centre is not None else ref.target
    return single_receiver_crbs(ref.problem, centre, Rx=scenario.Rx)


def fig3(
    *,
    trials: int = 1000,
    seed: int = 0,
    op: OperatingPoint = OperatingPoint(),
    particles=(10, 30, 50),
    iterations: int = 40,
    advance: Progress = _noop,
) -> FigureData:
    """Fig. 3: F(g_best) vs PSO iteration 0..N_p for I_p ∈ ``particles`` (mean over trials), plus the
    normalised residual (‖y‖² − F(g_best)) / (σ_n² (NK L − 2.5)), whose expectation is 1 at the ML
    point (the residual is σ_n²/2 χ² with 2NKL − 5 degrees of freedom: complex α and 3 coordinates
    fitted)."""
    scenario = build_scenario(op)
    cols: dict[str, np.ndarray] = {}
    NKL = op.nx * op.nz * len(scenario.sat_pos) * op.snapshots
    for ip in particles:
        F = np.zeros(iterations + 1)
        resid = np.zeros(iterations + 1)
        for i in range(trials):
            data_rng, est_rng = trial_rngs(seed, i)
            tr = scenario.draw(data_rng)
            est = estimate("pso", tr.problem, tr.y, est_rng, particles=ip, iterations=iterations)
            y2 = float(np.sum(np.abs(tr.y) ** 2))
            F += est.history / trials
            resid += (y2 - est.history) / (scenario.noise_power * (NKL - 2.5)) / trials
            advance(1)
        cols[f"F_gbest_Ip{ip}"] = F
        cols[f"residual_over_noise_Ip{ip}"] = resid
    return FigureData(
        "fig3",
        "Fig. 3: convergence of Algorithm 1 (PSO)",
        "PSO iteration n_p",
        "F(g_best)",
        np.arange(iterations + 1),
        cols,
        notes=[design_note(op), f"mean over {trials} trials, seed {seed}"],
        log_y=False,
    )


def fig8(
    *,
    trials: int = 1000,
    seed: int = 0,
    op: OperatingPoint = OperatingPoint(),
    etas=(1, 2, 3, 4, 5, 6),
    crb_trials: int = 200,
    advance: Progress = _noop,
) -> FigureData:
    """Fig. 8: RMSE vs required rate η (bps/Hz) for the localisation algorithms + RCRB.

    The stand-in transmit design does not depend on η, so with it one Monte Carlo run serves every
    η (the curves are flat by construction; this is stated on the figure); the "fast" design is
    re-planned and re-run per η."""
    if op.design == "stand_in":
        vals = _run_curves(
            build_scenario(replace(op, eta_bps_hz=float(etas[0]))),
            trials,
            seed,
            crb_trials,
            advance,
        )
        cols = {k: np.full(len(etas), v) for k, v in vals.items()}
        extra = ["η does not enter the stand-in design: one run, flat curves"]
    else:
        rows = [
            _run_curves(
                build_scenario(replace(op, eta_bps_hz=float(e))), trials, seed, crb_trials, advance
            )
            for e in etas
        ]
        cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        extra = []
    return FigureData(
        "fig8",
        "Fig. 8: RMSE vs required rate",
        "η (bps/Hz)",
        "RMSE / RCRB (m)",
        np.asarray(etas, float),
        cols,
        notes=[
            design_note(op),
            *extra,
            f"{trials} trials, seed {seed}, P_max {op.p_max_dbm:g} dBm",
        ],
    )


def fig9(
    *,
    trials: int = 1000,
    seed: int = 0,
    op: OperatingPoint = OperatingPoint(),
    p_max_dbm=(20, 25, 30, 35, 40),
    crb_trials: int = 200,
    advance: Progress = _noop,
) -> FigureData:
    """Fig. 9: RMSE vs per-satellite power budget P_max (dBm) for the localisation algorithms + RCRB."""
    rows = []
    for p in p_max_dbm:
        rows.append(
            _run_curves(
                build_scenario(replace(op, p_max_dbm=float(p))), trials, seed, crb_trials, advance
            )
        )
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return FigureData(
        "fig9",
        "Fig. 9: RMSE vs power budget",
        "P_max (dBm)",
        "RMSE / RCRB (m)",
        np.asarray(p_max_dbm, float),
        cols,
        notes=[design_note(op), f"{trials} trials, seed {seed}, η {op.eta_bps_hz:g} bps/Hz"],
    )


def fig10(
    *,
    trials: int = 1000,
    seed: int = 0,
    op: OperatingPoint = OperatingPoint(),
    per_plane=(18, 20, 22, 24, 26, 28),
    planes=(36, 54, 72),
    crb_trials: int = 200,
    advance: Progress = _noop,
) -> FigureData:
    """Fig. 10: RMSE of Algorithm 1 (PSO) and the RCRB vs satellites per plane N# for P# ∈ ``planes``."""
    cols: dict[str, np.ndarray] = {}
    for P in planes:
        rmse, rcrb = [], []
        for n in per_plane:
            sc = build_scenario(replace(op, planes=int(P), per_plane=int(n)))
            res = monte_carlo(
                sc,
                "pso",
                trials=trials,
                seed=seed,
                crb_trials=crb_trials,
                conditional_crb=False,
                progress=lambda i: advance(1),
            )
            rmse.append(res.rmse_m)
            rcrb.append(res.rcrb_m)
        cols[f"PSO RMSE P#={P}"] = np.array(rmse)
        cols[f"RCRB P#={P}"] = np.array(rcrb)
    return FigureData(
        "fig10",
        "Fig. 10: RMSE vs satellites per plane",
        "N# (satellites per plane)",
        "RMSE / RCRB (m)",
        np.asarray(per_plane, float),
        cols,
        notes=[design_note(op), f"{trials} trials, seed {seed}, type {op.collaboration}"],
    )


def groups_table(*, op: OperatingPoint = OperatingPoint(), advance: Progress = _noop) -> FigureData:
    """RCRB (m) at the operating point for K = 1 (central alone, non-cooperative) and the collaboration
    types I (K = 3), II (K = 5), III (K = 7); target at the central's nadir, stand-in design, β phases 0.

    Two bounds from ``crb.location_fim`` (F_p, 3×3): the 3-D RCRB sqrt(tr F_p^{-1}) (seed 000 eq. (20);
    +inf when F_p is rank-deficient: one satellite measures only two angles, so range is unobservable),
    and the ground RCRB sqrt(tr (T^T F_p T)^{-1}) for a target known to lie on the ground (T = local
    East/North basis), which is finite for K = 1 too.
    """
    rows = []
    for label, coll, size in (
        ("K=1 (non-cooperative)", "II", 1),
        ("type I", "I", None),
        ("type II", "II", None),
        ("type III", "III", None),
    ):
        sc = build_scenario(replace(op, collaboration=coll), fixed_target=True, group_size=size)
        K = len(sc.sat_pos)
        beta = reflection_coefficients(
            op.beta_model, sc.sat_pos, sc.target, phases=np.zeros((K, K))
        )
        F = location_fim(
            sc.sat_pos,
            sc.target,
            sc.Rx,
            beta,
            noise_power=sc.noise_power,
            nx=op.nx,
            nz=op.nz,
            frames=sc.frames,
            snapshots=op.snapshots,
        )
        ev = np.linalg.eigvalsh(F)
        r3 = float(np.sqrt(np.sum(1.0 / ev))) if ev[0] > 1e-9 * ev[-1] else np.inf
        lat, lon, _ = ecef_to_geodetic(sc.target)
        T = enu_basis(float(lat), float(lon))[:2].T  # (3, 2) East, North
        r2 = float(np.sqrt(np.trace(np.linalg.inv(T.T @ F @ T))))
        rows.append([label, K, r3, r2])
        advance(1)
    ks = np.array([r[1] for r in rows], float)
    return FigureData(
        "groups",
        "RCRB by cooperation type",
        "K (satellites)",
        "RCRB (m)",
        ks,
        {
            "RCRB_3d_m": np.array([r[2] for r in rows]),
            "RCRB_ground_m": np.array([r[3] for r in rows]),
        },
        notes=[
            design_note(op),
            "target at the central's nadir, beta phases 0; K=1 3-D RCRB = inf (rank 2)",
        ],
        extra_tables={"groups": (["group", "K", "RCRB_3d_m", "RCRB_ground_m"], rows)},
    )


def write_figure(fig: FigureData, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.csv`` (x + every column) and ``<name>.png`` into out_dir; returns both paths."""
    import matplotlib  # backend chosen only when a figure is written

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / f"{fig.name}.csv"
    if fig.extra_tables:
        header, rows = next(iter(fig.extra_tables.values()))
        pd.DataFrame(rows, columns=header).to_csv(csv, index=False)
    else:
        df = pd.DataFrame(
            {fig.x_label: fig.x, **{k: np.asarray(v) for k, v in fig.columns.items()}}
        )
        df.to_csv(csv, index=False)
    png = out_dir / f"{fig.name}.png"
    if fig.name == "fig3":
        fig_, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
        for k, v in fig.columns.items():
            (ax1 if k.startswith("F_") else ax2).plot(fig.x, v, marker=".", label=k)
        ax1.set_xlabel(fig.x_label)
        ax1.set_ylabel("F(g_best) (W)")
        ax2.set_xlabel(fig.x_label)
        ax2.set_ylabel("(‖y‖² − F(g_best)) / (σ² (NKL − 2.5))")
        ax2.set_yscale("log")
        ax1.legend(fontsize=7)
        ax2.legend(fontsize=7)
        axes = [ax1, ax2]
    else:
        fig_, ax = plt.subplots(figsize=(9.5, 5))
        if fig.extra_tables:
            header, rows = next(iter(fig.extra_tables.values()))
            xs = np.arange(len(rows))
            for j, col in enumerate(header[2:]):
                vals = np.array([r[2 + j] for r in rows], float)
                ax.bar(
                    xs + 0.4 * j, np.where(np.isfinite(vals), vals, np.nan), width=0.4, label=col
                )
            ax.set_xticks(xs + 0.2, [r[0] for r in rows], fontsize=8)
            ax.set_ylabel(fig.y_label)
            ax.legend(fontsize=7)
        else:
            colours: dict[str, str] = {}
            for k, v in fig.columns.items():
                group = (
                    k.split("P#=")[-1] if "P#=" in k else None
                )  # Fig. 10: RCRB in its RMSE's colour
                if k.startswith("RCRB"):
                    ax.plot(fig.x, v, "--", color=colours.get(group, "k"), label=k)
                else:
                    (line,) = ax.plot(fig.x, v, "-o", label=k, markersize=4)
                    if group is not None:
                        colours[group] = line.get_color()
            ax.set_xlabel(fig.x_label)
            ax.set_ylabel(fig.y_label)
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        if fig.log_y:
            ax.set_yscale("log")
        axes = [ax]
    axes[0].set_title(fig.title, fontsize=10)
    note = "\n".join(textwrap.wrap(" | ".join(fig.notes), 150 if fig.name == "fig3" else 110))
    lines = note.count("\n") + 1
    fig_.text(0.01, 0.005, note, fontsize=7, color="firebrick", va="bottom")
    fig_.tight_layout(rect=(0, 0.03 * lines, 1, 1))
    fig_.savefig(png, dpi=120)
    plt.close(fig_)
    return csv, png


def total_units(name: str, trials: int, **axes: Sequence) -> int:
    """Progress-bar length (trials × Monte Carlo runs) of a figure with the given axes."""
    n_curves = len(LOCALISATION_CURVES)
    if name == "fig3":
        return trials * len(axes.get("particles", (10, 30, 50)))
    if name == "fig8":
        return (
            trials
            * n_curves
            * (
                len(axes.get("etas", (1, 2, 3, 4, 5, 6)))
                if axes.get("design", "stand_in") != "stand_in"
                else 1
            )
        )
    if name == "fig9":
        return trials * n_curves * len(axes.get("p_max_dbm", (20, 25, 30, 35, 40)))
    if name == "fig10":
        return trials * len(axes.get("per_plane", range(6))) * len(axes.get("planes", range(3)))
    if name == "groups":
        return 4
    raise ValueError(f"unknown figure {name!r}")
