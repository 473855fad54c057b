"""The SimPy clock that drives a run.

One `Twin` per run. `Twin.run()` starts a SimPy environment whose time is
seconds since the scenario start, and two kinds of processes:

- the **orbit process** (one): at every step it propagates the constellation
  (in blocks of epochs, vectorised), computes look angles from every ground
  entity, rebuilds the ISL graph, picks each entity's serving group, tracks
  handovers, and publishes an `Epoch`;
- **subscribers**: any number of processes that receive every `Epoch`. The
  foundation's own recorder is one; sensing, positioning and beam planning
  hang on the clock the same way::

      def my_process(twin, inbox):
          while True:
              epoch = yield inbox.get()      # an Epoch, in time order
              rows = ...                      # use epoch.sat_pos, epoch.groups, epoch.rng
              twin.recorder.add("my_table", rows)

      twin = Twin(scenario, run_dir)
      twin.subscribe(my_process)
      twin.run()

  A subscriber must finish its work on an epoch without yielding a timeout
  (all of an epoch's work happens at that epoch's simulated time), so that a
  checkpoint taken before epoch i is published covers every row of epochs < i.

Every epoch's random draws come from `epoch.rng`, a generator seeded with
`SeedSequence([seed, epoch_index])`, so a resumed or split run draws the same
numbers as an uninterrupted one.

Window boundaries (``[run] window``, docs/twin.md "Windowed runs"): before epoch ``b``
with ``b > 0`` and ``b % window == 0`` is published, every stateful process's
``window_boundary(b)`` drops what earlier epochs' *results* left behind (held plans, warm
starts, tracked estimates). Serial and windowed runs both do this, so a window
``[b, b + window)`` run on its own (``Twin(..., span=(b, stop))``, seeded by
``twin.windows``) writes the rows the serial run writes.
"""

from __future__ import annotations

import os
import platform
import time as wallclock
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import simpy
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from twin import __version__, geometry
from twin.constellation import build, isl, orbits, planes, serving
from twin.constellation.handover import HandoverTracker
from twin.results import (
    RESOLVED_SCENARIO,
    RUN_INFO,
    Recorder,
    current_rss_mb,
    drop_parts_from,
    read_checkpoint,
    read_json,
    window_checkpoint_path,
    write_json_atomic,
)
from twin.units import C_LIGHT

PROPAGATION_BLOCK = 60  # epochs propagated per vectorised SGP4 call


@dataclass
class Epoch:
    """What the orbit process knows at one epoch.

    Shapes: S satellites, G ground entities (targets then terminals).
    """

    index: int
    time: pd.Timestamp  # UTC
    sat_pos: np.ndarray  # (S, 3) ITRS metres
    sat_vel: np.ndarray  # (S, 3) ITRS m/s
    sat_valid: np.ndarray  # (S,) bool: SGP4 returned no error
    ground_pos: np.ndarray  # (G, 3) ITRS metres
    elevation: np.ndarray  # (G, S) radians
    azimuth: np.ndarray  # (G, S) radians
    range_m: np.ndarray  # (G, S) metres
    graph: nx.Graph  # ISL graph, nodes = satellite indices
    groups: dict  # entity name -> serving.ServingGroup
    handovers: list  # rows emitted this epoch
    rng: np.random.Generator


@dataclass
class GroundEntities:
    """Targets and terminals flattened into one list (targets first)."""

    names: list[str]
    roles: list[str]  # "target" | "terminal"
    specs: list  # scenario entries, each with position_ecef(times_s)

    @classmethod
    def from_scenario(cls, scenario) -> "GroundEntities":
        names, roles, specs = [], [], []
        for role, entries in (("target", scenario.targets), ("terminal", scenario.terminals)):
            for entry in entries:
                names.append(entry.name)
                roles.append(role)
                specs.append(entry)
        return cls(names, roles, specs)

    def positions(self, times_s: np.ndarray) -> np.ndarray:
        """(T, G, 3) Earth-fixed positions at `times_s` seconds from the start."""
        if not self.specs:
            return np.zeros((len(times_s), 0, 3))
        return np.stack(
            [np.asarray(spec.position_ecef(times_s), dtype=float) for spec in self.specs], axis=1
        )


@dataclass
class StageTimer:
    """Wall-clock seconds spent per stage of the epoch pipeline."""

    seconds: dict = field(default_factory=dict)

    def add(self, stage: str, started: float) -> float:
        now = wallclock.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - started
        return now


