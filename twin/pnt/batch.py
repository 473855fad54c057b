"""Batched feasibility tests across independent drops (many PNT clusters at one epoch).

DSTA (:func:`twin.pnt.beamforming.dsta`) is sequential within one drop: each feasibility test
decides the next threshold. Across drops (clusters) the tests are independent, so
:func:`run_batched` runs every drop's whole computation as a coroutine (a greenlet) and, each
time all of them wait on a fast feasibility test (:func:`twin.pnt.feasibility.fast_reduced`),
hands the waiting tests to one batched solve (``solve_many``, e.g.
:func:`twin.pnt.feasibility.fast_reduced_many`), then resumes every drop with its answer.
Each drop runs exactly its per-drop code; only the tests are solved together, so the results
equal the per-drop loop up to the floating-point differences of the batched linear algebra.

Inside a batched task :func:`submit` returns the answer of the batched solve; outside one it
returns :data:`NOT_BATCHED` and the caller solves alone.
"""

from __future__ import annotations

from greenlet import getcurrent, greenlet

__all__ = ["NOT_BATCHED", "run_batched", "submit"]

#: What :func:`submit` returns outside :func:`run_batched` (the caller then solves alone).
NOT_BATCHED = object()


class _Task(greenlet):
    """One drop's computation, run by :func:`run_batched` (its parent)."""

    batched = True


def submit(request):
    """Inside a task of :func:`run_batched`: wait for the batched answer to ``request`` (a tuple of
    ``solve_many``'s items) and return it. Elsewhere: return :data:`NOT_BATCHED` at once."""
    current = getcurrent()
    if not getattr(current, "batched", False):
        return NOT_BATCHED
    return current.parent.switch(request)


def run_batched(tasks, solve_many) -> list:
    """Results of the callables ``tasks`` (no arguments), in order, with their feasibility tests
    solved in batches: ``solve_many(requests) -> answers`` (same length and order) gets every test
    that the unfinished tasks wait on at once. An exception in a task propagates."""
    workers = [_Task(task) for task in tasks]
    results: list = [None] * len(workers)
    waiting: dict[int, object] = {}

    def advance(k, value):
        out = workers[k].switch(value) if value is not None else workers[k].switch()
        if workers[k].dead:
            results[k] = out
        else:
            waiting[k] = out

    for k in range(len(workers)):
        advance(k, None)
    while waiting:
        keys = sorted(waiting)
        answers = solve_many([waiting[k] for k in keys])
        waiting.clear()
        for k, answer in zip(keys, answers):
            advance(k, answer)
    return results
