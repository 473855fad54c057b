"""Two-line element sets: the `Constellation` container, reading and
validating TLE files, epoch-age checks, and fetching fresh sets from CelesTrak.

Propagation lives in `twin.constellation.orbits`; Walker shells in `twin.constellation.walker`.

Checks made by `read_tle` on every record (each failure is a
`twin.errors.Problem` named ``"<file>:<line>"``):

- line 1 / line 2 length is 69 characters (trailing blanks ignored);
- line 1 starts with ``"1 "``, line 2 with ``"2 "``;
- modulo-10 checksum in column 69 (digits add their value, ``-`` adds 1);
- the catalog numbers of line 1 and line 2 agree;
- every field has the fixed-column format of the TLE standard (`TLE_FIELDS`:
  separators are blanks, decimal points in their columns, numbers are digits
  right-aligned in their field, signs and exponents where they belong), so no
  letter, blank or punctuation can stand in for a digit;
- every field parses (`sgp4.io.twoline2rv`, the strict pure-Python parser:
  the accelerated parser silently reads garbage as numbers);
- angles and the epoch day are in range (inclination 0-180 deg, RAAN, argument
  of perigee and mean anomaly 0-360 deg, day of year 1-366.99999999, mean
  motion > 0);
- SGP4 initialises and propagates without error at the record's own epoch;
- no catalog number appears twice in the file (both lines are named);
- name lines (3-line files) are printable ASCII.

What the reader guarantees (fuzzed in ``tests/constellation/test_fuzz_tle.py``): a record it
returns is one whose two data lines passed every check above, so any
*single-character* change to a data line either is refused or leaves every
orbital element and the epoch unchanged (e.g. a leading ``0`` written as a
blank, or the classification letter). Changes of two or more characters that
keep the checksum and the format (two digits swapped, two digits changed by
+d and -d) cannot be detected by any TLE check and give a different, valid
record. Name lines carry no checksum: a changed or swapped name is not
detected (the catalog number is the record's identity).
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sgp4.api import SGP4_ERRORS, Satrec, SatrecArray
from sgp4.earth_gravity import wgs72
from sgp4.io import twoline2rv as _strict_twoline2rv

from twin.errors import InputError, Problem

TLE_LINE_LENGTH = 69
_UNIX_EPOCH_JD = 2440587.5
_NS_PER_DAY = 86_400_000_000_000


@dataclass
class Constellation:
    """A set of S satellites sharing one SGP4 propagation path.

    names: S names; norad: (S,) int64 catalog numbers; satrecs: S `Satrec`;
    satrec_array: the same satellites as one `SatrecArray` (vectorised SGP4);
    source: TLE file path, URL, or ``"walker"``; tle_lines: S pairs (line-1
    number, line-2 number) in the source file, or None (Walker);
    epochs: (S,) datetime64[ns] element-set epochs, UTC;
    shell/plane/slot: (S,) int64 known for Walker shells, None for TLE sets
    (`twin.constellation.planes` infers the planes).
    """

    names: list[str]
    norad: np.ndarray
    satrecs: list[Satrec]
    satrec_array: SatrecArray
    source: str
    epochs: np.ndarray
    tle_lines: list[tuple[int, int]] | None = None
    shell: np.ndarray | None = None
    plane: np.ndarray | None = None
    slot: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)

    def where(self, i: int) -> str:
        """Location of satellite i for messages: ``"file:line"`` or ``"walker NAME"``."""
        if self.tle_lines is not None:
            return f"{self.source}:{self.tle_lines[i][0]}"
        return f"{self.source} {self.names[i]}"

    def subset(self, indices) -> Constellation:
        """A new Constellation with the satellites at `indices` (ints or a boolean mask of length S)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean mask has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).ravel()
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"subset indices must be in 0..{len(self) - 1}")
        satrecs = [self.satrecs[i] for i in idx]

        def pick(a):
            return None if a is None else np.asarray(a)[idx]

        return Constellation(
            names=[self.names[i] for i in idx],
            norad=self.norad[idx],
            satrecs=satrecs,
            satrec_array=SatrecArray(satrecs),
            source=self.source,
            epochs=self.epochs[idx],
            tle_lines=None if self.tle_lines is None else [self.tle_lines[i] for i in idx],
            shell=pick(self.shell),
            plane=pick(self.plane),
            slot=pick(self.slot),
        )