def epoch_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of epoch `index`: SeedSequence([seed, index])."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def entity_rng(seed: int, index: int, entity: int) -> np.random.Generator:
    """The generator of ground entity `entity` (its index, targets then terminals) at epoch
    `index`: SeedSequence([seed, index, entity]). Processes draw from it so an entity's
    numbers do not depend on the other entities or on the order of the processes."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), int(entity)]))


def is_window_boundary(index: int, window: int) -> bool:
    """True at the epochs where processes forget their carried state: ``index > 0`` and a
    multiple of ``window`` (epochs)."""
    return index > 0 and index % int(window) == 0


def free_run_dir(path: Path) -> Path:
    """`path` if it is absent or empty, else the first free `path-2`, `path-3`, ...

    A new run never writes into a directory that already holds results.
    """
    path = Path(path)
    if not path.exists() or not any(path.iterdir()):
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.name}-{n}")
        if not candidate.exists() or not any(candidate.iterdir()):
            return candidate
        n += 1


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
    ):
        """`span` = (first, stop): run only epochs ``[first, stop)`` as one window of a
        windowed run (checkpoint in ``windows/<first>.json``, no run.json; see
        `twin.windows`); `labels`: the constellation's plane labels if already known."""
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
        self.constellation = (
            constellation
            if constellation is not None
            else build.build_constellation(scenario.constellation, self.start.to_pydatetime())
        )
        self.timer.add("load", started)
        self.sat_names = np.asarray(self.constellation.names)
        categories, self.sat_name_codes = np.unique(self.sat_names.astype(str), return_inverse=True)
        self.sat_name_dtype = pd.CategoricalDtype(categories)  # names need not be unique
        self.ground = GroundEntities.from_scenario(scenario)
        self.entity_index = {name: g for g, name in enumerate(self.ground.names)}
        self.ground_track = self.ground.positions(
            np.arange(self.n_epochs) * self.step_s
        )  # (T, G, 3)
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
        self.memory: list[dict] = []  # {epoch, rss_mb, wall_s, pid} at every checkpoint
        self.info_extra: dict = {}  # more run.json keys (a windowed run's "mode", "workers", "windows")
        self.wall_origin = (
            wallclock.time(),
            0.0,
        )  # (unix time of this session's start, wall s of earlier sessions)
        self.recorder = Recorder(
            self.run_dir,
            tuple(scenario.output.tables) + (("links",) if scenario.output.links else ()),
            checkpoint_path=None
            if self.span is None
            else window_checkpoint_path(self.run_dir, self.span[0]),
        )
        self.env: simpy.Environment | None = None
        self._inboxes: list[simpy.Store] = []
        self._subscribers: list = []
        self._block: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.progress_callback = None  # called with (epochs_done, n_epochs) after each epoch
        self.summary_counts = {
            "handovers": 0,
            "visible_sum": 0.0,
            "visible_n": 0,
            "invalid_groups": 0,
        }
        self.stateful: dict = {}  # process name -> object with state() / load_state(state), checkpointed
        from twin.processes import attach

        self.processes = attach(self)

    # ------------------------------------------------------------------ setup
    def _plane_labels(self):
        c = self.constellation
        if c.shell is not None and c.plane is not None and c.slot is not None:
            return planes.PlaneLabels.from_arrays(c.shell, c.plane, c.slot)
        r, v, _ = orbits.propagate_teme(c, self.times[:1].to_numpy())
        return planes.infer_planes(r[0], v[0])

    def subscribe(self, process_factory) -> None:
        """Register `process_factory(twin, inbox)`, a SimPy generator that gets
        every Epoch from `inbox` (a simpy.Store). Call before `run()`."""
        self._subscribers.append(process_factory)

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
            self.timer.add("propagation", started)
        first, pos, vel, err = self._block
        k = index - first
        return pos[k], vel[k], err[k]

    def look(self, index: int):
        """(pos, vel, valid, ground, elevation, azimuth, range_m) of epoch `index`: satellites
        (S, 3) m and m/s, valid (S,), ground entities (G, 3) m, look angles (G, S) rad / m
        (elevation -pi/2 for invalid satellites). The one place these are computed, so the
        windowed pre-pass (`twin.windows`) sees bit for bit what `build_epoch` sees."""
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
        pos, vel, valid, ground, elevation, azimuth, range_m = self.look(index)
        started = wallclock.perf_counter()
        if sc.isl.enabled:
            graph = isl.isl_graph(
                pos,
                self.labels,
                max_range_m=sc.isl.max_range_m,
                atmosphere_margin_m=sc.isl.atmosphere_margin_m,
                inter_plane=sc.isl.inter_plane,
                valid=valid,
            )
        else:
            graph = nx.Graph()
            graph.add_nodes_from(range(len(pos)))
        started = self.timer.add("topology", started)
        time = self.times[index]
        groups, handovers = {}, []
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
            rng=epoch_rng(sc.run.seed, index),
        )

    # ------------------------------------------------------------- processes
    def _orbit_process(self):
        checkpoint_every = int(self.scenario.run.checkpoint_every)
        for index in range(self.first_epoch, self.stop_epoch):
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

    def wall_s(self) -> float:
        """Wall seconds of this run so far (earlier sessions included)."""
        return self.wall_origin[1] + wallclock.time() - self.wall_origin[0]

    def checkpoint(self, next_epoch: int) -> None:
        started = wallclock.perf_counter()
        self.memory.append(
            {
                "epoch": int(next_epoch),
                "rss_mb": round(current_rss_mb(), 3),
                "wall_s": round(self.wall_s(), 3),
                "pid": os.getpid(),
            }
        )
        extra = None
        if self.span is not None:
            extra = {
                "first": self.span[0],
                "stop": self.span[1],
                "memory": self.memory,
                "stage_s": self.timer.seconds,
            }
        self.recorder.flush(
            next_epoch,
            {
                "handovers": self.tracker.state(),
                "summary": self.summary_counts,
                "processes": {name: p.state() for name, p in self.stateful.items()},
            },
            extra,
        )
        if self.span is None and next_epoch < self.n_epochs:
            self._write_info("running", wall_s=0.0)  # the memory samples, for plots of a long run
        self.timer.add("recording", started)

    # ----------------------------------------------------------------- run
    def _prepare_window(self) -> None:
        """A window `span` = [first, stop): continue from its checkpoint, or start fresh:
        seed the handover tracker and the processes' geometry-only state by building epoch
        first-1 (with the pre-pass's central at first-2 as the previous central)."""
        first, stop = self.span
        path = window_checkpoint_path(self.run_dir, first)
        checkpoint = read_json(path) if path.exists() else None
        if checkpoint is not None:
            self.first_epoch = int(checkpoint["next_epoch"])
            self.memory = list(checkpoint.get("memory", []))
            self.timer.seconds = dict(checkpoint.get("stage_s", {}))
            self.summary_counts = dict(checkpoint["state"]["summary"])
            if self.first_epoch >= stop:
                return
            self.tracker = HandoverTracker.from_state(checkpoint["state"]["handovers"])
            for name, state in checkpoint["state"].get("processes", {}).items():
                if name in self.stateful:
                    self.stateful[name].load_state(state)
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
                    process.seed_from_epoch(self, before)
        drop_parts_from(self.run_dir, self.first_epoch, stop)
        self.recorder.chunk_first_epoch = self.first_epoch

    def _prepare_directory(self) -> None:
        if self.span is not None:
            self._prepare_window()
            return
        if self.resume:
            checkpoint = read_checkpoint(self.run_dir)
            info = read_json(self.run_dir / RUN_INFO)
            self.memory = [
                m
                for m in info.get("memory", [])
                if checkpoint is None or m["epoch"] <= checkpoint["next_epoch"]
            ]
            self.wall_origin = (self.wall_origin[0], float(info.get("wall_s_total", 0.0)))
            if info.get("status") == "complete":
                self.first_epoch = self.n_epochs
                if checkpoint is not None:
                    self.summary_counts = dict(checkpoint["state"]["summary"])
                return
            if checkpoint is None:
                drop_parts_from(self.run_dir, 0)
                self.first_epoch = 0
            else:
                self.first_epoch = int(checkpoint["next_epoch"])
                drop_parts_from(self.run_dir, self.first_epoch)
                self.tracker = HandoverTracker.from_state(checkpoint["state"]["handovers"])
                self.summary_counts = dict(checkpoint["state"]["summary"])
                for name, state in checkpoint["state"].get("processes", {}).items():
                    if name in self.stateful:
                        self.stateful[name].load_state(state)
            self.recorder.chunk_first_epoch = self.first_epoch
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.run_dir / RESOLVED_SCENARIO, self.scenario.to_resolved_dict())
        self._write_info("running", wall_s=0.0)

    def _write_info(self, status: str, *, wall_s: float) -> None:
        import sgp4
        import skyfield

        previous = {}
        if (self.run_dir / RUN_INFO).exists():
            previous = read_json(self.run_dir / RUN_INFO)
        wall_total = float(previous.get("wall_s_total", 0.0)) + wall_s
        info = {
            "status": status,
            "scenario": str(getattr(self.scenario, "source_path", "")),
            "name": self.scenario.run.name,
            "seed": int(self.scenario.run.seed),
            "start": self.start.isoformat(),
            "step_s": self.step_s,
            "n_epochs": self.n_epochs,
            "n_satellites": len(self.sat_names),
            "n_ground_entities": len(self.ground.names),
            "tables": list(self.recorder.tables),
            "versions": {
                "twin": __version__,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "pandas": pd.__version__,
                "sgp4": sgp4.__version__,
                "skyfield": skyfield.__version__,
                "simpy": simpy.__version__,
                "networkx": nx.__version__,
            },
            "wall_s_total": wall_total,
            "memory": self.memory,
            "sessions": previous.get("sessions", [])
            + (
                [
                    {
                        "wall_s": wall_s,
                        "stage_s": self.timer.seconds,
                        "ended": datetime.now(timezone.utc).isoformat(),
                    }
                ]
                if wall_s
                else []
            ),
            **self.info_extra,
        }
        write_json_atomic(self.run_dir / RUN_INFO, info)

    def run(self) -> dict:
        """Run (or resume) to the end; returns the run.json contents (a window: its
        checkpoint's contents)."""
        wall_started = wallclock.perf_counter()
        self._prepare_directory()
        if self.span is not None:
            if self.first_epoch < self.stop_epoch:
                self._run_env()
                self.checkpoint(self.stop_epoch)
            return read_json(window_checkpoint_path(self.run_dir, self.span[0]))
        if self.first_epoch < self.n_epochs:
            self._run_env()
            self.checkpoint(self.n_epochs)
        self._write_info("complete", wall_s=wallclock.perf_counter() - wall_started)
        return read_json(self.run_dir / RUN_INFO)

    def _run_env(self) -> None:
        """The SimPy environment from `first_epoch` to `stop_epoch`: the orbit process, the
        foundation's recorder and the subscribers."""
        self.env = simpy.Environment(initial_time=self.first_epoch * self.step_s)
        self._inboxes = []
        for factory in [recorder_process] + self._subscribers:
            inbox = simpy.Store(self.env)
            self._inboxes.append(inbox)
            self.env.process(factory(self, inbox))
        self.env.process(self._orbit_process())
        self.env.run()


