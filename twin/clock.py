"""The SimPy clock that drives a run: the orbit process and the inboxes of its subscribers.

One `Twin` per run. `Twin.run()` starts a SimPy environment whose time is
seconds since the scenario start, and two kinds of processes:

- the **orbit process** (one): at every step it propagates the constellation
  (in blocks of epochs, vectorised), computes look angles from every ground
  entity, rebuilds the ISL graph, picks each entity's serving group, tracks
  handovers, and publishes an `Epoch` (``twin.epoch``);
- **subscribers**: any number of processes that receive every `Epoch`. The clock knows
  none of them: whoever builds a Twin subscribes them (``twin.processes.attach``: the
  foundation's recorder, then ISAC and PNT). A subscriber is a factory called with the
  run's :class:`twin.epoch.RunContext` (its only way to write) and its inbox::

      def my_process(context, inbox):
          while True:
              epoch = yield inbox.get()      # an Epoch, in time order
              rng = entity_rng(seed, epoch.index, g)   # twin.epoch: per entity and epoch
              rows = ...                      # use epoch.sat_pos, epoch.groups, rng
              context.record("my_table", rows)

      twin = Twin(scenario, run_dir)
      twin.subscribe(my_process)
      twin.run()

  A subscriber must finish its work on an epoch without yielding a timeout
  (all of an epoch's work happens at that epoch's simulated time), so that a
  checkpoint taken before epoch i is published covers every row of epochs < i.
  A subscriber registered with ``stateful=True`` is checkpointed: it has ``name``,
  ``state()`` / ``load_state(state)``, ``window_boundary(index)`` and ``seed_from_epoch(epoch)``.

The clock draws no random numbers: ``twin.epoch`` lists where every draw of a run comes
from (none runs across epochs), so a resumed or split run draws the same numbers as an
uninterrupted one. The run directory (checkpoints, run.json, the Recorder's parts) is a
``twin.rundir.RunDirectory``.

Window boundaries (``[run] window``, docs/twin.md "Windowed runs"): before epoch ``b``
with ``b > 0`` and ``b % window == 0`` is published, every stateful process's
``window_boundary(b)`` drops what earlier epochs' *results* left behind (held plans, warm
starts, tracked estimates). Serial and windowed runs both do this, so a window
``[b, b + window)`` run on its own (``Twin(..., span=(b, stop))``, seeded by
``twin.windows``) writes the rows the serial run writes.
"""

from __future__ import annotations

import time as wallclock
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import simpy

from twin import geometry
from twin.config.channel import channel_facts
from twin.constellation import build, isl, orbits, planes, serving
from twin.constellation.belief import Belief
from twin.constellation.faults import FaultSchedule, without_links
from twin.constellation.handover import HandoverTracker
from twin.epoch import Epoch, GroundEntities, RunContext
from twin.errors import RunInterrupted
from twin.rundir import RUN_INFO, RunDirectory, read_json, window_checkpoint_path

PROPAGATION_BLOCK = 60  # epochs propagated per vectorised SGP4 call


@dataclass
class StageTimer:
    """Wall-clock seconds spent per stage of the epoch pipeline."""

    seconds: dict = field(default_factory=dict)

    def add(self, stage: str, started: float) -> float:
        now = wallclock.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - started
        return now


def is_window_boundary(index: int, window: int) -> bool:
    """True at the epochs where processes forget their carried state: ``index > 0`` and a
    multiple of ``window`` (epochs)."""
    return index > 0 and index % int(window) == 0


