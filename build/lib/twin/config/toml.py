"""TOML files read with the line of every key: ``read_toml_file`` and the ``TomlLocator``.

``read_toml_file(path, kind)`` reads a UTF-8 TOML file (stdlib ``tomllib``) and turns a
missing/unreadable file or a syntax error into :class:`twin.errors.InputError` naming the
file and line; ``TomlLocator(text).line_of(loc)`` maps a field location (pydantic ``loc``)
to its 1-based line so the loader (and the sweep grammar) can say ``<file>:<line>``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from twin.errors import InputError, Problem

__all__ = ["TomlLocator", "read_toml_file"]


_BARE_KEY = r"[A-Za-z0-9_-]+"
_QUOTED_KEY = r"\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_KEY = rf"(?:{_BARE_KEY}|{_QUOTED_KEY})"
_DOTTED_KEY = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_ARRAY_HEADER_RE = re.compile(rf"^\s*\[\[\s*({_DOTTED_KEY})\s*\]\]")
_TABLE_HEADER_RE = re.compile(rf"^\s*\[\s*({_DOTTED_KEY})\s*\]")
_KEY_VALUE_RE = re.compile(rf"\s*({_DOTTED_KEY})\s*=")
_KEY_PART_RE = re.compile(_KEY)


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = []
    for part in _KEY_PART_RE.findall(text):
        if part[:1] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


@dataclass
class _Frame:
    kind: str  # "[" array or "{" inline table
    path: tuple
    index: int = 0
    want_key: bool = False


@dataclass
class TomlLocator:
    """Maps a field location (pydantic ``loc``) to the 1-based line of a TOML text.

    A light scan, not a parser (the text has already been parsed by
    ``tomllib``): it follows ``[table]`` and ``[[array.of.tables]]`` headers
    (counting array-of-tables entries), ``key = value`` lines (dotted keys
    included), inline tables and arrays (one index per element, across lines),
    and skips strings, multi-line strings and comments. ``line_of(loc)``
    returns the line of the deepest prefix of ``loc`` it knows, or None.
    """

    text: str
    lines: dict[tuple, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._scan()

    def line_of(self, loc) -> int | None:
        """Line of ``loc`` (e.g. ``("targets", 1, "lat_deg")``) or of its nearest known ancestor."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None

    def _register(self, loc: tuple, line: int) -> None:
        for n in range(1, len(loc) + 1):
            self.lines.setdefault(loc[:n], line)

    def _scan(self) -> None:
        array_counts: dict[tuple, int] = {}

        def resolve(parts: tuple) -> tuple:
            out: tuple = ()
            for part in parts:
                out = out + (part,)
                if out in array_counts:
                    out = out + (array_counts[out],)
            return out

        table: tuple = ()
        stack: list[_Frame] = []
        pending: tuple | None = None  # path of a value about to start
        open_string: str | None = None  # delimiter of an open multi-line string

        # Lines end at "\n" only, as in TOML and editors: str.splitlines() would also
        # break at form feeds, U+0085, U+2028 ... inside comments and strings.
        for lineno, line in enumerate(self.text.split("\n"), start=1):
            i, n = 0, len(line)
            if open_string is None and not stack and pending is None:
                match = _ARRAY_HEADER_RE.match(line)
                if match:
                    parts = _split_dotted(match.group(1))
                    key = resolve(parts[:-1]) + (parts[-1],)
                    array_counts[key] = array_counts.get(key, -1) + 1
                    table = key + (array_counts[key],)
                    self._register(table, lineno)
                    continue
                match = _TABLE_HEADER_RE.match(line)
                if match:
                    table = resolve(_split_dotted(match.group(1)))
                    self._register(table, lineno)
                    continue
                match = _KEY_VALUE_RE.match(line)
                if not match:
                    continue
                pending = table + _split_dotted(match.group(1))
                self._register(pending, lineno)
                i = match.end()
            while i < n:
                if open_string is not None:
                    i, open_string = _skip_string_body(line, i, open_string)
                    continue
                c = line[i]
                if c in " \t\r":
                    i += 1
                    continue
                if c == "#":
                    break
                frame = stack[-1] if stack else None
                if frame is not None and frame.kind == "{" and frame.want_key and c != "}":
                    match = _KEY_VALUE_RE.match(line, i)
                    if match is None:
                        break
                    pending = frame.path + _split_dotted(match.group(1))
                    self._register(pending, lineno)
                    frame.want_key = False
                    i = match.end()
                    continue
                if pending is not None and c not in "]}":
                    path, pending = pending, None
                    self._register(path, lineno)
                    if c == "[":
                        stack.append(_Frame("[", path))
                        pending = path + (0,)
                        i += 1
                    elif c == "{":
                        stack.append(_Frame("{", path, want_key=True))
                        i += 1
                    elif c in "\"'":
                        i, open_string = _skip_string_start(line, i)
                    else:
                        i += 1
                    continue
                if c == "," and frame is not None:
                    if frame.kind == "[":
                        frame.index += 1
                        pending = frame.path + (frame.index,)
                    else:
                        frame.want_key = True
                elif c in "]}" and stack:
                    stack.pop()
                    pending = None
                elif c in "\"'":
                    i, open_string = _skip_string_start(line, i)
                    continue
                i += 1


def _skip_string_start(line: str, i: int) -> tuple[int, str | None]:
    """Skip a string opening at ``line[i]``; return (next index, open multi-line delimiter or None)."""
    for delim in ('"""', "'''"):
        if line.startswith(delim, i):
            return _skip_string_body(line, i + 3, delim)
    end, _ = _skip_string_body(line, i + 1, line[i])  # single-line strings never stay open
    return end, None


def _skip_string_body(line: str, i: int, delim: str) -> tuple[int, str | None]:
    """Find the closing ``delim`` from ``line[i]``; return (index after it, None) or (len, delim) if still open."""
    escapes = delim[0] == '"'
    n = len(line)
    while i < n:
        if escapes and line[i] == "\\":
            i += 2
            continue
        if line.startswith(delim, i):
            end = i + len(delim)
            while (
                len(delim) == 3 and end < n and line[end] == delim[0]
            ):  # """a"""" ends with the last three
                end += 1
            return end, None
        i += 1
    return n, delim if len(delim) == 3 else None


_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END_RE = re.compile(r"\s*\(at end of document\)\s*$")


def read_toml_file(path: Path, kind: str) -> tuple[str, dict]:
    """(text, data) of the TOML file ``path``, or InputError with one Problem naming the file
    (and the line of a syntax error). ``kind`` names the file in messages ("scenario file")."""
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError([Problem(source, f"{kind} not found")]) from None
    except IsADirectoryError:
        raise InputError([Problem(source, f"is a directory, not a {kind}")]) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise InputError(
            [Problem(source, f"cannot read the {kind}: {exc.strerror or exc}")]
        ) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION_RE.search(message)
        if match:
            where = f"{source}:{match.group(1)}"
            reason = f"TOML syntax error: {message[: match.start()]} (column {match.group(2)})"
        elif _TOML_END_RE.search(message):
            where = f"{source}:{max(1, len(text.rstrip(chr(10)).split(chr(10))))}"  # last line, counting "\n" only
            reason = f"TOML syntax error: {_TOML_END_RE.sub('', message)} (at end of file)"
        else:
            where, reason = source, f"TOML syntax error: {message}"
        raise InputError([Problem(where, reason)]) from None