def satrec_epochs(satrecs: list[Satrec]) -> np.ndarray:
    """(S,) datetime64[ns] UTC epochs of Satrec objects (TLE epochs are UTC)."""
    whole = np.array([s.jdsatepoch for s in satrecs], dtype=float)
    frac = np.array([s.jdsatepochF for s in satrecs], dtype=float)
    days = (whole - _UNIX_EPOCH_JD) + frac
    return (np.round(days * _NS_PER_DAY)).astype(np.int64).astype("datetime64[ns]")


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of the first 68 columns: digits add their value, '-' adds 1."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


_RIGHT_INT = r" *[0-9]+"  # digits right-aligned in their field (leading blanks allowed)
_ANGLE = r" *[0-9]+\.[0-9]{4}"
_EXP = r"[ +-][0-9]{5}[+-][0-9]"  # assumed-decimal mantissa and exponent, e.g. " 12405-2"

#: Fixed-column fields of TLE line 1 and line 2 after the line number:
#: (first column, last column (1-based, inclusive), field name, regex, format in words).
TLE_FIELDS = {
    1: (
        (2, 2, "separator", r" ", "a blank"),
        (
            3,
            7,
            "catalog number",
            r"[0-9A-Z ][0-9 ]{3}[0-9]",
            "5 digits (Alpha-5: a letter then 4 digits)",
        ),
        (8, 8, "classification", r"[UCS]", "U, C or S"),
        (9, 9, "separator", r" ", "a blank"),
        (10, 17, "international designator", r"[0-9A-Z ]{8}", "digits, capitals or blanks"),
        (18, 18, "separator", r" ", "a blank"),
        (19, 20, "epoch year", r"[0-9]{2}", "2 digits"),
        (21, 32, "epoch day", _RIGHT_INT + r"\.[0-9]{8}", "DDD.DDDDDDDD"),
        (33, 33, "separator", r" ", "a blank"),
        (34, 43, "mean motion derivative", r"[ +-]\.[0-9]{8}", "sign then .DDDDDDDD"),
        (44, 44, "separator", r" ", "a blank"),
        (45, 52, "mean motion second derivative", _EXP, "sign, 5 digits, exponent sign and digit"),
        (53, 53, "separator", r" ", "a blank"),
        (54, 61, "BSTAR drag term", _EXP, "sign, 5 digits, exponent sign and digit"),
        (62, 62, "separator", r" ", "a blank"),
        (63, 63, "ephemeris type", r"[0-9 ]", "a digit"),
        (64, 64, "separator", r" ", "a blank"),
        (65, 68, "element set number", _RIGHT_INT, "up to 4 digits, right-aligned"),
    ),
    2: (
        (2, 2, "separator", r" ", "a blank"),
        (
            3,
            7,
            "catalog number",
            r"[0-9A-Z ][0-9 ]{3}[0-9]",
            "5 digits (Alpha-5: a letter then 4 digits)",
        ),
        (8, 8, "separator", r" ", "a blank"),
        (9, 16, "inclination", _ANGLE, "DDD.DDDD degrees"),
        (17, 17, "separator", r" ", "a blank"),
        (18, 25, "right ascension of the ascending node", _ANGLE, "DDD.DDDD degrees"),
        (26, 26, "separator", r" ", "a blank"),
        (27, 33, "eccentricity", r"[0-9]{7}", "7 digits (decimal point assumed)"),
        (34, 34, "separator", r" ", "a blank"),
        (35, 42, "argument of perigee", _ANGLE, "DDD.DDDD degrees"),
        (43, 43, "separator", r" ", "a blank"),
        (44, 51, "mean anomaly", _ANGLE, "DDD.DDDD degrees"),
        (52, 52, "separator", r" ", "a blank"),
        (53, 63, "mean motion", _RIGHT_INT + r"\.[0-9]{8}", "DD.DDDDDDDD revolutions per day"),
        (64, 68, "revolution number", _RIGHT_INT, "up to 5 digits, right-aligned"),
    ),
}
_FIELD_RES = {
    n: [(a, b, name, re.compile(rx), words) for a, b, name, rx, words in f]
    for n, f in TLE_FIELDS.items()
}

#: Ranges checked after parsing: (line, first column, last column, field, low, high) in the file's units.
_FIELD_RANGES = (
    (1, 21, 32, "epoch day", 1.0, 367.0),  # day 1.0 = January 1st 00:00; < 367
    (2, 9, 16, "inclination", 0.0, 180.0),
    (2, 18, 25, "right ascension of the ascending node", 0.0, 360.0),
    (2, 35, 42, "argument of perigee", 0.0, 360.0),
    (2, 44, 51, "mean anomaly", 0.0, 360.0),
)


