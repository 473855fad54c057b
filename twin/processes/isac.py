"""The ISAC process: cooperative sensing of each target by its serving group (seed 000).

One :class:`IsacProcess` serves every target named by ``[isac] targets`` (default: all). At
each epoch, for each target (``docs/twin.md`` has the table it writes, column by column):

1. the serving group from the topology (``epoch.groups[name]``, central first); no valid
   group -> a row with ``status = "no_group"`` (an interruption, recorded, not skipped);
2. the array frames of the members (``isac.model.isac_array_frames``: nadir boresight,
   along-track x) and the M UE channels (``isac.channel.comm_channels``, eqs. (3)-(5));
3. the re-planning decision (:mod:`twin.processes.replan`); on re-plan the joint transmit
   design (fast path, paper Algorithm 2 or the stand-in); otherwise the held beams (W, R),
   still carried by the satellites that were planned, evaluated on the new geometry;
4. the RCRB of that design at the true target (seed 000 eq. (20), ``isac.crb.rcrb``), the
   per-UE rates (eq. (8), ``isac.channel.sinr_rate``), one echo draw (eqs. (11)/(14)) and
   the chosen estimator (``isac.locate.estimate``) searching a cube around the prior centre.

Randomness: every draw of target ``g`` (its index among the ground entities) at epoch ``e``
comes from ``SeedSequence([seed, e, g])`` (:func:`twin.epoch.entity_rng`), in this order:
fresh prior centre (when not tracking), channel (rain, Rician), β phases, transmitted
samples, echo noise, estimator. UEs are drawn once per target from
``SeedSequence([seed, g, UE_TAG])`` as east/north offsets uniform in the ``ue_radius_km``
disk and follow the target (the service area is centred on it).

Carried between epochs (checkpointed, so a resumed run is identical): the held plan of
each target and its previous estimate (the next prior when ``track_prior``). Both are
dropped at every window boundary (``[run] window``, :meth:`IsacProcess.window_boundary`):
there every target with a valid group re-plans cold (reason ``"window"``, no warm start)
from a fresh prior, so a window run on its own writes the serial run's rows.
"""

from __future__ import annotations

import copy
import dataclasses
import time as wallclock

import numpy as np

from twin.epoch import RunContext, entity_rng
from twin.geometry import ecef_to_geodetic, enu_basis, geodetic_to_ecef
from twin.isac.design.algorithm2 import algorithm2
from twin.isac.design.fast_design import fast_design
from twin.isac.design.problem import DesignProblem, evaluate_design
from twin.isac.estimation.locate import SensingProblem, draw_prior_centre, estimate
from twin.isac.physics import channel as isac_channel
from twin.isac.physics import crb as isac_crb
from twin.isac.physics import transmit as isac_transmit
from twin.isac.physics.model import (
    echo,
    isac_array_frames,
    reflection_coefficients,
    transmit_samples,
)
from twin.processes.channel import ISAC_ROLE, LinkChannel
from twin.processes.errors import ErrorBudget
from twin.processes.replan import (
    decide,
    decode_array,
    direction_drift_rad,
    encode_array,
    fault_hit,
    unit_directions,
)
from twin.units import dbm_to_w

__all__ = [
    "IsacProcess",
    "UE_TAG",
    "ue_offsets_enu",
    "ue_positions_around",
    "design_name",
    "isac_params",
]

#: Last SeedSequence word of the once-per-run UE draw (never an epoch triple's last word).
UE_TAG = 0x55450001


def isac_params(config, group_size: int) -> isac_channel.IsacParams:
    """Seed 000 channel parameters from ``[isac]`` (K = the serving group size)."""
    return isac_channel.IsacParams(
        nx=config.nx,
        nz=config.nz,
        K=group_size,
        M=config.n_ue,
        p_max_dbm=config.p_max_dbm,
        rate_target_bps_hz=config.rate_target_bps_hz,
        sensing_noise_dbm=config.sensing_noise_dbm,
        service_radius_m=config.ue_radius_m,
    )


