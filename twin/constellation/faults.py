"""The fault schedule of a run: which satellites, payloads and ISLs are off at each epoch.

:func:`check_faults` resolves the scenario's ``[[faults]]`` (``twin.config.faults``) against
the constellation and refuses what cannot be (an unknown or ambiguous satellite, plane/slot
without a Walker shell, a start after the run's end, two faults of one kind on one element
that overlap, more than one random entry), each problem at ``file:line faults[i].field``.

:class:`FaultSchedule` answers, for any epoch, from nothing but (seed, element, time):

* scheduled faults: element down on ``[start, start + duration)`` seconds from the start;
* random faults: each satellite ``s`` alternates up/down with exponential up times (mean
  MTBF) and down times (mean MTTR), starting in its stationary state (down with probability
  ``MTTR / (MTBF + MTTR)``, the long-run share of time down), drawn once from
  ``SeedSequence([seed, FAULT_TAG, 0, s])`` over the whole run; an ISL between satellites
  ``a < b`` likewise from ``SeedSequence([seed, FAULT_TAG, 1, a, b])`` (drawn the first time the
  link exists and kept: the draw does not depend on when).

No state runs across epochs, so a resumed or windowed run sees the serial run's faults.
Arrays are indexed by satellite 0..S-1; times are seconds from the run's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.config.faults import SCHEDULED_KINDS
from twin.config.toml import TomlLocator
from twin.constellation.isl import IslGraph
from twin.errors import InputError, Problem

__all__ = [
    "FAULT_TAG",
    "FaultSchedule",
    "Resolved",
    "check_faults",
    "down_intervals",
    "without_links",
]

#: Second SeedSequence word of every fault draw (never a run seed's epoch index: those are
#: three-word sequences [seed, epoch, entity]; fault sequences have four or five words).
FAULT_TAG = 0x46410001
_SAT, _ISL = 0, 1
#: satellite-level kinds, in the order of FaultSchedule.state's rows
SATELLITE_KINDS = ("satellite", "isac_payload", "pnt_payload")


@dataclass(frozen=True)
class Resolved:
    """One scheduled fault on satellite indices: kind, element (s,) or (a, b) with a < b,
    [start, end) seconds, and the ``[[faults]]`` entry it came from."""

    kind: str
    element: tuple
    start: float
    end: float
    entry: int


def _where(scenario, locator, i: int, name: str) -> str:
    source = scenario.source_path
    line = locator.line_of(("faults", i, name)) if locator is not None else None
    head = "scenario" if source is None else (str(source) if line is None else f"{source}:{line}")
    return f"{head} faults[{i}].{name}"


def _satellite_index(constellation, fault, ref) -> tuple[int | None, str]:
    """(index, "") of one satellite reference, or (None, why not)."""
    if ref is None:  # shell / plane / slot
        if constellation.plane is None:
            return None, "plane/slot name satellites of Walker shells only; this is a TLE set"
        shell = 0 if fault.shell is None else fault.shell
        hit = np.flatnonzero(
            (constellation.shell == shell)
            & (constellation.plane == fault.plane)
            & (constellation.slot == fault.slot)
        )
        if len(hit) == 0:
            return None, f"no satellite at shell {shell}, plane {fault.plane}, slot {fault.slot}"
        return int(hit[0]), ""
    if isinstance(ref, int):
        hit = np.flatnonzero(np.asarray(constellation.norad) == ref)
        if len(hit) == 0:
            return None, f"no satellite has catalogue number {ref}"
        return int(hit[0]), ""
    hit = [i for i, n in enumerate(constellation.names) if n == ref]
    if len(hit) == 0:
        return None, f"no satellite is named {ref!r}"
    if len(hit) > 1:
        return None, f"{len(hit)} satellites are named {ref!r}: use the catalogue number"
    return hit[0], ""


def check_faults(scenario, constellation) -> list[Resolved]:
    """The scheduled faults on satellite indices; raises InputError with every problem."""
    faults = list(scenario.faults)
    locator = None
    if scenario.source_path is not None and scenario.source_path.exists():
        locator = TomlLocator(scenario.source_path.read_text())
    problems, resolved = [], []
    randoms = [i for i, f in enumerate(faults) if f.kind == "random"]
    for i in randoms[1:]:
        problems.append(
            Problem(
                _where(scenario, locator, i, "kind"),
                f"only one random fault entry is allowed (the first is faults[{randoms[0]}])",
            )
        )
    end_s = float(scenario.run.duration)
    for i, fault in enumerate(faults):
        if fault.kind not in SCHEDULED_KINDS:
            continue
        if fault.start > end_s:
            problems.append(
                Problem(
                    _where(scenario, locator, i, "start"),
                    f"start = {fault.start:g} s is after the run's end ({end_s:g} s)",
                )
            )
            continue
        if fault.kind == "isl":
            ends = []
            for ref in fault.link:
                s, why = _satellite_index(constellation, fault, ref)
                if s is None:
                    problems.append(Problem(_where(scenario, locator, i, "link"), why))
                ends.append(s)
            if None in ends:
                continue
            if ends[0] == ends[1]:
                problems.append(
                    Problem(_where(scenario, locator, i, "link"), "both ends are one satellite")
                )
                continue
            element = (min(ends), max(ends))
        else:
            s, why = _satellite_index(constellation, fault, fault.satellite)
            if s is None:
                field_name = "satellite" if fault.satellite is not None else "slot"
                problems.append(Problem(_where(scenario, locator, i, field_name), why))
                continue
            element = (s,)
        resolved.append(Resolved(fault.kind, element, float(fault.start), fault.end, i))
    by_element: dict = {}
    for r in sorted(resolved, key=lambda r: (r.kind, r.element, r.start)):
        previous = by_element.get((r.kind, r.element))
        if previous is not None and r.start < previous.end:
            names = "-".join(str(constellation.names[s]) for s in r.element)
            problems.append(
                Problem(
                    _where(scenario, locator, r.entry, "start"),
                    f"{r.kind} fault on {names} from {r.start:g} s overlaps faults[{previous.entry}] "
                    f"({previous.start:g} .. {previous.end:g} s)",
                )
            )
            continue
        by_element[(r.kind, r.element)] = r
    if problems:
        raise InputError(problems)
    return resolved


def down_intervals(rng: np.random.Generator, mtbf_s: float, mttr_s: float, horizon_s: float):
    """(starts, ends) (n,) seconds of the down intervals of one element on [0, horizon_s]:
    an alternating renewal process with exponential up (mean ``mtbf_s``) and down (mean
    ``mttr_s``) times, started in its stationary state (down with probability
    ``mttr / (mtbf + mttr)``; by memorylessness the first residual time has the same law)."""
    starts, ends = [], []
    down = rng.random() < mttr_s / (mtbf_s + mttr_s)
    t = 0.0
    while t <= horizon_s:
        if down:
            d = rng.exponential(mttr_s)
            starts.append(t)
            ends.append(t + d)
            t += d
        else:
            t += rng.exponential(mtbf_s)
        down = not down
    return np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)


def _element_rng(seed: int, words) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), FAULT_TAG, *map(int, words)]))


@dataclass
class FaultSchedule:
    """Which elements are off at each epoch of a run (see the module docstring).

    n_sats S; step_s seconds between epochs; horizon_s the run's last epoch time; scheduled
    the resolved scheduled faults; random the ``random`` entry or None; seed the run seed.
    """

    n_sats: int
    step_s: float
    horizon_s: float
    scheduled: list[Resolved]
    random: object | None
    seed: int
    # flat down intervals of the satellite-level kinds: kind row (0 satellite, 1 isac, 2 pnt),
    # satellite, start, end, cause ("faults[i]" or "random")
    _rows: tuple = field(init=False, repr=False)
    _isl_cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        kind, sat, start, end, cause = [], [], [], [], []
        for r in self.scheduled:
            if r.kind in SATELLITE_KINDS:
                kind.append(SATELLITE_KINDS.index(r.kind))
                sat.append(r.element[0])
                start.append(r.start)
                end.append(r.end)
                cause.append(f"faults[{r.entry}]")
        if self.random is not None and self.random.satellite_mtbf is not None:
            for s in range(self.n_sats):
                a, b = down_intervals(
                    _element_rng(self.seed, (_SAT, s)),
                    self.random.satellite_mtbf,
                    self.random.satellite_mttr,
                    self.horizon_s,
                )
                kind += [0] * len(a)
                sat += [s] * len(a)
                start += a.tolist()
                end += b.tolist()
                cause += ["random"] * len(a)
        self._rows = (
            np.asarray(kind, dtype=np.int64),
            np.asarray(sat, dtype=np.int64),
            np.asarray(start, dtype=float),
            np.asarray(end, dtype=float),
            np.asarray(cause, dtype=object),
        )
        self._isl_scheduled = {}
        for r in self.scheduled:
            if r.kind == "isl":
                self._isl_scheduled.setdefault(r.element, []).append((r.start, r.end, r.entry))

    @classmethod
    def from_scenario(cls, scenario, constellation, n_epochs: int, step_s: float):
        """The schedule of `scenario` (whose ``faults`` is not empty) on `constellation`;
        raises InputError (file:line field) for what cannot be."""
        randoms = [f for f in scenario.faults if f.kind == "random"]
        return cls(
            n_sats=len(constellation),
            step_s=float(step_s),
            horizon_s=(n_epochs - 1) * float(step_s),
            scheduled=check_faults(scenario, constellation),
            random=randoms[0] if randoms else None,
            seed=int(scenario.run.seed),
        )

    def time(self, index: int) -> float:
        return index * self.step_s

    def _active(self, index: int) -> np.ndarray:
        t = self.time(index)
        _, _, start, end, _ = self._rows
        return (start <= t) & (t < end)

    def state(self, index: int) -> np.ndarray:
        """(3, S) bool, True = up: satellite, ISAC payload, PNT payload at epoch `index`.
        A satellite that is down has both payloads down too."""
        kind, sat, *_ = self._rows
        up = np.ones((3, self.n_sats), dtype=bool)
        active = self._active(index)
        up[kind[active], sat[active]] = False
        up[1:] &= up[0]
        return up

    def _isl_random(self, pair) -> tuple[np.ndarray, np.ndarray]:
        hit = self._isl_cache.get(pair)
        if hit is None:
            hit = down_intervals(
                _element_rng(self.seed, (_ISL, *pair)),
                self.random.isl_mtbf,
                self.random.isl_mttr,
                self.horizon_s,
            )
            self._isl_cache[pair] = hit
        return hit

    def _link_cause(self, index: int, pair) -> str:
        """Why the link `pair` (a < b) is down at epoch `index` ("" = it is up)."""
        t = self.time(index)
        for start, end, entry in self._isl_scheduled.get(pair, ()):
            if start <= t < end:
                return f"faults[{entry}]"
        if self.random is not None and self.random.isl_mtbf is not None:
            starts, ends = self._isl_random(pair)
            if np.any((starts <= t) & (t < ends)):
                return "random"
        return ""

    @property
    def has_link_faults(self) -> bool:
        return bool(self._isl_scheduled) or (
            self.random is not None and self.random.isl_mtbf is not None
        )

    def links_down(self, index: int, a, b) -> np.ndarray:
        """(E,) bool: the links a[k]-b[k] (satellite indices) that are off at epoch `index`."""
        a, b = np.asarray(a), np.asarray(b)
        if not self.has_link_faults:
            return np.zeros(len(a), dtype=bool)
        lo, hi = np.minimum(a, b).tolist(), np.maximum(a, b).tolist()
        return np.array([bool(self._link_cause(index, p)) for p in zip(lo, hi)], dtype=bool)

    def events(self, index: int, a, b, names) -> list[dict]:
        """Rows of the ``faults`` table at epoch `index` (element, kind, change, cause): each
        satellite, ISAC payload and PNT payload whose own faults switch it off or on between
        epoch index-1 and `index` (at epoch 0: every element that starts the run off; a
        payload off because its satellite is off has no row of its own), and each candidate
        link a[k]-b[k] of this epoch whose state differs from index-1. `names` (S,) satellite
        names. Cause: the ``faults[i]`` entry or ``random``."""
        rows = []
        kind_rows, sat, _, _, cause = self._rows
        active = self._active(index)
        was = self._active(index - 1) if index > 0 else np.zeros_like(active)
        for k, kind in enumerate(SATELLITE_KINDS):
            now = np.zeros(self.n_sats, dtype=bool)
            before = np.zeros(self.n_sats, dtype=bool)
            now[sat[active & (kind_rows == k)]] = True
            before[sat[was & (kind_rows == k)]] = True
            for s in np.flatnonzero(now != before):
                down = bool(now[s])
                # the entries that start (down) or end (up) here
                pick = (
                    (kind_rows == k) & (sat == s) & ((active & ~was) if down else (was & ~active))
                )
                rows.append(
                    self._row(index, str(names[s]), kind, down, ";".join(sorted(set(cause[pick]))))
                )
        if self.has_link_faults:
            lo, hi = np.minimum(a, b).tolist(), np.maximum(a, b).tolist()
            for pair in sorted(set(zip(lo, hi))):
                now_cause = self._link_cause(index, pair)
                before_cause = self._link_cause(index - 1, pair) if index > 0 else ""
                if bool(now_cause) != bool(before_cause):
                    element = f"{names[pair[0]]}|{names[pair[1]]}"
                    rows.append(
                        self._row(index, element, "isl", bool(now_cause), now_cause or before_cause)
                    )
        return rows

    def _row(self, index, element, kind, down, cause) -> dict:
        return {
            "epoch": index,
            "element": element,
            "kind": kind,
            "change": "down" if down else "up",
            "cause": cause,
        }


def without_links(graph, down: np.ndarray):
    """A copy of an ``isl_graph`` result (built without names) without the links where
    `down` (E,) bool (in the order of ``graph.graph["edges"]``); its ``grid`` table loses
    them too (a dropped link is not replaced, as in ``isl_graph``)."""
    e = graph.graph["edges"]
    keep = ~np.asarray(down, dtype=bool)
    edges = {k: np.asarray(v)[keep] for k, v in e.items()}
    grid = graph.graph["grid"].copy()
    for a, b, inter in zip(e["a"][~keep], e["b"][~keep], e["kind_inter"][~keep]):
        cols = (2, 3) if inter else (0, 1)
        if grid[a, cols[0]] == b:
            grid[a, cols[0]] = -1
        if grid[b, cols[1]] == a:
            grid[b, cols[1]] = -1
    return IslGraph(
        grid=grid, sat_pos_m=graph.graph["sat_pos_m"], edges=edges, pending=(len(grid), None)
    )