def _format_problems(line: str, number: int, where: str) -> list[Problem]:
    """Fixed-column format problems of a 69-character data line (first bad field only)."""
    for a, b, name, rx, words in _FIELD_RES[number]:
        text = line[a - 1 : b]
        if not rx.fullmatch(text):
            cols = f"column {a}" if a == b else f"columns {a}-{b}"
            return [
                Problem(
                    where,
                    f"unparsable field: line {number} {name} ({cols}) is {text!r}, expected {words}",
                )
            ]
    return []


def _range_problems(rec: _Record, label: str) -> list[Problem]:
    """Out-of-range angles / epoch day / mean motion of a well-formatted record."""
    out = []
    for number, a, b, name, lo, hi in _FIELD_RANGES:
        line, n = (rec.line1, rec.n1) if number == 1 else (rec.line2, rec.n2)
        value = float(line[a - 1 : b])
        if not (lo <= value < hi if name == "epoch day" else lo <= value <= hi):
            allowed = f"{lo:g} <= value < {hi:g}" if name == "epoch day" else f"{lo:g}..{hi:g}"
            out.append(
                Problem(
                    f"{label}:{n}",
                    f"line {number} {name} (columns {a}-{b}) = {value:g} is out of range ({allowed})",
                )
            )
    if not float(rec.line2[52:63]) > 0.0:
        out.append(
            Problem(
                f"{label}:{rec.n2}",
                "line 2 mean motion (columns 53-63) must be > 0 revolutions per day",
            )
        )
    return out


@dataclass
class _Record:
    name: str | None
    line1: str
    line2: str
    n1: int  # file line number of line 1 (1-based)
    n2: int


def _split_records(text: str, label: str) -> tuple[list[_Record], list[Problem]]:
    """Group the non-blank lines of a TLE text into records.

    The format is decided once per file: 2-line when the first non-blank line
    starts with "1 ", else 3-line (name, line 1, line 2). Names may carry a
    "0 " prefix (3LE style); it is removed. CRLF and blank lines are tolerated.
    """
    # Split on "\n" only (a trailing "\r" is stripped as a blank) so that line
    # numbers are the ones editors and `sed -n` show; str.splitlines() would also
    # split on form feeds, vertical tabs and lone carriage returns.
    lines = [(n, raw.rstrip()) for n, raw in enumerate(text.split("\n"), start=1)]
    lines = [(n, s) for n, s in lines if s.strip()]
    if not lines:
        return [], [Problem(f"{label}:1", "no TLE records found (empty file)")]
    per = 2 if lines[0][1].startswith("1 ") else 3
    records, problems = [], []
    for k in range(0, len(lines), per):
        chunk = lines[k : k + per]
        if len(chunk) < per:
            problems.append(
                Problem(
                    f"{label}:{chunk[0][0]}",
                    f"incomplete record at end of file: expected {per} lines "
                    f"({'name, ' if per == 3 else ''}line 1, line 2), found {len(chunk)}",
                )
            )
            break
        if per == 3:
            bad = [c for c in chunk[0][1] if not (" " <= c <= "~")]
            if bad:
                problems.append(
                    Problem(
                        f"{label}:{chunk[0][0]}",
                        f"name line holds a control character {bad[0]!r} (names are printable ASCII)",
                    )
                )
                continue  # the record is bad (dropped with strict=False)
            name = chunk[0][1].strip()
            if name.startswith("0 "):
                name = name[2:].strip()
            chunk = chunk[1:]
        else:
            name = None
        (n1, l1), (n2, l2) = chunk
        records.append(_Record(name, l1, l2, n1, n2))
    return records, problems


def _line_problems(line: str, number: int, n: int, label: str) -> list[Problem]:
    """Length, prefix and checksum problems of one data line (number 1 or 2)."""
    where = f"{label}:{n}"
    out = []
    if len(line) != TLE_LINE_LENGTH:
        out.append(
            Problem(
                where, f"line {number} is {len(line)} characters long, expected {TLE_LINE_LENGTH}"
            )
        )
    if not line.startswith(f"{number} "):
        out.append(
            Problem(
                where,
                f"wrong line number: line {number} must start with '{number} ', found {line[:2]!r}",
            )
        )
    if len(line) == TLE_LINE_LENGTH:
        if not line[68].isdigit():
            out.append(Problem(where, f"checksum: column 69 is {line[68]!r}, not a digit"))
        elif int(line[68]) != tle_checksum(line):
            out.append(
                Problem(
                    where,
                    f"checksum: column 69 says {line[68]}, the line sums to {tle_checksum(line)} (mod 10)",
                )
            )
        if not out:
            out.extend(_format_problems(line, number, where))
    return out


