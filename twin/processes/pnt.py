"""The PNT process: TDOA positioning of terminal clusters by beam-scheduled satellites (seed 002).

One :class:`PntProcess` serves every terminal named by ``[pnt] terminals`` (default: all);
each is the centre of a cluster of hexagonal cells (``pnt.cells.hex_cells``), one UT per
cell, drawn once uniformly in its hexagon (``pnt.cells.sample_in_hexagons``) and moving
with the centre. At each epoch, per cluster (``docs/twin.md`` lists the columns):

1. visible satellites: valid and above ``[visibility] mask_elevation_deg`` from the centre;
   the **reference** (satellite 0 of seed 002) is the highest of them; the others, highest
   first and at most ``max_sats``, are schedulable. Fewer than ``i_tdoa`` schedulable, or too
   few for the beam budget (``C · i_tdoa > n_beams · schedulable``) -> rows with
   ``status = "too_few_satellites"`` (an interruption, recorded, not skipped);
2. body frames ``pnt.channel.pnt_body_frames(x_axis="along_track")`` (nadir boresight, or
   facing the cluster centre with ``boresight = "cluster"``) and
   channels eq. (8)-(10) (``pnt.channel.channels``);
3. the re-planning decision (:mod:`twin.processes.replan`); on re-plan the beam schedule
   (``pnt.scheduling.schedule``, HBS by default) and the beams (``pnt.beamforming.beamform``,
   DSTA by default, on its compiled engine ``pnt.dsta_compiled``; ``"mf"`` = per-beam matched
   filter, :func:`matched_filter_beams`);
   otherwise the held schedule and beams on the new
   channels;
4. per-link SINR eq. (2), √CRLB eq. (7) (``pnt.crlb.accuracy_per_ut``), GDOP, and one TDOA
   fix per UT (``pnt.crlb.gauss_newton_tdoa_each``: the cluster's UTs stacked, each as
   ``gauss_newton_tdoa`` alone, from its cell centre) from a noisy measurement
   ``TDOA_c = G_c(s_c) + u_c``, ``u_c ~ N(0, R_c)`` (eq. (5)-(6)).

Randomness: cluster ``g`` at epoch ``e`` draws from ``SeedSequence([seed, e, g])``: channel
phases, then beamformer draws, then the TOA errors. The UT positions come from
``SeedSequence([seed, g, UT_TAG])``. The held plan per cluster is checkpointed; it is
dropped at every window boundary (``[run] window``, :meth:`PntProcess.window_boundary`).
"""

from __future__ import annotations

import time as wallclock

import numpy as np

from twin.epoch import RunContext, entity_rng
from twin.geometry import ecef_to_geodetic, enu_basis, geodetic_to_ecef
from twin.pnt import beamforming
from twin.pnt.cells import hex_cells, sample_in_hexagons
from twin.pnt.channel import channels, noise_power_w, pnt_body_frames
from twin.pnt.crlb import (
    accuracy_per_ut,
    gauss_newton_tdoa_each,
    gdop,
    tdoa_measurements,
    toa_variance,
)
from twin.pnt.scheduling import schedule
from twin.processes.channel import PNT_ROLE, LinkChannel
from twin.processes.errors import ErrorBudget
from twin.processes.replan import (
    decide,
    decode_array,
    direction_drift_rad,
    encode_array,
    fault_hit,
    unit_directions,
)
from twin.units import dbw_to_w

__all__ = [
    "PntProcess",
    "UT_TAG",
    "cluster_offsets_en",
    "cluster_positions",
    "matched_filter_beams",
    "beamformer_name",
]

#: Last SeedSequence word of the once-per-run UT draw.
UT_TAG = 0x55540001


def beamformer_name(config) -> str:
    """The beamformer the process uses (``[pnt] beamformer``; ``"mf"`` is the matched-filter
    stand-in of :func:`matched_filter_beams`)."""
    return config.beamformer


