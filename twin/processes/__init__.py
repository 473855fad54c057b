"""The processes a scenario puts on the clock: :func:`attach` subscribes them to a Twin.

:func:`attach` subscribes, in this order, the foundation's recorder
(:mod:`twin.processes.recorder`, always) and the processes a scenario enables
(``[isac] enabled``, ``[pnt] enabled``) to a :class:`twin.clock.Twin`, after the Twin is
built (the clock knows no process). Each process object is a SimPy process factory
``process(context, inbox)`` (``context`` a :class:`twin.epoch.RunContext`) with
``state()`` / ``load_state(state)`` for the checkpoint (``docs/twin.md``).

An entity shard of a windowed run (``twin.windows``) attaches the processes for some of the
entities only: :func:`attach` then hands each process a context whose scenario names just
those (``[isac] targets`` / ``[pnt] terminals``), so a process serves its shard's entities
with no code of its own for it; entity indices (hence every draw, ``twin.epoch``) stay those
of the whole scenario.
"""

from __future__ import annotations

import dataclasses

from twin.processes.isac import IsacProcess
from twin.processes.pnt import PntProcess
from twin.processes.recorder import recorder_process

__all__ = ["attach", "served"]


def served(scenario) -> tuple[list[str], list[str]]:
    """(ISAC targets, PNT terminal clusters) the scenario's enabled processes serve, in the
    order they serve them (``[isac] targets`` / ``[pnt] terminals``, default: all)."""
    isac, pnt = scenario.isac, scenario.pnt
    targets = list(isac.targets or [t.name for t in scenario.targets]) if isac.enabled else []
    terminals = list(pnt.terminals or [t.name for t in scenario.terminals]) if pnt.enabled else []
    return targets, terminals


def attach(
    twin,
    *,
    targets: list[str] | None = None,
    terminals: list[str] | None = None,
    foundation: bool = True,
) -> list:
    """Subscribe the recorder and the scenario's enabled processes to `twin`; returns the
    enabled processes (ISAC then PNT).

    targets / terminals: serve only these (an entity shard; a sub-list of :func:`served`'s,
    an empty list: no such process); None: all. foundation: False leaves the recorder (the
    foundation's tables and counts) to another shard.
    """
    processes = []
    sc = twin.scenario
    if foundation:
        twin.subscribe(recorder_process)
    all_targets, all_terminals = served(sc)
    targets = all_targets if targets is None else list(targets)
    terminals = all_terminals if terminals is None else list(terminals)
    for names, every, section, key, factory in (
        (targets, all_targets, "isac", "targets", IsacProcess),
        (terminals, all_terminals, "pnt", "terminals", PntProcess),
    ):
        if not names:
            continue
        context = twin.context
        if names != every:  # an entity shard: the process sees a scenario naming its entities
            config = getattr(sc, section).model_copy(update={key: names})
            context = dataclasses.replace(context, scenario=sc.model_copy(update={section: config}))
        processes.append(factory(context))
    for process in processes:
        twin.subscribe(process, stateful=True)
    return processes