def _check_record(rec: _Record, label: str) -> tuple[Satrec | None, list[Problem]]:
    """All single-record checks; returns the Satrec when the record is good."""
    problems = _line_problems(rec.line1, 1, rec.n1, label) + _line_problems(
        rec.line2, 2, rec.n2, label
    )
    if problems:
        return None, problems
    where = f"{label}:{rec.n1}"
    if rec.line1[2:7] != rec.line2[2:7]:
        return None, [
            Problem(
                where,
                f"catalog number mismatch: line 1 has {rec.line1[2:7].strip()!r}, "
                f"line 2 ({label}:{rec.n2}) has {rec.line2[2:7].strip()!r}",
            )
        ]
    ranges = _range_problems(rec, label)
    if ranges:
        return None, ranges
    try:
        _strict_twoline2rv(rec.line1, rec.line2, wgs72)
    except (ValueError, ArithmeticError) as exc:  # the format check above should leave none
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(where, f"unparsable field: {first}")]
    sat = Satrec.twoline2rv(rec.line1, rec.line2)
    code = sat.error
    if code == 0:
        code = sat.sgp4(sat.jdsatepoch, sat.jdsatepochF)[0]
    if code != 0:
        return None, [
            Problem(
                where,
                f"sgp4 error {code} at the record's epoch: {SGP4_ERRORS.get(code, 'unknown error')}",
            )
        ]
    return sat, []


def parse_tle_text(
    text: str, label: str, *, strict: bool = True, max_satellites: int | None = None
) -> Constellation:
    """Constellation from TLE text; `label` names the source in messages.

    strict=True refuses the whole text with one InputError listing every bad
    record. strict=False drops bad records (and later duplicates) and emits one
    UserWarning listing them; it still refuses a text with no good record.
    max_satellites keeps the first N good records (after validating all).
    """
    if max_satellites is not None and (int(max_satellites) != max_satellites or max_satellites < 1):
        raise ValueError(
            f"max_satellites must be a positive integer or None, got {max_satellites!r}"
        )
    records, problems = _split_records(text, label)
    good: list[tuple[_Record, Satrec]] = []
    first_line: dict[int, int] = {}
    for rec in records:
        sat, probs = _check_record(rec, label)
        if probs:
            problems.extend(probs)
            continue
        num = int(sat.satnum)
        if num in first_line:
            problems.append(
                Problem(
                    f"{label}:{rec.n1}",
                    f"duplicate catalog number {num}: lines {label}:{first_line[num]} and {label}:{rec.n1}",
                )
            )
            continue
        first_line[num] = rec.n1
        good.append((rec, sat))
    if problems and (strict or not good):
        raise InputError(problems)
    if problems:
        warnings.warn(
            f"{label}: dropped {len(problems)} bad TLE record(s):\n"
            + "\n".join(str(p) for p in problems),
            UserWarning,
            stacklevel=3,
        )
    if max_satellites is not None:
        good = good[: int(max_satellites)]
    satrecs = [s for _, s in good]
    return Constellation(
        names=[r.name if r.name else f"NORAD {int(s.satnum)}" for r, s in good],
        norad=np.array([int(s.satnum) for s in satrecs], dtype=np.int64),
        satrecs=satrecs,
        satrec_array=SatrecArray(satrecs),
        source=label,
        epochs=satrec_epochs(satrecs),
        tle_lines=[(r.n1, r.n2) for r, _ in good],
    )