def design_name(config) -> str:
    """The design the process uses (``[isac] design``)."""
    return config.design


def ue_offsets_enu(seed: int, entity_index: int, n_ue: int, radius_m: float) -> np.ndarray:
    """(M, 2) east/north offsets in metres, uniform in the disk of ``radius_m`` (r = R √U)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(entity_index), UE_TAG]))
    r = radius_m * np.sqrt(rng.uniform(size=n_ue))
    az = rng.uniform(0.0, 2.0 * np.pi, size=n_ue)
    return np.stack([r * np.cos(az), r * np.sin(az)], axis=-1)


def ue_positions_around(centre_ecef, offsets_en) -> np.ndarray:
    """UE positions (M, 3) Earth-fixed metres: the east/north offsets (M, 2) m in the tangent
    plane at ``centre_ecef`` (3,), put back at the centre's geodetic height."""
    lat, lon, alt = ecef_to_geodetic(np.asarray(centre_ecef, dtype=float))
    basis = enu_basis(float(lat), float(lon))
    points = np.asarray(centre_ecef, dtype=float) + np.asarray(offsets_en) @ basis[:2]
    plat, plon, _ = ecef_to_geodetic(points)
    return geodetic_to_ecef(plat, plon, np.full(plat.shape, float(alt)))


class IsacProcess:
    """Sensing and communication of every ISAC target on the clock (see the module docstring)."""

    name = "isac"

    def __init__(self, context: RunContext):
        sc = context.scenario
        self.config = sc.isac
        self.replan = sc.replan
        self.seed = int(sc.run.seed)
        self.targets = list(self.config.targets or [t.name for t in sc.targets])
        self.index = {name: context.ground.index[name] for name in self.targets}
        self.design = design_name(self.config)
        self.engine = self.config.engine
        self.params = isac_params(self.config, sc.serving.group_size)
        self.noise_w = float(dbm_to_w(self.config.sensing_noise_dbm))
        self.p_max_w = float(dbm_to_w(self.config.p_max_dbm))
        self.group_mask_rad = sc.serving.group_mask_elevation_rad
        self.ue_offsets = {
            name: ue_offsets_enu(
                self.seed, self.index[name], self.config.n_ue, self.config.ue_radius_m
            )
            for name in self.targets
        }
        self.plans: dict[str, dict] = {}
        self.previous_estimate: dict[str, list] = {}
        self.window_epoch = -1  # the last window boundary epoch (re-plans there say "window")
        errors = getattr(sc, "errors", None)
        self.budget = ErrorBudget(errors, 0.0) if errors is not None and errors.active else None
        self.channel = LinkChannel(sc, self.params.freq_hz, ISAC_ROLE)  # [channel]

    # ------------------------------------------------------------ windows
    def window_boundary(self, index: int) -> None:
        """Forget every result-dependent state before window boundary epoch `index`: the held
        plans (hence warm starts) and the tracked estimates (hence track priors)."""
        self.load_state({})
        self.window_epoch = int(index)

    def seed_from_epoch(self, epoch) -> None:
        """Geometry-only state as if `epoch` (the one before a window) had been processed:
        the ISAC process carries none."""

    # ------------------------------------------------------------ checkpoint
    def state(self) -> dict:
        plans = {}
        for name, plan in self.plans.items():
            arrays = ("W", "R", "factors", "dirs")
            plans[name] = {
                **{k: v for k, v in plan.items() if k not in arrays},
                **{k: encode_array(plan.get(k)) for k in arrays},
            }
        return {"plans": plans, "previous_estimate": self.previous_estimate}

    def load_state(self, state: dict) -> None:
        self.plans = {}
        for name, plan in state.get("plans", {}).items():
            self.plans[name] = {
                **plan,
                "members": [int(m) for m in plan["members"]],
                **{k: decode_array(plan.get(k)) for k in ("W", "R", "factors", "dirs")},
            }
        self.previous_estimate = {k: list(v) for k, v in state.get("previous_estimate", {}).items()}

    # --------------------------------------------------------------- process
    def __call__(self, context: RunContext, inbox):
        while True:
            epoch = yield inbox.get()
            rows, handovers = [], []
            # every target's geometry, channels and re-planning decision, then the epoch's designs
            # (one batched call with [isac] engine = "compiled"), then estimation target by target
            rngs = [entity_rng(self.seed, epoch.index, self.index[name]) for name in self.targets]
            steps = [
                self.prepare(context, epoch, name, rng) for name, rng in zip(self.targets, rngs)
            ]
            self.plan_all(context, epoch, steps)
            for name, rng, st in zip(self.targets, rngs, steps):
                row, events = self.finish(context, epoch, st, rng)
                if epoch.fault_affected is not None:  # [[faults]]
                    row["fault_affected"] = bool(epoch.fault_affected[self.index[name]])
                rows.append(row)
                handovers.extend(events)
            context.record("isac", rows)
            context.record("handovers", handovers)
            context.count("handovers", len(handovers))
            for row in rows:
                context.count("isac_rows", 1)
                context.count("isac_replans", int(row["replanned"]))

    # ------------------------------------------------------------ one target
    def _problem(self, sat_pos, prior, beta, frames, H) -> DesignProblem:
        """The joint-design problem (33) of one target at its prior centre."""
        return DesignProblem(
            sat_pos=sat_pos,
            target=prior,
            beta=beta,
            H=H,
            eta=self.config.rate_target_bps_hz,
            p_max_w=self.p_max_w,
            sensing_noise_w=self.noise_w,
            nx=self.config.nx,
            nz=self.config.nz,
            frames=frames,
            snapshots=self.config.snapshots,
        )

    @staticmethod
    def _warm_start(problem, warm):
        """The fast design's warm start rebuilt from the (checkpointed) held plan ``warm`` = (W, R,
        factors) or None, so a resumed run starts alike."""
        if warm is None:
            return None
        extra = {} if warm[2] is None else {"factors": warm[2]}
        return evaluate_design(problem, warm[0], warm[1], scheme="held", extra=extra)

    @staticmethod
    def _outcome(result, seconds):
        """(W, R, factors, status, gap, solve_time_s) of a DesignResult (see :meth:`_design`)."""
        extra = result.extra if isinstance(result.extra, dict) else {}
        factors = extra.get("factors")
        gap = float(extra.get("dual_gap", float("nan")))
        return (
            np.asarray(result.W),
            np.asarray(result.R),
            None if factors is None else np.asarray(factors),
            str(result.status),
            gap,
            seconds,
        )

    def _design(self, sat_pos, prior, beta, frames, H, warm):
        """(W, R, factors, status, gap, solve_time_s) of the configured design; ``factors`` is the fast
        path's internal start point (``DesignResult.extra["factors"]``, kept for warm starts) or None;
        ``gap`` is the fast path's certified optimality gap (``extra["dual_gap"]``: RCRB over the
        SDR's weak-duality bound, minus 1), NaN for the other designs.
        ``warm`` = (W, R, factors) of the held plan when its satellites are the same, else None."""
        started = wallclock.perf_counter()
        K, N = sat_pos.shape[0], self.params.N
        if self.design == "stand_in":
            W, R = isac_transmit.matched_filter_isotropic(
                H, K, N, self.p_max_w, comm_fraction=self.config.comm_fraction
            )
            return W, R, None, "stand_in", float("nan"), wallclock.perf_counter() - started
        problem = self._problem(sat_pos, prior, beta, frames, H)
        if self.design == "fast":
            result = fast_design(problem, warm_start=self._warm_start(problem, warm))
        else:
            result = algorithm2(problem)
        return self._outcome(result, wallclock.perf_counter() - started)

    def _designs_compiled(self, requests):
        """The outcomes (as :meth:`_design`) of every request (sat_pos, prior, beta, frames, H, warm)
        of an epoch by one call of the compiled, batched fast design
        (:func:`twin.isac.design.fast_many.fast_design_many`); solve_time_s is each problem's own."""
        from twin.isac.design.fast_many import fast_design_many  # deferred: numba, 0.3 s import

        problems = [self._problem(*req[:5]) for req in requests]
        warms = [self._warm_start(pb, req[5]) for pb, req in zip(problems, requests)]
        results = fast_design_many(problems, warms)
        return [self._outcome(r, float(r.solve_time_s)) for r in results]

    def step(self, context: RunContext, epoch, name, rng) -> tuple[dict, list[dict]]:
        """The `isac` row of target `name` at `epoch` and the handover rows it causes."""
        st = self.prepare(context, epoch, name, rng)
        self.plan_all(context, epoch, [st])
        return self.finish(context, epoch, st, rng)

    def prepare(self, context: RunContext, epoch, name, rng) -> dict:
        """Target `name` at `epoch` up to its design: the row so far, the serving group, the
        prior, the re-planning decision, the array frames, channels and beta (the draws of
        ``rng`` in the module docstring's order). A target without a valid group is finished
        here (``st["done"]``)."""
        cfg = self.config
        g = self.index[name]
        target = epoch.ground_pos[g]
        lat, lon, alt = ecef_to_geodetic(target)
        group = epoch.groups[name]
        sat_names = context.sat_names
        row = {
            "epoch": epoch.index,
            "time": epoch.time,
            "target": name,
            "target_lat_deg": float(np.degrees(lat)),
            "target_lon_deg": float(np.degrees(lon)),
            "target_alt_m": float(alt),
            "status": "ok",
            "central": "",
            "members": "",
            "n_sats": 0,
            "design": self.design,
            "design_status": "",
            "design_gap": np.nan,
            "replanned": False,
            "replan_reason": "",
            "plan_age_epochs": -1,
            "solve_time_s": np.nan,
            "rcrb_m": np.nan,
            "rcrb_at_plan_m": np.nan,
            "error_m": np.nan,
            "error_h_m": np.nan,
            "est_lat_deg": np.nan,
            "est_lon_deg": np.nan,
            "est_alt_m": np.nan,
            "prior_source": "",
            "prior_offset_m": np.nan,
            "echo_snr_db": np.nan,
            "rate_min_bps_hz": np.nan,
            "rate_mean_bps_hz": np.nan,
            "n_ue_below_target": -1,
            "rates_bps_hz": [],
            "drift_deg": np.nan,
        }
        if self.budget is not None:
            row.update(self.budget.empty_isac())
        events = []
        if not group.valid:
            row["status"] = "no_group"
            row["central"] = str(sat_names[group.central]) if group.central >= 0 else ""
            self.plans.pop(name, None)
            self.previous_estimate.pop(name, None)
            return {"done": True, "row": row, "events": events}
        started = wallclock.perf_counter()
        # prior centre: the previous estimate (tracking) or a fresh p + U(±spread)^3
        previous = self.previous_estimate.get(name)
        if cfg.track_prior and previous is not None:
            prior, row["prior_source"] = np.asarray(previous, dtype=float), "track"
        else:
            prior = draw_prior_centre(target, rng, spread_m=cfg.prior_spread_m)
            row["prior_source"] = "fresh"
        row["prior_offset_m"] = float(np.linalg.norm(prior - target))
        # the re-planning decision
        plan = self.plans.get(name)
        members_now = [int(m) for m in group.members]
        if plan is None:
            forced = handover = change = False
            drift = 0.0
        else:
            held = np.asarray(plan["members"])
            forced = bool(
                np.any(~epoch.sat_valid[held])
                or np.any(epoch.elevation[g, held] < self.group_mask_rad)
            )
            handover = group.central != plan["central"]
            change = set(members_now) != set(plan["members"])
            drift = direction_drift_rad(plan["dirs"], unit_directions(prior, epoch.sat_pos[held]))
        replan, reason = decide(
            self.replan,
            epoch=epoch.index,
            plan_epoch=None if plan is None else plan["epoch"],
            forced=forced,
            handover=handover,
            group_change=change,
            drift_rad=drift,
        )
        if plan is not None and fault_hit(epoch.isac_payload_up, plan["members"]):
            replan, reason = True, "fault"  # dropped at the failure epoch ([[faults]])
        if reason == "initial" and epoch.index == self.window_epoch:
            reason = "window"
        members = members_now if replan else list(plan["members"])
        sat_pos, sat_vel = epoch.sat_pos[members], epoch.sat_vel[members]
        frames = isac_array_frames(sat_pos, sat_vel)
        ues = ue_positions_around(target, self.ue_offsets[name])
        H = isac_channel.comm_channels(
            sat_pos, ues, frames=frames, params=self.params, rng=rng, center_ecef=target
        )
        ntn = self.channel.losses(g, ues, sat_pos, members, epoch.index)  # (M, K) TR terms/None
        H = self.channel.scale_isac(H, ntn)
        beta = reflection_coefficients(cfg.beta_model, sat_pos, prior, rng=rng)
        context.stage("isac_channels", started)
        return dict(
            done=False,
            name=name,
            row=row,
            events=events,
            target=target,
            lat=lat,
            lon=lon,
            group=group,
            prior=prior,
            plan=plan,
            replan=replan,
            reason=reason,
            drift=drift,
            members=members,
            sat_pos=sat_pos,
            frames=frames,
            H=H,
            ntn=ntn,
            beta=beta,
        )

    def plan_all(self, context: RunContext, epoch, steps) -> None:
        """Design for every prepared target that re-plans (in place: ``st["plan"]``, the
        ``isac_beams`` handover events, ``solve_time_s``): target by target, or all in one call of
        the compiled engine (``[isac] engine = "compiled"`` with the fast design)."""
        todo = [st for st in steps if not st["done"] and st["replan"]]
        if not todo:
            return
        started = wallclock.perf_counter()
        requests = []
        for st in todo:
            plan, members = st["plan"], st["members"]
            warm = None
            if plan is not None and list(plan["members"]) == members:
                warm = (plan["W"], plan["R"], plan.get("factors"))
            requests.append((st["sat_pos"], st["prior"], st["beta"], st["frames"], st["H"], warm))
        if self.engine == "compiled" and self.design == "fast":
            outcomes = self._designs_compiled(requests)
        else:
            outcomes = [self._design(*req) for req in requests]
        context.stage("design", started)
        sat_names = context.sat_names
        for st, (W, R, factors, status, gap, solve_s) in zip(todo, outcomes):
            name, plan, members, events = st["name"], st["plan"], st["members"], st["events"]
            reason, group, prior, sat_pos = st["reason"], st["group"], st["prior"], st["sat_pos"]
            if plan is not None and set(plan["members"]) != set(members):
                old = ";".join(str(sat_names[m]) for m in plan["members"])
                events.append(
                    {
                        "epoch": epoch.index,
                        "time": epoch.time,
                        "entity": name,
                        "kind": "isac_beams",
                        "from_sat": old,
                        "to_sat": ";".join(str(sat_names[m]) for m in members),
                        "reason": f"re-plan: {reason}",
                    }
                )
            plan = {
                "epoch": epoch.index,
                "members": members,
                "central": int(group.central),
                "W": W,
                "R": R,
                "factors": factors,
                "dirs": unit_directions(prior, sat_pos),
                "status": status,
                "gap": gap,
                "rcrb_m": np.nan,
            }
            self.plans[name] = plan
            st["plan"] = plan
            st["row"]["solve_time_s"] = solve_s

    def finish(self, context: RunContext, epoch, st, rng) -> tuple[dict, list[dict]]:
        """The `isac` row of a prepared and planned target (RCRB, rates, echo, estimate) and the
        handover rows it causes."""
        if st["done"]:
            return st["row"], st["events"]
        cfg = self.config
        sat_names = context.sat_names
        row, events, name, target = st["row"], st["events"], st["name"], st["target"]
        lat, lon, group, prior, plan = st["lat"], st["lon"], st["group"], st["prior"], st["plan"]
        replan, reason, drift, members = st["replan"], st["reason"], st["drift"], st["members"]
        sat_pos, frames, H, ntn, beta = st["sat_pos"], st["frames"], st["H"], st["ntn"], st["beta"]
        started = wallclock.perf_counter()
        W, R = plan["W"], plan["R"]
        Rx = isac_transmit.transmit_covariance(W, R)
        crb_kwargs = dict(
            noise_power=self.noise_w, nx=cfg.nx, nz=cfg.nz, frames=frames, snapshots=cfg.snapshots
        )
        try:
            rcrb = isac_crb.rcrb(sat_pos, target, Rx, beta, **crb_kwargs)
        except ValueError:  # singular FIM
            rcrb = np.inf
        if replan:
            plan["rcrb_m"] = rcrb
        _, rates = isac_channel.sinr_rate(H, W, R)
        snr = isac_crb.echo_snr(
            sat_pos, target, Rx, beta, noise_power=self.noise_w, nx=cfg.nx, nz=cfg.nz, frames=frames
        )
        context.stage("isac_crb", started)
        started = wallclock.perf_counter()
        x = transmit_samples(W, R, cfg.snapshots, rng)
        y = echo(
            sat_pos,
            target,
            beta,
            x,
            noise_power=self.noise_w,
            nx=cfg.nx,
            nz=cfg.nz,
            frames=frames,
            rng=rng,
        )
        problem = SensingProblem(
            sat_pos=sat_pos,
            beta=beta,
            nx=cfg.nx,
            nz=cfg.nz,
            samples=x,
            noise_power=self.noise_w,
            prior_centre=prior,
            half_width_m=cfg.search_half_width_m,
            frames=frames,
        )
        opts = (
            {"particles": cfg.pso_particles, "iterations": cfg.pso_iterations}
            if cfg.estimator in ("pso", "pso_refined")
            else {}
        )
        belief_rng = copy.deepcopy(rng) if self.budget is not None else None
        est = estimate(cfg.estimator, problem, y, rng, engine=self.engine, **opts).position
        if self.budget is not None:  # the same estimator, draws and echo; believed satellites

            def solve(pos, vel):
                believed = dataclasses.replace(
                    problem, sat_pos=pos, frames=isac_array_frames(pos, vel)
                )
                return estimate(
                    cfg.estimator, believed, y, belief_rng, engine=self.engine, **opts
                ).position

            row.update(self.budget.isac_columns(epoch, members, target, solve))
        context.stage("estimation", started)
        offset = problem.to_enu(est)
        # an estimate on the search cube's face is not trusted as the next prior (re-acquire)
        if np.all(np.abs(offset) < 0.99 * cfg.search_half_width_m):
            self.previous_estimate[name] = [float(v) for v in est]
        else:
            self.previous_estimate.pop(name, None)
        elat, elon, ealt = ecef_to_geodetic(est)
        err = est - target
        up = enu_basis(float(lat), float(lon))[2]
        row.update(
            {
                "central": str(sat_names[group.central]),
                "members": ";".join(str(sat_names[m]) for m in members),
                "n_sats": len(members),
                "design_status": str(plan["status"]),
                "design_gap": float(plan.get("gap", np.nan)),
                "replanned": bool(replan),
                "replan_reason": reason,
                "plan_age_epochs": int(epoch.index - plan["epoch"]),
                "rcrb_m": float(rcrb),
                "rcrb_at_plan_m": float(plan["rcrb_m"]),
                "error_m": float(np.linalg.norm(err)),
                "error_h_m": float(np.linalg.norm(err - (err @ up) * up)),
                "est_lat_deg": float(np.degrees(elat)),
                "est_lon_deg": float(np.degrees(elon)),
                "est_alt_m": float(ealt),
                "echo_snr_db": float(10 * np.log10(snr)) if snr > 0 else -np.inf,
                "rate_min_bps_hz": float(rates.min()),
                "rate_mean_bps_hz": float(rates.mean()),
                "n_ue_below_target": int(np.sum(rates < cfg.rate_target_bps_hz - 1e-9)),
                "rates_bps_hz": [float(r) for r in rates],
                "drift_deg": float(np.degrees(drift)),
                **self.channel.columns(ntn),
            }
        )
        return row, events
