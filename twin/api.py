"""The notebook API: run a scenario from Python and get its tables, summary and report.

::

    import twin

    run = twin.run("default")                       # a packaged scenario, a TOML path,
    run = twin.run(scenario_dict, out="runs/mine")  # a dict, or a twin.config.Scenario
    run.dir                                         # the run directory (Path)
    run.tables["groups"]                            # DataFrames, read on first use
    run.summary                                     # one row per ground entity
    run.report()                                    # figures + HTML page, returns the page

``twin.run`` and ``twin.Run`` are this module's, reached lazily from ``twin/__init__.py`` so that
``import twin`` stays light. A scenario built in code goes through exactly the checks of a file
(``twin.runner.prepare``: schema, TLE records, SGP4 at every epoch) and is refused with an
InputError naming every problem (``<dict> run.step: ...``) before anything is written.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pandas as pd

from twin.config.schema import Scenario
from twin.results import column_units, load, run_info
from twin.runner import run_scenario

__all__ = ["Run", "run"]


class Run:
    """A run directory written by ``twin run`` or :func:`run`.

    dir: the directory; tables: ``twin.results.load(dir)`` (read on first access, then kept);
    info: run.json; summary: the report's per-entity summary; report(): ``twin report``.
    """

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        if not (self.dir / "run.json").exists():
            raise FileNotFoundError(f"{self.dir}: not a run directory (no run.json)")

    def __repr__(self) -> str:
        info = self.info
        return (
            f"Run({str(self.dir)!r}: {info.get('name')}, {info.get('status')}, "
            f"{info.get('n_epochs')} epochs x {info.get('n_satellites')} satellites)"
        )

    @property
    def info(self) -> dict:
        """run.json: status, seed, epochs, satellites, versions, wall time, memory samples."""
        return run_info(self.dir)

    @cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the run, keyed by name, indexed by UTC time, tidy
        (``twin.results.load(dir, tidy=True)``: an ``entity`` key in every per-entity table,
        categorical names, long tables for the list-valued cells)."""
        return load(self.dir, tidy=True)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per ground entity: valid-group fraction, handovers per hour by kind, median
        elevation and the metrics' median/p95 (the report's summary.csv)."""
        from twin.report import summary_table  # deferred: matplotlib loads with the report

        return summary_table(load(self.dir), self.info)

    def units(self, table: str) -> dict[str, str]:
        """Column -> unit of one table (the parquet files' Arrow field metadata)."""
        return column_units(self.dir, table)

    def report(self, out: str | Path | None = None) -> Path:
        """Write the figures and the HTML page (default ``<dir>/report``); returns the page."""
        from twin.report import write_report  # deferred: matplotlib loads with the report

        return write_report(self.dir, None if out is None else Path(out))


def run(
    scenario: Scenario | dict | str | Path | None = None,
    out: str | Path | None = None,
    *,
    quiet: bool = False,
    workers: int = 0,
    resume: str | Path | None = None,
    shards: int | None = None,
) -> Run:
    """Check and run a scenario; returns its :class:`Run`.

    scenario: a Scenario, a dict in the TOML structure, a TOML path or a packaged scenario's
    name (``twin scenarios list``); None: the default. out: the run directory (default the
    scenario's output.dir; an occupied directory gives ``out-2``, ...). quiet: no progress bar
    or summary (they go to stderr). workers > 1: windowed on local dask workers (shards: entity
    shards per window, None: automatic, ``docs/twin.md``). resume: a run directory to continue. Raises InputError (bad input, nothing written) or RunInterrupted
    (Ctrl-C / the kernel's interrupt: checkpointed, resume with ``resume=``).
    """
    run_dir = run_scenario(
        scenario,
        out=None if out is None else Path(out),
        resume=None if resume is None else Path(resume),
        quiet=quiet,
        workers=workers,
        shards=shards,
    )
    return Run(run_dir)
