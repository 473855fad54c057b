"""A scenario's `constellation` section as a `Constellation`: Walker shells or a TLE file."""

from __future__ import annotations

from datetime import datetime

from twin.constellation.checks import check_at_times, drop_decayed
from twin.constellation.omm import read_elements
from twin.constellation.tle import Constellation
from twin.constellation.walker import field_of, walker_shells
from twin.errors import Problem


def build_constellation(constellation_cfg, start: datetime) -> Constellation:
    """Constellation from a scenario's `constellation` section (duck-typed):
    kind "walker" -> `walker_shells(cfg.shells, epoch=start)`; kind "tle" ->
    `read_elements(cfg.tle_file, max_satellites=cfg.max_satellites)` (a TLE or OMM file; 0 or
    None = all)."""
    kind = field_of(constellation_cfg, "kind")
    if kind == "walker":
        return walker_shells(field_of(constellation_cfg, "shells") or [], epoch=start)
    if kind == "tle":
        path = field_of(constellation_cfg, "tle_file")
        if path is None:
            raise ValueError("constellation.kind = 'tle' needs constellation.tle_file")
        return read_elements(  # TLE, or OMM (.json, .csv)
            path, max_satellites=field_of(constellation_cfg, "max_satellites") or None
        )  # 0 = all
    raise ValueError(f"constellation.kind must be 'walker' or 'tle', got {kind!r}")


def build_for_run(constellation_cfg, start: datetime, times) -> tuple[Constellation, list[Problem]]:
    """The constellation a run (or an ephemeris export) uses at `times` ((T,) datetime64 UTC),
    and the problems found there (``checks.check_at_times``). With ``drop_decayed`` set in the
    section, the satellites with a problem are left out and their problems are the returned
    list (the dropped ones); otherwise the caller refuses when the list is not empty."""
    constellation = build_constellation(constellation_cfg, start)
    if field_of(constellation_cfg, "drop_decayed"):
        return drop_decayed(constellation, times)
    return constellation, check_at_times(constellation, times)
