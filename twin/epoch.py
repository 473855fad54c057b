"""What the clock publishes to its processes: the `Epoch`, the ground entities, the per-entity RNG.

The orbit process of :class:`twin.clock.Twin` builds one :class:`Epoch` per step and puts it in
the inbox of every subscribed process; a process also gets a :class:`RunContext`, the run's
constants and the three sinks it writes to (tables, summary counts, stage timings), so that no
process reaches into the Twin.

Where every random draw of a run comes from (nothing else in a run draws):

- :func:`entity_rng` ``SeedSequence([seed, epoch_index, entity_index])``: every per-epoch draw of
  the ISAC process (prior centre, channel, β phases, samples, echo noise, estimator) and of the
  PNT process (channel phases, beamformer, TOA errors) for one ground entity;
- ``SeedSequence([seed, entity_index, UE_TAG])`` (``twin.processes.isac.ue_offsets_enu``): an
  ISAC target's UEs, once per run; ``SeedSequence([seed, entity_index, UT_TAG])``
  (``twin.processes.pnt.cluster_offsets_en``): a PNT cluster's UTs, once per run;
- ``SeedSequence([seed, epoch_index, entity_index, FADING_TAG])``
  (``twin.processes.channel.LinkChannel.losses``): the flat fading of an entity's links at an
  epoch, only with ``[channel] small_scale = "flat"``;
- fixed seeds inside the solvers (e.g. ``fast_design(seed=0)``'s start points), the same at
  every call.

No stream runs across epochs or entities, so a resumed or windowed run draws the numbers an
uninterrupted serial run draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd


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
    # faults ([[faults]], twin.constellation.faults); None when the scenario has none
    sat_up: np.ndarray | None = None  # (S,) bool: not failed (a failed satellite has no ISL)
    isac_payload_up: np.ndarray | None = None  # (S,) bool: up and its ISAC payload on
    pnt_payload_up: np.ndarray | None = None  # (S,) bool: up and its PNT payload on
    isl_down: np.ndarray | None = None  # (n, 2) int: the links switched off this epoch
    fault_events: list | None = None  # rows of the faults table emitted this epoch
    fault_affected: np.ndarray | None = None  # (G,) bool: a fault touches this entity
    # the belief ([errors], twin.constellation.belief): None when every error source is off
    belief_pos: np.ndarray | None = None  # (S, 3) ITRS metres the receivers believe
    belief_vel: np.ndarray | None = None  # (S, 3) ITRS m/s the receivers believe
    sat_clock_s: np.ndarray | None = None  # (S,) true satellite clock offsets, s
    belief_clock_s: np.ndarray | None = None  # (S,) the offsets the receivers believe, s


@dataclass
class GroundEntities:
    """Targets and terminals flattened into one list (targets first)."""

    names: list[str]
    roles: list[str]  # "target" | "terminal"
    specs: list  # scenario entries, each with position_ecef(times_s)
    index: dict[str, int] = field(init=False)  # name -> entity index (the order of `names`)

    def __post_init__(self) -> None:
        self.index = {name: g for g, name in enumerate(self.names)}

    @classmethod
    def from_scenario(cls, scenario) -> GroundEntities:
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


def entity_rng(seed: int, index: int, entity: int) -> np.random.Generator:
    """The generator of ground entity `entity` (its index, targets then terminals) at epoch
    `index`: SeedSequence([seed, index, entity]). Processes draw from it so an entity's
    numbers do not depend on the other entities or on the order of the processes."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), int(entity)]))


@dataclass(frozen=True)
class RunContext:
    """The clock's side of a process: the run's constants and the sinks a process writes to.

    A process factory is called as ``factory(context, inbox)``; it reads ``context.scenario``,
    ``context.sat_names`` (S,) and ``context.ground`` and writes only through the three sinks:
    ``record(table, rows)`` (rows: a list of dicts or a DataFrame; tables the scenario does
    not write are dropped), ``count(key, n)`` (adds `n` to the run's summary count `key`,
    checkpointed) and ``stage(name, started) -> now`` (adds the wall seconds since
    `started`, a ``time.perf_counter()`` value, to stage `name`).
    """

    scenario: object
    sat_names: np.ndarray  # (S,) satellite names (need not be unique)
    sat_name_codes: np.ndarray  # (S,) satellite index -> code in sat_name_dtype
    sat_name_dtype: pd.CategoricalDtype
    ground: GroundEntities
    tables: tuple[str, ...]  # the tables this run writes
    record: Callable[[str, list | pd.DataFrame], None]
    count: Callable[[str, float], None]
    stage: Callable[[str, float], float]