def read_tle(path, *, max_satellites: int | None = None, strict: bool = True) -> Constellation:
    """Read a 2-line or 3-line TLE file (see the module docstring for the checks).

    Returns a Constellation whose `source` is the path and whose `tle_lines`
    are the file line numbers. Raises InputError listing every bad record as
    ``Problem("<path>:<line>", reason)`` (strict=True, the default).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(
            [Problem(str(path), f"cannot read TLE file: {exc.strerror or exc}")]
        ) from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            [Problem(f"{path}:{line}", "not ASCII text (a TLE file is plain ASCII)")]
        ) from None
    return parse_tle_text(text, str(path), strict=strict, max_satellites=max_satellites)


# ---------------------------------------------------------------- epoch age


def _utc_datetime64(start) -> np.datetime64:
    value = pd.Timestamp(start)
    value = value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
    return value.tz_localize(None).to_datetime64().astype("datetime64[ns]")


def epoch_age_report(constellation: Constellation, start) -> pd.DataFrame:
    """One row per satellite: name, norad, epoch (UTC), age_days.

    age_days = (start - epoch) in days, signed: positive when the element set
    is older than the start, negative when its epoch is after the start.
    """
    t0 = _utc_datetime64(start)
    age_s = (t0 - constellation.epochs).astype("timedelta64[ns]").astype(np.int64) / 1e9
    return pd.DataFrame(
        {
            "name": list(constellation.names),
            "norad": np.asarray(constellation.norad, dtype=np.int64),
            "epoch": pd.to_datetime(constellation.epochs).tz_localize("UTC"),
            "age_days": age_s / 86400.0,
        }
    )


def stale(constellation: Constellation, start, max_age_s: float) -> list[str]:
    """Warnings (one per satellite) for element sets whose epoch is more than
    `max_age_s` seconds away from `start` (either side: SGP4 error grows both
    ways). An empty list means every epoch is fresh enough."""
    if not (max_age_s >= 0):
        raise ValueError(f"max_age_s must be >= 0 seconds, got {max_age_s!r}")
    report = epoch_age_report(constellation, start)
    out = []
    for i in np.flatnonzero(np.abs(report["age_days"].to_numpy()) * 86400.0 > max_age_s):
        age = report["age_days"].iloc[i]
        side = "before" if age >= 0 else "after"
        out.append(
            f"{constellation.where(i)}: {constellation.names[i]} (NORAD {int(constellation.norad[i])}) "
            f"epoch {report['epoch'].iloc[i].strftime('%Y-%m-%dT%H:%M:%SZ')} is {abs(age):.2f} days {side} "
            f"the start; stale beyond {max_age_s / 86400.0:.2f} days"
        )
    return out


# ---------------------------------------------------------------- fetch

_GROUP_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def fetch_tle(
    group: str,
    dest_dir,
    *,
    base_url: str = "https://celestrak.org/NORAD/elements/gp.php",
    timeout_s: float = 30,
    now: datetime | None = None,
) -> Path:
    """Download CelesTrak group `group` as TLE text and store it as
    ``dest_dir/<group>-<YYYYmmddTHHMMSSZ>.tle`` (UTC fetch time `now`).

    The body is validated with the strict reader before anything is written;
    the file appears atomically (temporary file + hard link, which never
    replaces an existing file). Raises RuntimeError for transport failures
    (HTTP error status, timeout, unreachable host) and InputError for a bad
    body (empty, HTML page, bad records); in every failure no file is created
    and existing files are untouched.
    """
    return fetch_gp(
        group,
        dest_dir,
        fmt="tle",
        validate=lambda text, label: parse_tle_text(text, label, strict=True),
        base_url=base_url,
        timeout_s=timeout_s,
        now=now,
    )


def fetch_gp(
    group: str,
    dest_dir,
    *,
    fmt: str,
    validate,
    base_url: str = "https://celestrak.org/NORAD/elements/gp.php",
    timeout_s: float = 30,
    now: datetime | None = None,
) -> Path:
    """:func:`fetch_tle` for any CelesTrak GP ``FORMAT`` (`fmt`: "tle", "json", "csv"): the
    body must be ASCII and pass ``validate(text, label)`` (which raises InputError); it is
    stored as ``dest_dir/<group>-<YYYYmmddTHHMMSSZ>.<fmt>``."""
    if not _GROUP_RE.match(group or ""):
        raise ValueError(f"group must be letters, digits, '.', '_' or '-', got {group!r}")
    dest_dir = Path(dest_dir)
    now = datetime.now(UTC) if now is None else now
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    url = f"{base_url}?{urllib.parse.urlencode({'GROUP': group, 'FORMAT': fmt})}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{url}: HTTP {exc.code} {exc.reason}; nothing written") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RuntimeError(f"{url}: download failed ({reason}); nothing written") from None
    if not body.strip():
        raise InputError([Problem(url, "empty response body; nothing written")])
    head = body.lstrip()[:200].lower()
    if head.startswith(b"<") or b"<html" in head:
        raise InputError(
            [Problem(url, f"server returned an HTML page, not {fmt.upper()} text; nothing written")]
        )
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InputError([Problem(url, "response is not ASCII text; nothing written")]) from None
    validate(text, url)  # raises InputError listing every bad record
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / f"{group}-{now.strftime('%Y%m%dT%H%M%SZ')}.{fmt}"
    if final.exists():
        raise RuntimeError(f"{final} already exists; not overwritten")
    fd, tmp = tempfile.mkstemp(prefix=f".{group}-", suffix=f".{fmt}.part", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, final)  # atomic and refuses to replace an existing file
        except FileExistsError:
            raise RuntimeError(f"{final} already exists; not overwritten") from None
        except OSError:  # filesystems without hard links: checked above, then atomic rename
            os.replace(tmp, final)
            return final
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return final
