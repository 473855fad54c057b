"""Loading scenarios: TOML file or dict -> validated :class:`Scenario`, every problem located.

- ``load_scenario(path)`` reads the TOML text (:func:`twin.config.toml.read_toml_file`),
  validates it, resolves relative paths against the scenario file's folder and raises
  :class:`twin.errors.InputError` carrying **every** problem found, each located as
  ``"<file>:<line> <field.path>"`` when the line can be found (:class:`TomlLocator`).
- ``scenario_from_dict(data)`` does the same for an already-parsed mapping
  (sweeps override fields in a dict, then validate).
- ``as_scenario(x)`` takes any of a file path, a dict or a ``Scenario`` (re-validated, so a
  scenario built or changed in code is checked exactly as a file is): the notebook route.

Pydantic's errors become ``Problem(where, reason)`` here (``_error_items``, ``_problems``);
``find_model`` (the model class in a field annotation) is shared with the sweep grammar.
"""

from __future__ import annotations

import difflib
import math
import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from twin.config.schema import Located, Scenario
from twin.config.toml import TomlLocator, read_toml_file
from twin.errors import InputError, Problem

__all__ = ["as_scenario", "find_model", "load_scenario", "scenario_from_dict"]


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema class that holds the fields at ``loc`` (list indices skipped)."""
    cls: type[BaseModel] | None = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        info = cls.model_fields.get(part) if cls is not None else None
        if info is None:
            return None
        cls = find_model(info.annotation)
    return cls


def find_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model class in a field annotation (``X``, ``X | None``, ``list[X]`` ...), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = find_model(arg)
        if found is not None:
            return found
    return None


def _unknown_field_reason(loc: tuple) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown field '{key}'"
    known = list(model.model_fields)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown field '{key}'{hint} (allowed here: {', '.join(known)})"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _error_items(err: dict) -> list[tuple[tuple, str]]:
    """(loc, reason) pairs for one pydantic error dict."""
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    error = ctx.get("error")
    if isinstance(error, Located):
        return [(loc + sub, reason) for sub, reason in error.items]
    if kind in ("value_error", "assertion_error") and isinstance(error, Exception):
        return [(loc, str(error))]
    if kind == "extra_forbidden":
        return [(loc, _unknown_field_reason(loc))]
    if kind == "missing":
        return [
            (loc, f"required field '{loc[-1]}' is missing" if loc else "required field is missing")
        ]
    value = err.get("input")
    got = f" (got {_short_repr(value)})" if not isinstance(value, (dict, list)) else ""
    if kind == "literal_error" and isinstance(value, str):
        options = [o.strip("'") for o in re.findall(r"'[^']*'", ctx.get("expected", ""))]
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return [(loc, f"{err['msg']}{got}{hint}")]
    return [(loc, f"{err['msg']}{got}")]


def _problems(exc: ValidationError, source: str, locator: TomlLocator | None) -> list[Problem]:
    """Every problem of a ValidationError, in file order when lines are known (schema order otherwise)."""
    located = []
    for err in exc.errors(include_url=False):
        for loc, reason in _error_items(err):
            path = _format_loc(loc)
            line = locator.line_of(loc) if locator is not None else None
            where = f"{source}:{line}" if line is not None else source
            located.append(
                (math.inf if line is None else line, Problem(f"{where} {path}".rstrip(), reason))
            )
    located.sort(key=lambda item: item[0])  # stable: same-line problems keep schema order
    return [problem for _, problem in located]


# ---------------------------------------------------------------------------
# public loaders


def _build(
    data: Any, *, source: str, base_dir: Path, locator: TomlLocator | None, source_path: Path | None
) -> Scenario:
    if not isinstance(data, dict):
        raise InputError(
            [Problem(source, f"a scenario must be a table/dict, got {type(data).__name__}")]
        )
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise InputError(_problems(exc, source, locator)) from None
    scenario._source_path = source_path
    return scenario


def scenario_from_dict(
    data: dict, *, source: str = "<dict>", base_dir: Path | None = None
) -> Scenario:
    """Validate an already-parsed scenario mapping (e.g. a sweep's overridden copy).

    data: the TOML structure as a dict (``to_resolved_dict()`` output works).
    source: label used in problem locations. base_dir: folder that relative
    paths (tle_file, output.dir) are resolved against; default the current
    working directory. Raises InputError with every problem found. The input
    dict is not modified.
    """
    base = Path(base_dir).absolute() if base_dir is not None else Path.cwd()
    return _build(data, source=source, base_dir=base, locator=None, source_path=None)


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and resolve a scenario TOML file.

    Relative paths in the file (constellation.tle_file, output.dir) are taken
    relative to the file's folder. Raises InputError holding every problem,
    each located as ``"<file>:<line> <field.path>"`` (line omitted when it
    cannot be found); a TOML syntax error gives one problem at its line.
    """
    path = Path(path)
    source = str(path)
    text, data = read_toml_file(path, "scenario file")
    absolute = path.absolute()
    return _build(
        data,
        source=source,
        base_dir=absolute.parent,
        locator=TomlLocator(text),
        source_path=absolute,
    )


def as_scenario(scenario, *, base_dir: Path | None = None) -> Scenario:
    """A validated Scenario from a TOML path (str or Path), a dict or a Scenario.

    A dict is validated by :func:`scenario_from_dict` (relative paths against `base_dir`, default
    the working directory; problems located as ``<dict> field.path``). A Scenario is validated
    again from its resolved dict (``<Scenario> field.path``): a Scenario changed after it was
    built (pydantic does not re-check assignments) or made with ``model_construct`` is refused
    as a file with the same values would be. Its source path is kept.
    """
    if isinstance(scenario, Scenario):
        checked = scenario_from_dict(
            scenario.to_resolved_dict(), source="<Scenario>", base_dir=base_dir
        )
        checked._source_path = scenario.source_path
        return checked
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario, base_dir=base_dir)
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise TypeError(
        f"a scenario is a TOML path, a dict or a twin.config.Scenario, got {type(scenario).__name__}"
    )
