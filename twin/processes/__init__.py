"""Processes that hang on the twin's clock besides the foundation's recorder.

:func:`attach` subscribes the processes a scenario enables (``[isac] enabled``,
``[pnt] enabled``) to a :class:`twin.clock.Twin`. Each process object is a SimPy process
factory ``process(twin, inbox)`` with ``state()`` / ``load_state(state)`` for the checkpoint
(``docs/twin.md``).
"""

from __future__ import annotations

__all__ = ["attach"]


def attach(twin) -> list:
    """Subscribe the scenario's enabled processes to `twin`; returns them (ISAC then PNT)."""
    processes = []
    sc = twin.scenario
    if sc.isac.enabled and (sc.isac.targets or sc.targets):
        from twin.processes.isac import IsacProcess

        processes.append(IsacProcess(twin))
    if sc.pnt.enabled and (sc.pnt.terminals or sc.terminals):
        from twin.processes.pnt import PntProcess

        processes.append(PntProcess(twin))
    for process in processes:
        twin.subscribe(process)
        twin.stateful[process.name] = process
    return processes
