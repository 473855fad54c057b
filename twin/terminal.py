"""What the `twin` commands share at the terminal: exit codes, logging through rich on stderr,
and a Ctrl-C that asks a run to stop at its next epoch instead of killing it mid-write.

Streams: a command's result (a run directory, a written file) is the only thing on stdout;
progress, summaries, warnings and log messages go to stderr (``STDERR``), so
``run_dir=$(twin run -q)`` works in a script.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.logging import RichHandler

#: Exit codes of every `twin` command (README "Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected error or a failed download
EXIT_BAD_INPUT = 2  # refused input (scenario, TLE/OMM, run directory), nothing written
EXIT_USAGE = 64  # unknown option, missing argument (sysexits.h EX_USAGE)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); the run is checkpointed and resumable

#: The console for progress, summaries and messages (stderr; stdout carries results only).
STDERR = Console(stderr=True)

LOGGER = "twin"


def configure_logging(verbosity: int = 0, *, quiet: bool = False) -> None:
    """Log records of the ``twin`` logger (and Python warnings) through rich on stderr.

    verbosity 0: warnings and errors; 1 (``-v``): also info; 2 (``-vv``): debug. quiet: errors only.
    """
    level = (
        logging.ERROR
        if quiet
        else {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    )
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "twin_terminal", False):
            logger.removeHandler(handler)
    handler = RichHandler(
        console=STDERR, show_time=verbosity > 0, show_path=verbosity > 1, markup=False
    )
    handler.twin_terminal = True
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    if not any(getattr(h, "twin_terminal", False) for h in warnings_logger.handlers):
        warnings_logger.addHandler(handler)
        warnings_logger.propagate = False


class StopFlag:
    """Set by the first Ctrl-C while a run is going (see :func:`stop_on_interrupt`)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


@contextmanager
def stop_on_interrupt() -> Iterator[StopFlag]:
    """Within the block, the first SIGINT sets the yielded flag (the run checkpoints at its next
    epoch and stops) and the second raises KeyboardInterrupt at once. Outside the main thread
    (where Python delivers no signal) the flag is never set and Ctrl-C behaves as usual."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        logging.getLogger(LOGGER).warning(
            "interrupt: stopping after this epoch with a checkpoint (Ctrl-C again to stop now)"
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