class Twin:
    """One run of a scenario on the SimPy clock, written to `run_dir`."""

    def __init__(
        self,
        scenario,
        run_dir: Path,
        *,
        resume: bool = False,
        constellation=None,
        labels=None,
        span: tuple[int, int] | None = None,
        shard: int = 0,
    ):
        """`span` = (first, stop): run only epochs ``[first, stop)`` as one window of a
        windowed run (checkpoint in ``windows/<first>.json``, no run.json; see
        `twin.windows`); `shard` >= 1: one entity shard of that window (its parts and
        checkpoint carry ``-s<shard>``; which entities it serves is up to the processes
        attached); `labels`: the constellation's plane labels if already known."""
        self.scenario = scenario
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.timer = StageTimer()
        run = scenario.run
        self.step_s = float(run.step_s)
        self.n_epochs = int(run.n_epochs)
        self.start = (
            pd.Timestamp(run.start).tz_convert("UTC")
            if pd.Timestamp(run.start).tzinfo
            else pd.Timestamp(run.start, tz="UTC")
        )
        self.times = self.start + pd.to_timedelta(np.arange(self.n_epochs) * self.step_s, unit="s")
        started = wallclock.perf_counter()
        if constellation is None and getattr(scenario.constellation, "drop_decayed", None):
            constellation = build.build_for_run(  # a window worker: the driver's subset
                scenario.constellation, self.start.to_pydatetime(), run.epoch_times64()
            )[0]
        self.constellation = (
            constellation
            if constellation is not None
            else build.build_constellation(scenario.constellation, self.start.to_pydatetime())
        )
        errors = getattr(scenario, "errors", None)
        self.belief = (
            Belief(errors, self.constellation, self.times, int(run.seed))
            if errors is not None and errors.active
            else None
        )
        self.timer.add("load", started)
        self.faults = (
            FaultSchedule.from_scenario(scenario, self.constellation, self.n_epochs, self.step_s)
            if getattr(scenario, "faults", None)
            else None
        )  # [[faults]]: None = no fault, every path below as without the feature
        self.sat_names = np.asarray(self.constellation.names)
        categories, self.sat_name_codes = np.unique(self.sat_names.astype(str), return_inverse=True)
        self.sat_name_dtype = pd.CategoricalDtype(categories)  # names need not be unique
        self.ground = GroundEntities.from_scenario(scenario)
        self.ground_track = self.ground.positions(
            np.arange(self.n_epochs) * self.step_s
        )  # (T, G, 3)
        self._is_target = np.array([role == "target" for role in self.ground.roles], dtype=bool)
        self.labels = labels if labels is not None else self._plane_labels()
        self.tracker = HandoverTracker()
        self.window = int(getattr(run, "window", 0) or self.n_epochs)
        self.span = None if span is None else (int(span[0]), int(span[1]))
        if self.span is not None and not (0 <= self.span[0] < self.span[1] <= self.n_epochs):
            raise ValueError(
                f"span must satisfy 0 <= first < stop <= n_epochs = {self.n_epochs}, got {span}"
            )
        self.first_epoch = 0 if self.span is None else self.span[0]
        self.stop_epoch = self.n_epochs if self.span is None else self.span[1]
        self.window_seed: dict | None = (
            None  # entity -> central at first-2 (set by twin.windows for a span)
        )
        self.expected_central: tuple[int, np.ndarray] | None = (
            None  # (first epoch, (T, G) centrals) to check
        )
        self.rundir = RunDirectory(
            self.run_dir,
            tuple(scenario.output.tables)
            + (("links",) if scenario.output.links else ())
            + (("faults",) if self.faults is not None else ()),
            {
                "scenario": str(getattr(scenario, "source_path", "")),
                "name": scenario.run.name,
                "seed": int(scenario.run.seed),
                "start": self.start.isoformat(),
                "step_s": self.step_s,
                "n_epochs": self.n_epochs,
                "n_satellites": len(self.sat_names),
                "n_ground_entities": len(self.ground.names),
                **channel_facts(scenario),  # [channel] tr38811: bands per process, warnings
            },
            self.span,
            shard,
        )
        self.env: simpy.Environment | None = None
        self._inboxes: list[simpy.Store] = []
        self._subscribers: list = []
        self._block: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.progress_callback = None  # called with (epochs_done, n_epochs) after each epoch
        self.should_stop = None  # () -> bool, asked before each epoch (Ctrl-C: twin.terminal)
        self.stopped_at: int | None = None  # the epoch a stop request checkpointed before
        self.summary_counts = {
            "handovers": 0,
            "visible_sum": 0.0,
            "visible_n": 0,
            "invalid_groups": 0,
        }
        self.stateful: dict = {}  # process name -> object with state() / load_state(state), checkpointed
        self.processes: list = []  # the stateful subscribers, in subscription order
        self.context = RunContext(
            scenario=scenario,
            sat_names=self.sat_names,
            sat_name_codes=self.sat_name_codes,
            sat_name_dtype=self.sat_name_dtype,
            ground=self.ground,
            tables=self.rundir.recorder.tables,
            record=self.record,
            count=self.count,
            stage=self.timer.add,
        )

    # ------------------------------------------------------------------ setup
    def _plane_labels(self):
        c = self.constellation
        if c.shell is not None and c.plane is not None and c.slot is not None:
            return planes.PlaneLabels.from_arrays(c.shell, c.plane, c.slot)
        r, v, _ = orbits.propagate_teme(c, self.times[:1].to_numpy())
        return planes.infer_planes(r[0], v[0])

    def subscribe(self, process_factory, *, stateful: bool = False) -> None:
        """Register `process_factory(context, inbox)`, a SimPy generator that gets
        every Epoch from `inbox` (a simpy.Store) and the run's `twin.epoch.RunContext`.
        Call before `run()`. `stateful`: the factory is a process object with ``name``,
        ``state()`` / ``load_state(state)`` (checkpointed under ``state.processes.<name>``),
        ``window_boundary(index)`` and ``seed_from_epoch(epoch)``."""
        self._subscribers.append(process_factory)
        if stateful:
            self.stateful[process_factory.name] = process_factory
            self.processes.append(process_factory)

    # ------------------------------------------------------- the processes' sinks
    def record(self, table: str, rows) -> None:
        """Buffer `rows` of `table` for the next part (`twin.rundir.Recorder.add`)."""
        self.rundir.recorder.add(table, rows)

    def count(self, key: str, n) -> None:
        """Add `n` to the summary count `key` (checkpointed, printed by `twin run`)."""
        self.summary_counts[key] = self.summary_counts.get(key, 0) + n

    # ------------------------------------------------------------ the epochs
    def _propagated(self, index: int):
        """(pos, vel, err) of epoch `index`, propagating a block when needed."""
        if self._block is None or not (
            self._block[0] <= index < self._block[0] + len(self._block[1])
        ):
            started = wallclock.perf_counter()
            first, stop = index, min(index + PROPAGATION_BLOCK, self.n_epochs)
            if stop - first == 1 and first > 0:
                # propagate_itrs of one epoch alone differs in the last bits from a batched call
                # (another TEME->ITRS path; 1.8e-12 m/s measured): never propagate one epoch
                # alone, so serial, resumed and windowed runs see the same numbers
                first -= 1
            pos, vel, err = orbits.propagate_itrs(
                self.constellation, self.times[first:stop].to_numpy()
            )
            self._block = (first, pos, vel, err)
            if self.belief is not None:
                self.belief.propagate_block(first, stop)
            self.timer.add("propagation", started)
        first, pos, vel, err = self._block
        k = index - first
        return pos[k], vel[k], err[k]

    def look(self, index: int):
        """(pos, vel, valid, ground, elevation, azimuth, range_m) of epoch `index`: satellites
        (S, 3) m and m/s, valid (S,), ground entities (G, 3) m, look angles (G, S) rad / m
        (elevation -pi/2 for invalid satellites, and for satellites a fault takes from the
        entity: `_fault_view`). The one place these are computed, so the
        windowed pre-pass (`twin.windows`) sees bit for bit what `build_epoch` sees."""
        pos, vel, valid, ground, elevation, azimuth, range_m = self._geometry(index)
        if self.faults is not None:
            elevation = self._fault_view(index, elevation)[0]
        return pos, vel, valid, ground, elevation, azimuth, range_m

    def _fault_view(self, index: int, elevation: np.ndarray):
        """(elevation, up, affected) under the faults of epoch `index`: elevation (G, S) rad
        with -pi/2 where the satellite is off for the entity (failed, or the payload of the
        entity's process off: ISAC for targets, PNT for terminals); up (3, S) bool
        (`FaultSchedule.state`); affected (G,) int: how many satellites are off that are above
        the visibility mask or the group mask (a group member may be below the former)."""
        up = self.faults.state(index)
        available = np.where(self._is_target[:, None], up[1][None, :], up[2][None, :])
        masked = np.where(available, elevation, -np.pi / 2)
        sc = self.scenario  # a satellite counts from the lower of the two masks it may serve above
        mask = min(sc.visibility.mask_elevation_rad, sc.serving.group_mask_elevation_rad)
        affected = np.count_nonzero((elevation >= mask) & ~available, axis=1)
        return masked, up, affected

    def _geometry(self, index: int):
        """`look` before the faults."""
        pos, vel, err = self._propagated(index)
        valid = (err == 0) & np.all(np.isfinite(pos), axis=1)
        started = wallclock.perf_counter()
        ground = self.ground_track[index]
        if len(ground):
            elevation, azimuth, range_m = geometry.look_angles(ground, pos)
            elevation = np.where(valid[None, :], elevation, -np.pi / 2)
        else:
            elevation = azimuth = range_m = np.zeros((0, len(pos)))
        self.timer.add("geometry", started)
        return pos, vel, valid, ground, elevation, azimuth, range_m

    def build_epoch(self, index: int) -> Epoch:
        """Geometry, ISL graph, serving groups and handovers of epoch `index`."""
        sc = self.scenario
        pos, vel, valid, ground, elevation, azimuth, range_m = self._geometry(index)
        up = affected = None
        if self.faults is not None:
            elevation, up, affected = self._fault_view(index, elevation)
        started = wallclock.perf_counter()
        if sc.isl.enabled:
            graph = isl.isl_graph(
                pos,
                self.labels,
                max_range_m=sc.isl.max_range_m,
                atmosphere_margin_m=sc.isl.atmosphere_margin_m,
                inter_plane=sc.isl.inter_plane,
                valid=valid if up is None else valid & up[0],
            )
        else:
            graph = nx.Graph()
            graph.add_nodes_from(range(len(pos)))
        fault_events, isl_down = None, None
        if self.faults is not None:
            graph, fault_events, isl_down = self._fault_links(index, graph)
        started = self.timer.add("topology", started)
        time = self.times[index]
        groups, handovers = {}, []
        if self.faults is not None:
            n_off, affected = affected, np.zeros(len(self.ground.names), dtype=bool)
        mask = sc.visibility.mask_elevation_rad
        for g, name in enumerate(self.ground.names):
            previous = self.tracker.central_of(name)
            group = serving.serving_group(
                graph,
                elevation[g],
                self.labels,
                group_size=sc.serving.group_size,
                collaboration=sc.serving.collaboration,
                mask_rad=mask,
                group_mask_rad=sc.serving.group_mask_elevation_rad,
                previous_central=previous,
                hysteresis_rad=sc.serving.hysteresis_rad,
            )
            if self.faults is not None:
                group, affected[g] = self._fault_group(group, n_off[g], isl_down)
            groups[name] = group
            handovers.extend(
                self.tracker.update(
                    epoch=index,
                    time=time,
                    entity=name,
                    central=group.central,
                    members=tuple(group.members),
                    valid=group.valid,
                    reason=group.reason,
                    sat_names=self.sat_names,
                    previous_central_visible=bool(previous >= 0 and elevation[g, previous] >= mask),
                    unavailable=None if up is None else ~up[1 if self._is_target[g] else 2],
                )
            )
        self.timer.add("groups", started)
        if self.expected_central is not None:
            first, expected = self.expected_central
            if 0 <= index - first < len(expected):
                got = np.array([groups[name].central for name in self.ground.names], dtype=np.int64)
                if not np.array_equal(got, expected[index - first]):
                    raise RuntimeError(
                        f"epoch {index}: central satellites {got.tolist()} differ from the windowed "
                        f"pre-pass's {expected[index - first].tolist()}; the window would not equal "
                        "the serial run"
                    )
        return Epoch(
            index=index,
            time=time,
            sat_pos=pos,
            sat_vel=vel,
            sat_valid=valid,
            ground_pos=ground,
            elevation=elevation,
            azimuth=azimuth,
            range_m=range_m,
            graph=graph,
            groups=groups,
            handovers=handovers,
            sat_up=None if up is None else up[0],
            isac_payload_up=None if up is None else up[1],
            pnt_payload_up=None if up is None else up[2],
            isl_down=isl_down,
            fault_events=fault_events,
            fault_affected=affected,
            **self._belief_fields(index, pos, vel),
        )

    def _fault_links(self, index: int, graph):
        """(graph without the links off at epoch `index`, the faults table's rows, (n, 2)
        links off). The rows compare each element's state with epoch index-1 (a pure function
        of the schedule), so a window or a resumed run writes the serial run's rows."""
        time = self.times[index]
        edges = graph.graph.get("edges")
        if edges is None:  # ISLs disabled: no links to switch off
            a = b = np.zeros(0, dtype=np.int64)
        else:
            a, b = np.asarray(edges["a"]), np.asarray(edges["b"])
        down = self.faults.links_down(index, a, b)
        if down.any():
            graph = without_links(graph, down)
        rows = [
            {"epoch": index, "time": time, **row}
            for row in self.faults.events(index, a, b, self.sat_names)
        ]
        return graph, rows, np.stack([a[down], b[down]], axis=1)

    def _fault_group(self, group, n_off: int, isl_down: np.ndarray):
        """(group, touched): whether a fault touches the entity (`n_off` satellites above the
        mask are off for it, or a link is off at a member of its group); an invalid group
        touched by a fault gets the fault appended to its reason."""
        links = sorted(set(isl_down.ravel().tolist()) & set(group.members))
        touched = n_off > 0 or bool(links)
        if group.valid or not touched:
            return group, touched
        why = [f"{n_off} satellites in view off"] if n_off else []
        why += [f"a link off at {self.sat_names[m]}" for m in links]
        reason = f"{group.reason}; fault: {', '.join(why)}"
        return serving.ServingGroup(group.central, group.members, False, reason), touched

    def _belief_fields(self, index: int, pos, vel) -> dict:
        """The Epoch's belief fields (``twin.constellation.belief``); none when every error
        source is off, so the Epoch is today's."""
        if self.belief is None:
            return {}
        belief_pos, belief_vel, clock, belief_clock = self.belief.states(index, pos, vel)
        return {
            "belief_pos": belief_pos,
            "belief_vel": belief_vel,
            "sat_clock_s": clock,
            "belief_clock_s": belief_clock,
        }

    # ------------------------------------------------------------- processes
    def _orbit_process(self):
        checkpoint_every = int(self.scenario.run.checkpoint_every)
        for index in range(self.first_epoch, self.stop_epoch):
            if index > self.first_epoch and self.should_stop is not None and self.should_stop():
                self.checkpoint(index)  # every subscriber has finished epoch index-1
                self.stopped_at = index
                return
            if index > self.first_epoch and index % checkpoint_every == 0:
                self.checkpoint(index)
            if is_window_boundary(index, self.window):
                # every subscriber has finished epoch index-1 (no subscriber yields a timeout)
                for process in self.stateful.values():
                    process.window_boundary(index)
            epoch = self.build_epoch(index)
            for inbox in self._inboxes:
                inbox.put(epoch)
            if self.progress_callback is not None:
                self.progress_callback(index + 1, self.n_epochs)
            if index + 1 < self.stop_epoch:
                yield self.env.timeout(self.step_s)

    def checkpoint(self, next_epoch: int) -> None:
        """Write the parts and the checkpoint of every epoch before `next_epoch`."""
        started = wallclock.perf_counter()
        self.rundir.checkpoint(
            next_epoch,
            {
                "handovers": self.tracker.state(),
                "summary": self.summary_counts,
                "processes": {name: p.state() for name, p in self.stateful.items()},
            },
            stage_s=self.timer.seconds,
        )
        self.timer.add("recording", started)

    # ----------------------------------------------------------------- run
    def _load_state(self, state: dict) -> None:
        """The handover tracker's and the stateful processes' state of a checkpoint."""
        self.tracker = HandoverTracker.from_state(state["handovers"])
        for name, process_state in state.get("processes", {}).items():
            if name in self.stateful:
                self.stateful[name].load_state(process_state)

    def _prepare_window(self) -> None:
        """A window `span` = [first, stop): continue from its checkpoint, or start fresh:
        seed the handover tracker and the processes' geometry-only state by building epoch
        first-1 (with the pre-pass's central at first-2 as the previous central)."""
        first, stop = self.span
        checkpoint = self.rundir.open_window()
        if checkpoint is not None:
            self.first_epoch = int(checkpoint["next_epoch"])
            self.timer.seconds = dict(checkpoint.get("stage_s", {}))
            self.summary_counts = dict(checkpoint["state"]["summary"])
            if self.first_epoch >= stop:
                return
            self._load_state(checkpoint["state"])
        else:
            self.first_epoch = first
            if first > 0:
                seed = self.window_seed
                if first - 1 > 0:
                    if seed is None:
                        raise ValueError(
                            f"window at epoch {first}: the central satellites at epoch {first - 2} "
                            "(window_seed) are needed to seed the handover hysteresis"
                        )
                    self.tracker = HandoverTracker(
                        previous={
                            name: {"central": int(seed[name]), "members": [], "valid": True}
                            for name in self.ground.names
                        }
                    )
                before = self.build_epoch(
                    first - 1
                )  # its rows are not recorded: epoch first-1 belongs to the previous window
                for process in self.stateful.values():
                    process.seed_from_epoch(before)
        self.rundir.start_at(self.first_epoch)

    def _prepare_directory(self) -> None:
        if self.span is not None:
            self._prepare_window()
            return
        if self.resume:
            self.first_epoch, state = self.rundir.resume()
            if state is not None:
                self.summary_counts = dict(state["summary"])
                if self.first_epoch < self.n_epochs:
                    self._load_state(state)
            return
        self.rundir.start_fresh(self.scenario.to_resolved_dict())

    def run(self) -> dict:
        """Run (or resume) to the end; returns the run.json contents (a window: its
        checkpoint's contents)."""
        wall_started = wallclock.perf_counter()
        self._prepare_directory()
        if self.span is not None:
            if self.first_epoch < self.stop_epoch:
                self._run_env()
                self.checkpoint(self.stop_epoch)
            return read_json(window_checkpoint_path(self.run_dir, self.span[0], self.rundir.shard))
        if self.first_epoch < self.n_epochs:
            self._run_env()
            if self.stopped_at is not None:
                self.rundir.write_info(
                    "interrupted",
                    wall_s=wallclock.perf_counter() - wall_started,
                    stage_s=self.timer.seconds,
                )
                raise RunInterrupted(self.run_dir, self.stopped_at)
            self.checkpoint(self.n_epochs)
        self.rundir.write_info(
            "complete", wall_s=wallclock.perf_counter() - wall_started, stage_s=self.timer.seconds
        )
        return read_json(self.run_dir / RUN_INFO)

    def _run_env(self) -> None:
        """The SimPy environment from `first_epoch` to `stop_epoch`: the orbit process and the
        subscribers, in subscription order."""
        self.env = simpy.Environment(initial_time=self.first_epoch * self.step_s)
        self._inboxes = []
        for factory in self._subscribers:
            inbox = simpy.Store(self.env)
            self._inboxes.append(inbox)
            self.env.process(factory(self.context, inbox))
        self.env.process(self._orbit_process())
        self.env.run()
