"""The processes a scenario puts on the clock: :func:`attach` subscribes them to a Twin.

:func:`attach` subscribes, in this order, the foundation's recorder
(:mod:`twin.processes.recorder`, always) and the processes a scenario enables
(``[isac] enabled``, ``[pnt] enabled``) to a :class:`twin.clock.Twin`, after the Twin is
built (the clock knows no process). Each process object is a SimPy process factory
``process(context, inbox)`` (``context`` a :class:`twin.epoch.RunContext`) with
``state()`` / ``load_state(state)`` for the checkpoint (``docs/twin.md``).
"""

from __future__ import annotations

from twin.processes.isac import IsacProcess
from twin.processes.pnt import PntProcess
from twin.processes.recorder import recorder_process

__all__ = ["attach"]


def attach(twin) -> list:
    """Subscribe the recorder and the scenario's enabled processes to `twin`; returns the
    enabled processes (ISAC then PNT)."""
    processes = []
    sc = twin.scenario
    twin.subscribe(recorder_process)
    if sc.isac.enabled and (sc.isac.targets or sc.targets):
        processes.append(IsacProcess(twin.context))
    if sc.pnt.enabled and (sc.pnt.terminals or sc.terminals):
        processes.append(PntProcess(twin.context))
    for process in processes:
        twin.subscribe(process, stateful=True)
    return processes
