"""Physical constants, dB conversions and the duration grammar shared by
scenario files and CLI flags.

Everything inside the package is SI (metres, seconds, radians, watts, hertz);
these helpers are the only place where human units are turned into SI.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np

C_LIGHT = 2.99792458e8  # m/s
K_BOLTZMANN = 1.380649e-23  # J/K


def db_to_lin(x_db):
    """Power ratio from dB: 10^(x/10). Array-friendly."""
    return 10.0 ** (np.asarray(x_db, dtype=float) / 10.0)


def lin_to_db(x):
    """dB from a power ratio: 10 log10(x). Array-friendly."""
    return 10.0 * np.log10(np.asarray(x, dtype=float))


def dbw_to_w(x_dbw):
    """Watts from dBW."""
    return db_to_lin(x_dbw)


def dbm_to_w(x_dbm):
    """Watts from dBm: 10^((x-30)/10)."""
    return db_to_lin(np.asarray(x_dbm, dtype=float) - 30.0)


_DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text) -> float:
    """Seconds from ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` or plain seconds.

    Accepts an int/float (seconds) or a string in that grammar. Raises
    ``ValueError`` naming the text on anything else (negative numbers,
    unknown units, empty strings, NaN, inf).
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"not a duration: {text!r} (must be a finite number of seconds >= 0)")
        return value
    if not isinstance(text, str):
        raise ValueError(f"not a duration: {text!r}")
    match = _DURATION_RE.match(text)
    if match is None:
        raise ValueError(
            f"not a duration: {text!r} (use a number of seconds or a number followed by s, m, h or d, e.g. '90s', '15m', '2h', '1d')"
        )
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def parse_utc(text) -> datetime:
    """A timezone-aware UTC datetime from ISO 8601 text or a datetime.

    Naive inputs are taken as UTC; inputs with another offset are converted.
    """
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, str):
        candidate = text.strip()
        if candidate.endswith("Z") or candidate.endswith("z"):
            candidate = candidate[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(candidate)
        except ValueError:
            raise ValueError(
                f"not an ISO 8601 UTC time: {text!r} (e.g. 2026-05-28T12:00:00Z)"
            ) from None
    else:
        raise ValueError(f"not an ISO 8601 UTC time: {text!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


#: Units of table columns by name ending (longest match wins): the ``unit`` of each column in the
#: tables' Arrow field metadata (``twin.rundir.write_parquet_atomic``) and in
#: ``twin.results.column_units``. Columns with no listed ending (counts, names, flags) have none.
COLUMN_UNITS = {
    "_deg": "deg",
    "_m": "m",
    "_km": "km",
    "_ms": "ms",
    "_s": "s",
    "_db": "dB",
    "_bps_hz": "bit/s/Hz",
    "_mps": "m/s",
    "_hz": "Hz",
}


def column_unit(name: str) -> str | None:
    """The unit of a table column from its name's ending (`COLUMN_UNITS`), or None."""
    endings = sorted((e for e in COLUMN_UNITS if name.endswith(e)), key=len, reverse=True)
    return COLUMN_UNITS[endings[0]] if endings else None
