"""Orbit Mean-Elements Messages (OMM, CCSDS 502.0): CelesTrak's recommended GP format, as JSON
or CSV, read into the same `Constellation` as a TLE file, with the same kind of checks.

``read_elements(path)`` is the loader the scenarios and ``twin ephemeris`` use: ``.json`` and
``.csv`` files are OMM, anything else TLE (``twin.constellation.tle.read_tle``).

Checks made on every OMM record (each failure a `twin.errors.Problem` named ``"<file>:<line>"``:
the CSV line, or the line where the JSON record's ``{`` opens):

- every field SGP4 needs is present (`REQUIRED`);
- numbers parse and are finite; NORAD_CAT_ID is a positive integer; EPOCH is ISO 8601
  (``YYYY-mm-ddTHH:MM:SS[.ffffff]``, UTC);
- inclination 0-180 deg; RAAN, argument of pericenter and mean anomaly 0-360 deg;
  eccentricity in [0, 1); mean motion > 0;
- SGP4 initialises (``sgp4.omm.initialize``) and propagates without error at the record's epoch;
- no catalog number appears twice (both records named).
"""

from __future__ import annotations

import io
import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
from sgp4 import omm
from sgp4.api import SGP4_ERRORS, Satrec, SatrecArray

from twin.constellation.tle import (
    Constellation,
    fetch_gp,
    parse_tle_text,
    read_tle,
    satrec_epochs,
)
from twin.errors import InputError, Problem

__all__ = [
    "OMM_SUFFIXES",
    "REQUIRED",
    "fetch_elements",
    "parse_omm_text",
    "read_elements",
    "read_omm",
]

OMM_SUFFIXES = {".json": "json", ".csv": "csv"}

#: The OMM fields `sgp4.omm.initialize` reads (OBJECT_NAME is optional: the name).
REQUIRED = (
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)

#: (field, low, high, high inclusive): the ranges checked (degrees, or 1 for eccentricity).
RANGES = (
    ("INCLINATION", 0.0, 180.0, True),
    ("RA_OF_ASC_NODE", 0.0, 360.0, True),
    ("ARG_OF_PERICENTER", 0.0, 360.0, True),
    ("MEAN_ANOMALY", 0.0, 360.0, True),
    ("ECCENTRICITY", 0.0, 1.0, False),
)


def _json_record_lines(text: str) -> list[int]:
    """The line on which each top-level array element's ``{`` opens (strings skipped)."""
    lines, depth, line, in_string, escaped = [], 0, 1, False, False
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            if char == "{" and depth == 1:
                lines.append(line)
            depth += 1
        elif char in "]}":
            depth -= 1
    return lines