def cluster_offsets_en(seed: int, entity_index: int, rings: int, cell_radius_m: float):
    """(cell centres (C, 2), UT offsets (C, 2)) east/north metres from the cluster centre."""
    centres = hex_cells(rings, cell_radius_m)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(entity_index), UT_TAG]))
    return centres, sample_in_hexagons(centres, cell_radius_m, rng)


def cluster_positions(centre_ecef, offsets_en) -> np.ndarray:
    """Earth-fixed points (C, 3) m at east/north offsets (C, 2) m from ``centre_ecef`` (3,),
    measured in the centre's tangent plane and put at the centre's geodetic height."""
    lat, lon, alt = ecef_to_geodetic(np.asarray(centre_ecef, dtype=float))
    basis = enu_basis(float(lat), float(lon))
    points = np.asarray(centre_ecef, dtype=float) + np.asarray(offsets_en) @ basis[:2]
    plat, plon, _ = ecef_to_geodetic(points)
    return geodetic_to_ecef(plat, plon, np.full(plat.shape, float(alt)))


def matched_filter_beams(H, delta, power_w: float) -> np.ndarray:
    """Stand-in beams: ``w_{i,c} = √P conj(h_{i,c}) / ‖h_{i,c}‖`` where scheduled, else 0.

    H (I, C, N) channels (UT receives h^T w); delta (I, C) bool; power_w P per beam (W).
    Returns W (I, C, N) complex √W (C4 of seed 002 with equality).
    """
    H = np.asarray(H, dtype=complex)
    norms = np.linalg.norm(H, axis=-1, keepdims=True)
    W = np.sqrt(power_w) * H.conj() / np.where(norms > 0, norms, 1.0)
    return np.where(np.asarray(delta, dtype=bool)[..., None], W, 0.0)


