"""Reading a small CSV of named columns row by row, with ``<file>:<line>`` in every error.

Shared by the track files (:mod:`twin.config.track_csv`) and the points files of
``[[areas]]`` (:mod:`twin.config.areas`); each checks its own values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

__all__ = ["csv_rows"]


def csv_rows(
    path: Path, columns: tuple[str, ...], n_required: int, kind: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: stripped cell})`` for each non-blank data row of `path`.

    The header names `columns` in any order: the first `n_required` must be there, the rest
    may be; any other name is refused. Raises ValueError naming ``<file>:<line>`` for an empty
    file, a bad header or a row with the wrong number of values (`kind` names the file's
    purpose in the messages, e.g. "track").
    """
    wanted = ", ".join(columns[:n_required]) + "".join(f" [, {c}]" for c in columns[n_required:])
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}:1: empty {kind} CSV (need a header: {wanted})") from None
        unknown = [h for h in header if h not in columns]
        missing = [h for h in columns[:n_required] if h not in header]
        if unknown or missing:
            raise ValueError(
                f"{path}:1: {kind} CSV header must name {wanted}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        for line_no, record in enumerate(reader, start=2):
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise ValueError(
                    f"{path}:{line_no}: {len(record)} values for {len(header)} columns"
                )
            yield line_no, {name: cell.strip() for name, cell in zip(header, record)}