def _records(text: str, label: str, fmt: str) -> list[tuple[int, dict]]:
    """(line, fields) of every record; InputError when the text is not JSON/CSV of records."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError([Problem(f"{label}:{exc.lineno}", f"not JSON: {exc.msg}")]) from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError([Problem(label, "OMM JSON must be an array of objects (records)")])
        lines = _json_record_lines(text)
        return list(zip(lines, data))
    reader = omm.parse_csv(io.StringIO(text))
    missing = [f for f in REQUIRED if f not in (reader.fieldnames or [])]
    if missing:
        raise InputError([Problem(f"{label}:1", f"CSV header lacks OMM field(s) {missing}")])
    return [(reader.line_num, dict(row)) for row in reader]


def _check_record(fields: dict, where: str) -> tuple[Satrec | None, list[Problem]]:
    missing = [f for f in REQUIRED if fields.get(f) in (None, "")]
    if missing:
        return None, [Problem(where, f"missing OMM field(s) {missing}")]
    problems = []
    numbers = {}
    for name in REQUIRED:
        if name in ("OBJECT_ID", "EPOCH", "CLASSIFICATION_TYPE"):
            continue
        try:
            value = float(fields[name])
        except (TypeError, ValueError):
            problems.append(Problem(where, f"{name} = {fields[name]!r} is not a number"))
            continue
        if not math.isfinite(value):
            problems.append(Problem(where, f"{name} = {fields[name]!r} is not finite"))
        numbers[name] = value
    if problems:
        return None, problems
    norad = numbers["NORAD_CAT_ID"]
    if norad != int(norad) or norad < 1:
        problems.append(
            Problem(where, f"NORAD_CAT_ID = {fields['NORAD_CAT_ID']!r}: not a positive integer")
        )
    epoch = str(fields["EPOCH"])
    try:
        datetime.strptime(epoch if "." in epoch else epoch + ".0", "%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        problems.append(
            Problem(where, f"EPOCH = {epoch!r}: not YYYY-mm-ddTHH:MM:SS[.ffffff] (UTC)")
        )
    for name, low, high, closed in RANGES:
        value = numbers[name]
        if not (low <= value <= high if closed else low <= value < high):
            bracket = "]" if closed else ")"
            problems.append(
                Problem(where, f"{name} = {value:g} out of range [{low:g}, {high:g}{bracket}")
            )
    if not numbers["MEAN_MOTION"] > 0:
        problems.append(Problem(where, f"MEAN_MOTION = {numbers['MEAN_MOTION']:g}: must be > 0"))
    if problems:
        return None, problems
    sat = Satrec()
    omm.initialize(
        sat,
        {
            **fields,
            "EPOCH": epoch if "." in epoch else epoch + ".0",
            "OBJECT_ID": str(fields["OBJECT_ID"]),
        },
    )
    code = sat.error or sat.sgp4(sat.jdsatepoch, sat.jdsatepochF)[0]
    if code != 0:
        return None, [
            Problem(
                where,
                f"sgp4 error {code} at the record's epoch: {SGP4_ERRORS.get(code, 'unknown error')}",
            )
        ]
    return sat, []


def parse_omm_text(text: str, label: str, fmt: str) -> Constellation:
    """Constellation from OMM text (`fmt` "json" or "csv"); `label` names the source.
    Refuses (InputError) the whole text, listing every bad record, as ``read_tle`` does."""
    records = _records(text, label, fmt)
    if not records:
        raise InputError([Problem(label, "no OMM record")])
    good: list[tuple[int, dict, Satrec]] = []
    problems: list[Problem] = []
    first_line: dict[int, int] = {}
    for line, fields in records:
        where = f"{label}:{line}"
        sat, found = _check_record(fields, where)
        if found:
            problems.extend(found)
            continue
        num = int(float(fields["NORAD_CAT_ID"]))
        if num in first_line:
            problems.append(
                Problem(
                    where,
                    f"duplicate catalog number {num}: lines {label}:{first_line[num]} and {where}",
                )
            )
            continue
        first_line[num] = line
        good.append((line, fields, sat))
    if problems:
        raise InputError(problems)
    satrecs = [s for _, _, s in good]
    return Constellation(
        names=[
            str(f.get("OBJECT_NAME") or f"NORAD {int(float(f['NORAD_CAT_ID']))}")
            for _, f, _ in good
        ],
        norad=np.array([int(float(f["NORAD_CAT_ID"])) for _, f, _ in good], dtype=np.int64),
        satrecs=satrecs,
        satrec_array=SatrecArray(satrecs),
        source=label,
        epochs=satrec_epochs(satrecs),
        tle_lines=[(line, line) for line, _, _ in good],
    )


def read_omm(path, *, max_satellites: int | None = None) -> Constellation:
    """Read an OMM file (``.json`` or ``.csv``); InputError listing every bad record."""
    path = Path(path)
    fmt = OMM_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError([Problem(str(path), "an OMM file ends in .json or .csv")])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            [Problem(str(path), f"cannot read OMM file: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError:
        raise InputError([Problem(str(path), "not UTF-8 text")]) from None
    constellation = parse_omm_text(text, str(path), fmt)
    if max_satellites:
        constellation = constellation.subset(
            np.arange(min(int(max_satellites), len(constellation)))
        )
    return constellation


def read_elements(path, *, max_satellites: int | None = None) -> Constellation:
    """An element-set file: OMM (``.json``, ``.csv``) or TLE (anything else)."""
    if Path(path).suffix.lower() in OMM_SUFFIXES:
        return read_omm(path, max_satellites=max_satellites)
    return read_tle(path, max_satellites=max_satellites)


def fetch_elements(group: str, dest_dir, *, fmt: str = "tle", **options) -> Path:
    """Download a CelesTrak GP group as TLE (``fmt="tle"``) or OMM (``"json"``, ``"csv"``),
    check every record (the TLE or OMM checks) and store it as
    ``dest_dir/<group>-<UTC fetch time>.<fmt>`` (``twin.constellation.tle.fetch_gp``)."""
    if fmt == "tle":
        return fetch_gp(
            group,
            dest_dir,
            fmt="tle",
            validate=lambda t, label: parse_tle_text(t, label),
            **options,
        )
    if fmt not in ("json", "csv"):
        raise ValueError(f"format must be tle, json or csv, got {fmt!r}")
    return fetch_gp(
        group, dest_dir, fmt=fmt, validate=lambda t, label: parse_omm_text(t, label, fmt), **options
    )