def edge_arrays(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ISL edges of one epoch's graph as arrays: endpoints a, b (E,) satellite indices,
    lengths (E,) m, inter (E,) bool (inter-plane). Read from the topology module's edge arrays
    when the graph has them (no networkx materialisation), else from the networkx edges."""
    arrays = graph.graph.get("edges")
    if arrays is None:  # a graph built without the topology module's edge arrays
        data = list(graph.edges(data=True))
        a = np.array([u for u, _, _ in data], dtype=np.int64)
        b = np.array([v for _, v, _ in data], dtype=np.int64)
        lengths = np.array([d["length_m"] for _, _, d in data], dtype=float)
        inter = np.array([d.get("kind") == "inter" for _, _, d in data], dtype=bool)
        return a, b, lengths, inter
    return (
        np.asarray(arrays["a"]),
        np.asarray(arrays["b"]),
        np.asarray(arrays["length_m"], dtype=float),
        np.asarray(arrays["kind_inter"], dtype=bool),
    )


def isl_summary(epoch: Epoch) -> dict:
    """One `isl` row: link counts, lengths and connectivity of the valid satellites."""
    a, b, lengths, inter = edge_arrays(epoch.graph)
    n = len(epoch.sat_valid)
    adjacency = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, component = connected_components(adjacency, directed=False)
    sizes = (
        np.bincount(component[epoch.sat_valid]) if epoch.sat_valid.any() else np.zeros(0, dtype=int)
    )
    sizes = sizes[sizes > 0]
    return {
        "epoch": epoch.index,
        "time": epoch.time,
        "n_links": int(len(a)),
        "n_intra": int((~inter).sum()),
        "n_inter": int(inter.sum()),
        "mean_length_km": float(lengths.mean() / 1e3) if len(lengths) else np.nan,
        "max_length_km": float(lengths.max() / 1e3) if len(lengths) else np.nan,
        "n_components": int(len(sizes)),
        "largest_component": int(sizes.max()) if len(sizes) else 0,
    }


def links_frame(
    epoch: Epoch, time: pd.Timestamp, name_codes: np.ndarray, names: pd.CategoricalDtype
) -> pd.DataFrame:
    """The `links` rows of one epoch (one per ISL), columnar. Satellite names are categoricals
    (``name_codes`` (S,) satellite index -> code in ``names``; 2 bytes a row instead of a
    Python string, written to parquet as plain strings), so a 10k-satellite epoch (~16k links)
    buffers under 1 MB until the next checkpoint instead of one dict per link."""
    a, b, lengths, inter = edge_arrays(epoch.graph)
    return pd.DataFrame(
        {
            "epoch": np.full(len(a), epoch.index, dtype=np.int64),
            "time": pd.DatetimeIndex([time]).repeat(len(a)),
            "sat_a": pd.Categorical.from_codes(name_codes[a], dtype=names),
            "sat_b": pd.Categorical.from_codes(name_codes[b], dtype=names),
            "kind": pd.Categorical.from_codes(inter.astype(np.int8), categories=["intra", "inter"]),
            "length_km": lengths / 1e3,
            "delay_ms": lengths / C_LIGHT * 1e3,
        }
    )


def recorder_process(twin: Twin, inbox: simpy.Store):
    """The foundation's tables: epochs, visibility, isl, groups, handovers (and links)."""
    scenario = twin.scenario
    mask = scenario.visibility.mask_elevation_rad
    names = twin.sat_names
    while True:
        epoch: Epoch = yield inbox.get()
        started = wallclock.perf_counter()
        time = epoch.time
        visible = epoch.elevation >= mask  # (G, S)
        n_visible = visible.sum(axis=1)
        lat, lon, alt = (
            geometry.ecef_to_geodetic(epoch.ground_pos) if len(epoch.ground_pos) else ([], [], [])
        )
        centrals = np.array([epoch.groups[e].central for e in twin.ground.names], dtype=int)
        sub_lat, sub_lon, sub_alt = geometry.ecef_to_geodetic(
            epoch.sat_pos[np.maximum(centrals, 0)]
        )
        visibility_rows, group_rows = [], []
        for g, entity in enumerate(twin.ground.names):
            best = int(np.argmax(epoch.elevation[g])) if epoch.elevation.shape[1] else -1
            best_visible = best >= 0 and visible[g, best]
            visibility_rows.append(
                {
                    "epoch": epoch.index,
                    "time": time,
                    "entity": entity,
                    "role": twin.ground.roles[g],
                    "lat_deg": float(np.degrees(lat[g])),
                    "lon_deg": float(np.degrees(lon[g])),
                    "alt_m": float(alt[g]),
                    "n_visible": int(n_visible[g]),
                    "best_sat": str(names[best]) if best_visible else "",
                    "best_elevation_deg": float(np.degrees(epoch.elevation[g, best]))
                    if best_visible
                    else np.nan,
                    "best_range_km": float(epoch.range_m[g, best] / 1e3)
                    if best_visible
                    else np.nan,
                }
            )
            group = epoch.groups[entity]
            central = group.central
            group_rows.append(
                {
                    "epoch": epoch.index,
                    "time": time,
                    "entity": entity,
                    "role": twin.ground.roles[g],
                    "valid": bool(group.valid),
                    "reason": group.reason,
                    "central": str(names[central]) if central >= 0 else "",
                    "central_elevation_deg": float(np.degrees(epoch.elevation[g, central]))
                    if central >= 0
                    else np.nan,
                    "central_range_km": float(epoch.range_m[g, central] / 1e3)
                    if central >= 0
                    else np.nan,
                    "central_lat_deg": float(np.degrees(sub_lat[g])) if central >= 0 else np.nan,
                    "central_lon_deg": float(np.degrees(sub_lon[g])) if central >= 0 else np.nan,
                    "central_alt_km": float(sub_alt[g] / 1e3) if central >= 0 else np.nan,
                    "n_members": len(group.members),
                    "members": ";".join(str(names[m]) for m in group.members),
                }
            )
            twin.summary_counts["invalid_groups"] += int(not group.valid)
        twin.recorder.add("isl", [isl_summary(epoch)])
        if "links" in twin.recorder.tables:
            twin.recorder.add(
                "links", links_frame(epoch, time, twin.sat_name_codes, twin.sat_name_dtype)
            )
        twin.recorder.add(
            "epochs",
            [
                {
                    "epoch": epoch.index,
                    "time": time,
                    "n_valid_sats": int(epoch.sat_valid.sum()),
                    "mean_visible": float(n_visible.mean()) if len(n_visible) else np.nan,
                    "n_handovers": len(epoch.handovers),
                }
            ],
        )
        twin.recorder.add("visibility", visibility_rows)
        twin.recorder.add("groups", group_rows)
        twin.recorder.add("handovers", epoch.handovers)
        twin.summary_counts["handovers"] += len(epoch.handovers)
        twin.summary_counts["visible_sum"] += float(n_visible.sum())
        twin.summary_counts["visible_n"] += int(len(n_visible))
        twin.timer.add("recording", started)
