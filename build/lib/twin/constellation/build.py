"""A scenario's `constellation` section as a `Constellation`: Walker shells or a TLE file."""

from __future__ import annotations

from datetime import datetime

from twin.constellation.tle import Constellation, read_tle
from twin.constellation.walker import field_of, walker_shells


def build_constellation(constellation_cfg, start: datetime) -> Constellation:
    """Constellation from a scenario's `constellation` section (duck-typed):
    kind "walker" -> `walker_shells(cfg.shells, epoch=start)`; kind "tle" ->
    `read_tle(cfg.tle_file, max_satellites=cfg.max_satellites)` (0 or None = all)."""
    kind = field_of(constellation_cfg, "kind")
    if kind == "walker":
        return walker_shells(field_of(constellation_cfg, "shells") or [], epoch=start)
    if kind == "tle":
        path = field_of(constellation_cfg, "tle_file")
        if path is None:
            raise ValueError("constellation.kind = 'tle' needs constellation.tle_file")
        return read_tle(
            path, max_satellites=field_of(constellation_cfg, "max_satellites") or None
        )  # 0 = all
    raise ValueError(f"constellation.kind must be 'walker' or 'tle', got {kind!r}")