class PntProcess:
    """Positioning of every PNT terminal cluster on the clock (see the module docstring)."""

    name = "pnt"

    def __init__(self, context: RunContext):
        sc = context.scenario
        cfg = self.config = sc.pnt
        self.replan = sc.replan
        self.seed = int(sc.run.seed)
        self.mask_rad = sc.visibility.mask_elevation_rad
        self.terminals = list(cfg.terminals or [t.name for t in sc.terminals])
        self.index = {name: context.ground.index[name] for name in self.terminals}
        self.beamformer = beamformer_name(cfg)
        self.freq_hz = cfg.freq_ghz * 1e9
        self.bandwidth_hz = cfg.bandwidth_mhz * 1e6
        self.power_w = float(dbw_to_w(cfg.power_dbw))
        self.noise_w = float(noise_power_w(self.bandwidth_hz))
        self.cells = {}
        for name in self.terminals:
            self.cells[name] = cluster_offsets_en(
                self.seed, self.index[name], cfg.cluster_rings, cfg.cell_radius_m
            )
        self.plans: dict[str, dict] = {}
        self.valid_before: dict[str, bool] = {}
        self.window_epoch = -1  # the last window boundary epoch (re-plans there say "window")
        errors = getattr(sc, "errors", None)
        self.budget = (
            ErrorBudget(errors, self.freq_hz) if errors is not None and errors.active else None
        )
        self.draws = None  # the last _fixes' (noise, covariances, ok), for the budget
        self.channel = LinkChannel(sc, self.freq_hz, PNT_ROLE)  # [channel]

    # ------------------------------------------------------------ windows
    def window_boundary(self, index: int) -> None:
        """Forget every result-dependent state (held plans, warm starts) before window
        boundary epoch `index`; keep ``valid_before``, which depends on geometry only."""
        self.load_state({"valid_before": self.valid_before})
        self.window_epoch = int(index)

    def seed_from_epoch(self, epoch) -> None:
        """Geometry-only state as if `epoch` (the one before a window) had been processed:
        whether each cluster had enough satellites (``valid_before``)."""
        for name in self.terminals:
            elevation = np.where(epoch.sat_valid, epoch.elevation[self.index[name]], -np.pi / 2)
            n_visible = int(np.count_nonzero(elevation >= self.mask_rad))
            self.valid_before[name] = self._enough(n_visible, len(self.cells[name][0]))[0]

    def _enough(self, n_visible: int, C: int) -> tuple[bool, int, int]:
        """(enough satellites?, schedulable, needed) for `n_visible` visible satellites, C UTs."""
        cfg = self.config
        n_sched = min(max(n_visible - 1, 0), cfg.max_sats)
        need = max(
            cfg.i_tdoa, -(-C * cfg.i_tdoa // cfg.n_beams)
        )  # satellites besides the reference
        return n_sched >= need, n_sched, need

    # ------------------------------------------------------------ checkpoint
    def state(self) -> dict:
        plans = {
            name: {
                **{k: v for k, v in p.items() if k not in ("W", "delta", "dirs")},
                "W": encode_array(p["W"]),
                "delta": encode_array(p["delta"]),
                "dirs": encode_array(p["dirs"]),
            }
            for name, p in self.plans.items()
        }
        return {"plans": plans, "valid_before": self.valid_before}

    def load_state(self, state: dict) -> None:
        self.plans = {
            name: {
                **p,
                "sats": [int(s) for s in p["sats"]],
                "W": decode_array(p["W"]),
                "delta": decode_array(p["delta"]),
                "dirs": decode_array(p["dirs"]),
            }
            for name, p in state.get("plans", {}).items()
        }
        self.valid_before = {k: bool(v) for k, v in state.get("valid_before", {}).items()}

    # --------------------------------------------------------------- process
    def __call__(self, context: RunContext, inbox):
        while True:
            epoch = yield inbox.get()
            rows, handovers = [], []
            for name in self.terminals:
                rng = entity_rng(self.seed, epoch.index, self.index[name])
                r, events = self.step(context, epoch, name, rng)
                if epoch.fault_affected is not None:  # [[faults]]
                    for row in r:
                        row["fault_affected"] = bool(epoch.fault_affected[self.index[name]])
                rows.extend(r)
                handovers.extend(events)
            context.record("pnt", rows)
            context.record("handovers", handovers)
            context.count("handovers", len(handovers))
            context.count("pnt_rows", len(rows))

    def _beams(self, H, delta, ut_pos, sat_pos, ref_pos, rng):
        """(W (I, C, N), sinr (I, C), status) of the configured beamformer; status joins the
        distinct per-satellite statuses of ``pnt.beamforming.BeamResult`` (e.g. "ok;lowered")."""
        cfg = self.config
        if self.beamformer == "mf":
            W = matched_filter_beams(H, delta, self.power_w)
            return W, self._sinr(H, W, delta), "mf"
        opts = {}
        if self.beamformer == "dsta":
            opts = {
                "ut_pos": ut_pos,
                "sat_pos": sat_pos,
                "ref_pos": ref_pos,
                "bandwidth_hz": self.bandwidth_hz,
                "ref_var": cfg.ref_toa_var_s2,
                "rng": rng,
                "threshold_rule": cfg.threshold_rule,
            }
        res = beamforming.beamform(
            self.beamformer, H, delta, power_w=self.power_w, noise_w=self.noise_w, **opts
        )
        status = ";".join(sorted({str(s) for s in np.asarray(res.status).ravel()} - {"empty"}))
        return np.asarray(res.W), np.asarray(res.sinr, dtype=float), status

    def _sinr(self, H, W, delta):
        """Eq. (2) SINRs (I, C) of beams W on channels H (``pnt.beamforming.link_sinr``)."""
        return beamforming.link_sinr(H, W, delta, self.noise_w)

    def _event(self, epoch, name, kind, old, new, reason) -> dict:
        return {
            "epoch": epoch.index,
            "time": epoch.time,
            "entity": name,
            "kind": kind,
            "from_sat": old,
            "to_sat": new,
            "reason": reason,
        }

    def step(self, context: RunContext, epoch, name, rng) -> tuple[list[dict], list[dict]]:
        """The `pnt` rows (one per UT) of cluster `name` at `epoch` and its handover rows."""
        cfg = self.config
        g = self.index[name]
        names = context.sat_names
        centre = epoch.ground_pos[g]
        cell_centres, offsets = self.cells[name]
        started = wallclock.perf_counter()
        ut_pos = cluster_positions(centre, offsets)
        cell_pos = cluster_positions(centre, cell_centres)
        C = ut_pos.shape[0]
        elevation = np.where(epoch.sat_valid, epoch.elevation[g], -np.pi / 2)
        visible = np.flatnonzero(elevation >= self.mask_rad)
        visible = visible[np.argsort(-elevation[visible], kind="stable")]
        n_visible = int(len(visible))
        lat, lon, _ = ecef_to_geodetic(ut_pos)
        base = {"epoch": epoch.index, "time": epoch.time, "cluster": name}
        rows = [
            {
                **base,
                "ut": c,
                "lat_deg": float(np.degrees(lat[c])),
                "lon_deg": float(np.degrees(lon[c])),
                "status": "ok",
                "n_visible": n_visible,
                "reference": "",
                "sats": "",
                "beamformer": self.beamformer,
                "bf_status": "",
                "replanned": False,
                "replan_reason": "",
                "plan_age_epochs": -1,
                "solve_time_s": np.nan,
                "sinr_min_db": np.nan,
                "sinr_mean_db": np.nan,
                "crlb_m": np.nan,
                "crlb_at_plan_m": np.nan,
                "gdop": np.nan,
                "fix_error_m": np.nan,
                "fix_error_h_m": np.nan,
                "drift_deg": np.nan,
            }
            for c in range(C)
        ]
        if self.budget is not None:
            for row in rows:
                row.update(self.budget.empty_pnt())
        events = []
        valid, n_sched, need = self._enough(n_visible, C)
        why = (
            f"{n_visible} visible satellites: reference + {n_sched} schedulable, need {need} "
            f"({C} UTs x {cfg.i_tdoa} links on {cfg.n_beams} beams per satellite)"
        )
        was_valid = self.valid_before.get(name)
        if was_valid is not None and was_valid != valid:
            events.append(
                self._event(
                    epoch, name, "pnt_restored" if valid else "pnt_interruption", "", "", why
                )
            )
        elif was_valid is None and not valid:
            events.append(self._event(epoch, name, "pnt_interruption", "", "", why))
        self.valid_before[name] = valid
        if not valid:
            for row in rows:
                row["status"] = "too_few_satellites"
            self.plans.pop(name, None)
            return rows, events
        ref_now = int(visible[0])
        cands = [int(s) for s in visible[1 : 1 + cfg.max_sats]]
        plan = self.plans.get(name)
        if plan is None:
            forced = handover = change = False
            drift = 0.0
        else:
            used = np.asarray([plan["ref"]] + plan["sats"])
            forced = bool(np.any(elevation[used] < self.mask_rad))
            handover = ref_now != plan["ref"]
            change = set(cands) != set(plan["visible"])
            drift = direction_drift_rad(plan["dirs"], unit_directions(centre, epoch.sat_pos[used]))
        replan, reason = decide(
            self.replan,
            epoch=epoch.index,
            plan_epoch=None if plan is None else plan["epoch"],
            forced=forced,
            handover=handover,
            group_change=change,
            drift_rad=drift,
        )
        if plan is not None and fault_hit(epoch.pnt_payload_up, [plan["ref"]] + plan["sats"]):
            replan, reason = True, "fault"  # re-scheduled at the failure epoch ([[faults]])
        if reason == "initial" and epoch.index == self.window_epoch:
            reason = "window"
        ref = ref_now if replan else plan["ref"]
        sats = cands if replan else plan["sats"]
        sat_pos, sat_vel = epoch.sat_pos[sats], epoch.sat_vel[sats]
        ref_pos = epoch.sat_pos[ref]
        frames = pnt_body_frames(
            sat_pos,
            sat_vel=sat_vel,
            x_axis="along_track",
            boresight_to=centre if cfg.boresight == "cluster" else None,
        )
        H = channels(
            sat_pos,
            ut_pos,
            frames,
            freq_hz=self.freq_hz,
            nx=cfg.nx,
            ny=cfg.ny,
            element_gain_dbi=cfg.element_gain_dbi,
            rng=rng,
        )
        ntn = self.channel.losses(g, ut_pos, sat_pos, sats, epoch.index)  # (C, I) TR terms/None
        H = self.channel.scale_pnt(H, ntn)
        context.stage("pnt_channels", started)
        if replan:
            started = wallclock.perf_counter()
            delta = schedule(
                cfg.scheduler,
                H,
                ut_pos,
                sat_pos,
                ref_pos,
                i_tdoa=cfg.i_tdoa,
                max_beams=cfg.n_beams,
                m=cfg.hbs_m,
            )
            started = context.stage("pnt_scheduling", started)
            W, sinr, bf_status = self._beams(H, delta, ut_pos, sat_pos, ref_pos, rng)
            context.stage("pnt_beamforming", started)
            solve_s = wallclock.perf_counter() - started
            if plan is not None:
                old_used = [plan["sats"][i] for i in np.flatnonzero(plan["delta"].any(axis=1))]
                new_used = [sats[i] for i in np.flatnonzero(delta.any(axis=1))]
                if ref != plan["ref"]:
                    events.append(
                        self._event(
                            epoch,
                            name,
                            "pnt_reference",
                            str(names[plan["ref"]]),
                            str(names[ref]),
                            f"re-plan: {reason}",
                        )
                    )
                if set(old_used) != set(new_used):
                    left = sorted(str(names[s]) for s in set(old_used) - set(new_used))
                    joined = sorted(str(names[s]) for s in set(new_used) - set(old_used))
                    events.append(
                        self._event(
                            epoch,
                            name,
                            "pnt_positioning",
                            ";".join(left),
                            ";".join(joined),
                            f"{len(joined)} joined, {len(left)} left",
                        )
                    )
                old_sets = [
                    frozenset(plan["sats"][i] for i in np.flatnonzero(plan["delta"][:, c]))
                    for c in range(C)
                ]
                new_sets = [
                    frozenset(sats[i] for i in np.flatnonzero(delta[:, c])) for c in range(C)
                ]
                moved = sum(int(a != b) for a, b in zip(old_sets, new_sets))
                if moved:
                    events.append(
                        self._event(
                            epoch,
                            name,
                            "pnt_beams",
                            "",
                            "",
                            f"{moved} of {C} UTs changed serving beams",
                        )
                    )
            plan = {
                "epoch": epoch.index,
                "ref": ref,
                "sats": sats,
                "visible": cands,
                "delta": np.asarray(delta, bool),
                "W": W,
                "dirs": unit_directions(centre, epoch.sat_pos[[ref] + sats]),
                "status": bf_status,
                "crlb": None,
            }
            self.plans[name] = plan
        else:
            solve_s = np.nan
            started = wallclock.perf_counter()
            sinr = self._sinr(H, plan["W"], plan["delta"])
            context.stage("pnt_beamforming", started)
        delta = plan["delta"]
        started = wallclock.perf_counter()
        acc = accuracy_per_ut(
            ut_pos, sat_pos, ref_pos, delta, sinr, self.bandwidth_hz, cfg.ref_toa_var_s2
        )
        if replan:
            plan["crlb"] = [float(a) for a in acc]
        sat_idx = np.nonzero(delta.T)[1].reshape(
            C, cfg.i_tdoa
        )  # (C, L) per-UT scheduled satellites
        ut_gdop = gdop(ut_pos, sat_pos[sat_idx], ref_pos)
        link = sinr[sat_idx, np.arange(C)[:, None]]  # (C, L)
        errors, errors_h = self._fixes(ut_pos, cell_pos, sat_pos[sat_idx], ref_pos, link, rng)
        if self.budget is not None:
            budget = self.budget.pnt_columns(
                epoch, ut_pos, cell_pos, np.asarray(sats)[sat_idx], ref, self.draws
            )
            for row, extra in zip(rows, budget):
                row.update(extra)
        context.stage("pnt_positioning", started)
        with np.errstate(divide="ignore"):
            link_db = 10.0 * np.log10(link)
        for c, row in enumerate(rows):
            row.update(
                {
                    "reference": str(names[ref]),
                    "sats": ";".join(str(names[sats[i]]) for i in sat_idx[c]),
                    "bf_status": str(plan["status"]),
                    "replanned": bool(replan),
                    "replan_reason": reason,
                    "plan_age_epochs": int(epoch.index - plan["epoch"]),
                    "solve_time_s": float(solve_s),
                    "sinr_min_db": float(link_db[c].min()),
                    "sinr_mean_db": float(link_db[c].mean()),
                    "crlb_m": float(acc[c]),
                    "crlb_at_plan_m": float(plan["crlb"][c]),
                    "gdop": float(ut_gdop[c]),
                    "fix_error_m": float(errors[c]),
                    "fix_error_h_m": float(errors_h[c]),
                    "drift_deg": float(np.degrees(drift)),
                    **self.channel.columns(ntn, c, sat_idx[c]),
                }
            )
        return rows, events

    def _fixes(self, ut_pos, start_pos, sats, ref_pos, link_sinr, rng):
        """3-D and horizontal errors (C,) m of one noisy TDOA fix per UT (eq. (5)-(6)).

        sats (C, L, 3) scheduled satellites per UT, ref_pos (3,), link_sinr (C, L) linear.
        TOA errors: e_0 ~ N(0, σ²_0) (reference), e_i ~ N(0, σ²_i), σ²_i from eq. (3);
        TDOA_i = G_i + e_i − e_0, covariance R_c = σ²_0 1 1^T + diag(σ²_i). The fix starts at
        the UT's cell centre ``start_pos`` (C, 3). NaN where a SINR is zero or where the
        iteration's normal equations turn singular (noisy TDOAs can throw it far away).
        """
        cfg = self.config
        C, L = link_sinr.shape
        ok = np.all(link_sinr > 0, axis=1)
        var = np.where(
            ok[:, None],
            toa_variance(np.where(link_sinr > 0, link_sinr, 1.0), self.bandwidth_hz),
            np.nan,
        )
        e0 = rng.normal(0.0, np.sqrt(cfg.ref_toa_var_s2), size=C)
        ei = rng.normal(size=(C, L)) * np.sqrt(np.nan_to_num(var))
        meas = tdoa_measurements(ut_pos, sats, ref_pos) + ei - e0[:, None]
        errors, errors_h = np.full(C, np.nan), np.full(C, np.nan)
        lat, lon, _ = ecef_to_geodetic(ut_pos)
        ups = enu_basis(lat, lon)[:, 2, :]
        self.draws = (
            ei - e0[:, None],
            cfg.ref_toa_var_s2 * np.ones((C, L, L)) + var[:, :, None] * np.eye(L),
            ok,
        )
        use = np.flatnonzero(ok)
        # every UT's fix as gauss_newton_tdoa alone would give it; a singular iteration (the
        # fix ran away on weak links) gives no fix
        fix, solved = gauss_newton_tdoa_each(
            meas[use], sats[use], ref_pos, start_pos[use], self.draws[1][use]
        )
        for n, c in enumerate(use):
            if not solved[n]:
                continue
            err = fix[n] - ut_pos[c]
            errors[c] = np.linalg.norm(err)
            errors_h[c] = np.linalg.norm(err - (err @ ups[c]) * ups[c])
        return errors, errors_h
