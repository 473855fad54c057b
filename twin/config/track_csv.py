"""Track CSV files: the rows of a ground entity's ``track_csv`` as waypoint dicts.

``read_track_csv(path)`` is the only file I/O behind ``[[targets]] track_csv`` /
``[[terminals]] track_csv``; the schema (:class:`twin.config.schema.GroundEntity`) calls
it while validating, so a bad file is refused before a run with ``<file>:<line>``.
"""

from __future__ import annotations

from pathlib import Path

from twin.config.csv_rows import csv_rows
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
    rows = []
    for line_no, cells in csv_rows(path, TRACK_CSV_COLUMNS, 3, "track"):
        row = {}
        for name, cell in cells.items():
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
