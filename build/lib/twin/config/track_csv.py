"""Track CSV files: the rows of a ground entity's ``track_csv`` as waypoint dicts.

``read_track_csv(path)`` is the only file I/O behind ``[[targets]] track_csv`` /
``[[terminals]] track_csv``; the schema (:class:`twin.config.schema.GroundEntity`) calls
it while validating, so a bad file is refused before a run with ``<file>:<line>``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from twin.units import parse_duration

__all__ = ["TRACK_CSV_COLUMNS", "read_track_csv"]

TRACK_CSV_COLUMNS = ("time", "lat_deg", "lon_deg", "alt_m")


def read_track_csv(path: Path) -> list[dict]:
    """Rows of a track CSV as waypoint dicts ``{time, lat_deg, lon_deg, alt_m}``.

    The file has a header naming the columns ``time, lat_deg, lon_deg`` and optionally
    ``alt_m`` (any order; other columns are refused). ``time`` is seconds after the run start
    (a number) or a duration text (``"90s"``, ``"15m"``); degrees and metres as named. Raises
    ValueError naming ``<file>:<line>`` and the column of the first bad value.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(
                f"{path}:1: empty track CSV (need a header: {', '.join(TRACK_CSV_COLUMNS)})"
            ) from None
        unknown = [h for h in header if h not in TRACK_CSV_COLUMNS]
        missing = [h for h in TRACK_CSV_COLUMNS[:3] if h not in header]
        if unknown or missing:
            raise ValueError(
                f"{path}:1: track CSV header must name time, lat_deg, lon_deg [, alt_m]"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        rows = []
        for line_no, record in enumerate(reader, start=2):
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise ValueError(
                    f"{path}:{line_no}: {len(record)} values for {len(header)} columns"
                )
            row = {}
            for name, cell in zip(header, record):
                cell = cell.strip()
                try:
                    row[name] = (
                        parse_duration(cell if not _is_number(cell) else float(cell))
                        if name == "time"
                        else float(cell)
                    )
                except ValueError as exc:
                    raise ValueError(f"{path}:{line_no}: column {name}: {exc}") from None
            row.setdefault("alt_m", 0.0)
            rows.append({key: row[key] for key in TRACK_CSV_COLUMNS})
    if not rows:
        raise ValueError(f"{path}: the track CSV has a header but no rows")
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
