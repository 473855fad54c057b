"""The sweep file grammar: a base scenario and a parameter grid, expanded into runs.

A sweep TOML file (``docs/sweeps.md``) names a base scenario, the fields to
vary (any scenario field by dotted path, list items by index) and the seeds::

    base = "default.toml"              # relative to the sweep file
    seeds = [1, 2]                     # or seeds = {count = 4, first = 1}
    max_runs = 256                     # optional: raise the cap on the number of runs

    [set]                              # optional: the same override in every run
    "run.duration" = "10m"

    [grid]                             # one axis per field (cartesian product)
    "serving.group_size" = [3, 5]
    "serving.collaboration" = ["I", "II"]

    [zip.antenna]                      # optional: fields varied together (one axis)
    "isac.nx" = [4, 8]
    "isac.nz" = [4, 8]

    [output]
    dir = "../runs/my-sweep"           # relative to the sweep file

``expand_sweep(path)`` checks everything (each run's scenario is built with
``scenario_from_dict`` on the base scenario's resolved dict with the overrides
applied) and raises :class:`twin.errors.InputError` carrying every problem,
each located ``"<sweep file>:<line> <section>.<field>"``, before anything runs.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import itertools
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from twin.config.loader import find_model, load_scenario, scenario_from_dict
from twin.config.schema import Scenario
from twin.config.toml import TomlLocator, read_toml_file
from twin.errors import InputError, Problem

__all__ = [
    "DEFAULT_MAX_RUNS",
    "RunSpec",
    "Sweep",
    "expand_sweep",
    "dir_text",
    "dir_segment",
    "scenario_key",
]

#: Most runs a sweep may expand to unless its file sets ``max_runs`` higher.
DEFAULT_MAX_RUNS = 256
#: Keys allowed at the top level of a sweep file.
TOP_KEYS = ("base", "seeds", "max_runs", "set", "grid", "zip", "output")
#: Longest ``value`` text used in a directory name before it is shortened with a hash ...
MAX_DIR_TEXT = 60
#: ... and longest once URI-encoded (a file name holds at most 255 bytes).
MAX_DIR_BYTES = 120
#: Fields a sweep may not vary: the sweep sets them itself.
RESERVED = {
    "run.seed": "the seed is varied by `seeds = [...]`, not by a field override",
    "output.dir": "each run's directory is chosen by the sweep (runs/<param=value>/.../seed=<s>/)",
}


@dataclass(frozen=True)
class RunSpec:
    """One expanded run of a sweep.

    index: position in the grid (0-based, seed innermost). params: swept field
    path -> value, in the sweep's parameter order. seed: the run's
    ``run.seed``. rel_dir: the run directory relative to the sweep directory,
    ``runs/<param>=<value>/.../seed=<seed>``. scenario: the run's scenario as a
    resolved dict (validated; ``output.dir`` is set when the run is placed).
    """

    index: int
    params: dict[str, Any]
    seed: int
    rel_dir: str
    scenario: dict = field(repr=False)

    def label(self) -> str:
        """``a=1, b=II, seed=2``: the run's parameters as text."""
        return ", ".join(
            [f"{k}={_short(v)}" for k, v in self.params.items()] + [f"seed={self.seed}"]
        )


@dataclass(frozen=True)
class Sweep:
    """A checked and expanded sweep file.

    path: the sweep file (absolute). base_path: the base scenario file.
    parameters: swept field paths in directory order (grid fields in file
    order, then zip groups' fields). runs: every run, seed innermost.
    output_dir: the sweep directory from ``[output] dir`` (default
    ``runs/<sweep file stem>`` next to the sweep file). dir_values:
    parameter -> {text used in directory names -> value}. text: the file's text.
    """

    path: Path
    base_path: Path
    parameters: list[str]
    seeds: list[int]
    runs: list[RunSpec]
    output_dir: Path
    max_runs: int
    dir_values: dict[str, dict[str, Any]]
    text: str = field(repr=False)


@dataclass
class _Param:
    section: str  # "grid", "zip.<group>" or "set"
    path: str  # dotted scenario path, e.g. "constellation.shells.0.planes"
    keys: tuple  # the TOML keys below the section, for locating lines
    values: list
    group: str | None = None  # zip group name (one axis for the whole group)


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dir_text(value: Any) -> str:
    """The text of ``value`` in a directory name (before URI-encoding).

    Strings as they are; numbers, booleans and other values as JSON. Texts
    longer than ``MAX_DIR_TEXT`` characters (or ``MAX_DIR_BYTES`` once
    URI-encoded) are cut and suffixed with ``~`` and a hash of the full value,
    so that different values stay different.
    """
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True)
    if len(text) > MAX_DIR_TEXT or len(urllib.parse.quote(text, safe="")) > MAX_DIR_BYTES:
        import hashlib

        digest = hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:10]
        cut = text[: MAX_DIR_TEXT - 12]
        while len(urllib.parse.quote(cut, safe="")) > MAX_DIR_BYTES - 12:
            cut = cut[:-1]
        text = f"{cut}~{digest}"
    return text


def dir_segment(name: str, value: Any) -> str:
    """``name=<URI-encoded text>``: one hive-style directory level (no ``/``, no spaces)."""
    return f"{name}={urllib.parse.quote(dir_text(value), safe='')}"


# ---------------------------------------------------------------------------
# reading the file


def _read_toml(path: Path) -> tuple[str, dict]:
    return read_toml_file(path, "sweep file")


# ---------------------------------------------------------------------------
# scenario field paths


def _check_path(path: str, base: dict) -> str | None:
    """None if ``path`` names a settable field of the scenario ``base`` (a resolved dict), else the reason.

    A dict level accepts the schema's field names (so optional fields the base
    leaves unset can be set); a list level accepts an index below its length.
    """
    parts = path.split(".")
    if any(not p for p in parts):
        return f"'{path}' is not a dotted field path (e.g. serving.group_size, constellation.shells.0.planes)"
    node: Any = base
    model: type[BaseModel] | None = Scenario
    done: list[str] = []
    for i, part in enumerate(parts):
        here = ".".join(done) or "the scenario"
        if isinstance(node, list):
            if not re.fullmatch(r"\d+", part):
                return f"'{part}' in '{path}': {here} is a list; use an item index 0 .. {len(node) - 1}"
            index = int(part)
            if index >= len(node):
                return f"index {index} in '{path}' is out of range: {here} has {len(node)} item(s) in the base scenario"
            node = node[index]
        elif isinstance(node, dict):
            known = list(model.model_fields) if model is not None else []
            known += [k for k in node if k not in known]
            if part not in known:
                close = difflib.get_close_matches(part, known, n=1, cutoff=0.6)
                hint = f"; did you mean '{'.'.join(done + [close[0]])}'?" if close else ""
                return f"unknown field '{part}' in '{path}'{hint} (fields of {here}: {', '.join(known)})"
            info = model.model_fields.get(part) if model is not None else None
            model = find_model(info.annotation) if info is not None else None
            if part not in node:
                if i < len(parts) - 1:
                    return f"'{'.'.join(done + [part])}' is not set in the base scenario, so '{path}' cannot be set below it"
                return None
            node = node[part]
        else:
            return f"'{'.'.join(done)}' is a value ({_short(node)}), not a table or list, so '{path}' does not exist"
        done.append(part)
    return None


def _set_path(data: dict, path: str, value: Any) -> None:
    """Set ``data[...][...] = value`` along a checked dotted path (list levels take indices)."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = copy.deepcopy(value)
    else:
        node[last] = copy.deepcopy(value)


def _scenario_loc_text(path: str) -> str:
    """``constellation.shells.0.planes`` -> ``constellation.shells[0].planes`` (the scenario's problem format)."""
    out = ""
    for part in path.split("."):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


# ---------------------------------------------------------------------------
# expansion


def _plain(value: Any) -> Any:
    """TOML dates and times as ISO 8601 text (the scenario takes text; JSON has no dates)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _flatten(table: dict, keys: tuple = ()) -> list[tuple[tuple, Any]]:
    """(keys, leaf) pairs of nested tables: ``{"a": {"b": [1]}}`` -> ``[(("a", "b"), [1])]``."""
    out = []
    for key, value in table.items():
        if isinstance(value, dict) and value:
            out.extend(_flatten(value, keys + (key,)))
        else:
            out.append((keys + (key,), _plain(value)))
    return out


class _Collector:
    """Collects problems located in the sweep file (``sorted()`` gives them in line order)."""

    def __init__(self, source: str, locator: TomlLocator):
        self.source, self.locator, self.problems = source, locator, []
        self._lines: dict[Problem, float] = {}

    def add(self, loc: tuple, label: str, reason: str) -> None:
        line = self.locator.line_of(loc)
        where = f"{self.source}:{line}" if line is not None else self.source
        problem = Problem(f"{where} {label}".rstrip(), reason)
        if problem not in self._lines:
            self.problems.append(problem)
            self._lines[problem] = line if line is not None else 0

    def sorted(self) -> list[Problem]:
        """The problems, those of the sweep file by line, then others (the base scenario's) as found."""
        return sorted(self.problems, key=lambda p: self._lines.get(p, float("inf")))


def _section_loc(section: str) -> tuple:
    return tuple(section.split(".", 1)) if section.startswith("zip.") else (section,)


def _label(param: _Param, index: int | None = None) -> str:
    suffix = f"[{index}]" if index is not None else ""
    return f"{param.section}.{param.path}{suffix}"


def _parse_seeds(value: Any, out: _Collector, default: int) -> list[int]:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if value is None:
        return [default]
    if isinstance(value, list):
        if not value:
            out.add(
                ("seeds",), "seeds", "empty list: give at least one seed, e.g. seeds = [1, 2, 3]"
            )
            return []
        seeds = []
        for i, seed in enumerate(value):
            if not is_int(seed) or seed < 0:
                out.add(
                    ("seeds", i),
                    f"seeds[{i}]",
                    f"a seed must be an integer >= 0 (got {_short(seed)})",
                )
            elif seed in seeds:
                out.add(("seeds", i), f"seeds[{i}]", f"seed {seed} is listed twice")
            else:
                seeds.append(seed)
        return seeds
    if isinstance(value, dict):
        unknown = [k for k in value if k not in ("count", "first")]
        for key in unknown:
            close = difflib.get_close_matches(key, ["count", "first"], n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            out.add(
                ("seeds", key),
                f"seeds.{key}",
                f"unknown field '{key}'{hint} (allowed: count, first)",
            )
        count, first = value.get("count"), value.get("first", 0)
        if not is_int(count) or count < 1:
            out.add(
                ("seeds", "count") if "count" in value else ("seeds",),
                "seeds.count",
                f"count must be an integer >= 1 (got {_short(count) if count is not None else 'nothing'})",
            )
            return []
        if not is_int(first) or first < 0:
            out.add(
                ("seeds", "first"),
                "seeds.first",
                f"first must be an integer >= 0 (got {_short(first)})",
            )
            return []
        return list(range(first, first + count)) if not unknown else []
    out.add(
        ("seeds",),
        "seeds",
        f"seeds must be a list of integers or a table {{count = n, first = s}} (got {_short(value)})",
    )
    return []


def _parse_params(data: dict, out: _Collector) -> tuple[list[_Param], list[_Param]]:
    """(fixed overrides of [set], swept parameters of [grid] and [zip.*])."""
    fixed, swept = [], []
    raw_set = data.get("set", {})
    if not isinstance(raw_set, dict):
        out.add(("set",), "set", f"[set] must be a table of field = value (got {_short(raw_set)})")
    else:
        for keys, value in _flatten(raw_set):
            fixed.append(_Param("set", ".".join(keys), keys, [value]))
    raw_grid = data.get("grid", {})
    if not isinstance(raw_grid, dict):
        out.add(
            ("grid",),
            "grid",
            f"[grid] must be a table of field = [values] (got {_short(raw_grid)})",
        )
    else:
        if "grid" in data and not raw_grid:
            out.add(
                ("grid",),
                "grid",
                'empty grid: [grid] has no fields (give e.g. "serving.group_size" = [3, 5], or remove it)',
            )
        for keys, values in _flatten(raw_grid):
            swept.append(_Param("grid", ".".join(keys), keys, values))
    raw_zip = data.get("zip", {})
    if not isinstance(raw_zip, dict):
        out.add(
            ("zip",),
            "zip",
            f"zip must be tables [zip.<name>] of field = [values] (got {_short(raw_zip)})",
        )
    else:
        for name, group in raw_zip.items():
            section = f"zip.{name}"
            if not isinstance(group, dict) or not group:
                out.add(
                    ("zip", name),
                    section,
                    f"[zip.{name}] must be a non-empty table of field = [values] (got {_short(group)})",
                )
                continue
            members = [
                _Param(section, ".".join(keys), keys, values, group=name)
                for keys, values in _flatten(group)
            ]
            lengths = {len(p.values) for p in members if isinstance(p.values, list)}
            if len(lengths) > 1:
                detail = ", ".join(
                    f"{p.path}: {len(p.values)}" for p in members if isinstance(p.values, list)
                )
                out.add(
                    ("zip", name),
                    section,
                    f"the fields of one zip group vary together and need lists of the same length ({detail})",
                )
            swept.extend(members)
    return fixed, swept


def expand_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file and expand it into runs (nothing is run or written).

    Raises InputError with every problem found, each located as
    ``"<sweep file>:<line> <section>.<field>"``: TOML syntax, unknown keys,
    a base scenario that does not load, unknown field paths (with the closest
    known name), values that are not lists, empty value lists or grid, values
    the scenario schema refuses, duplicate runs and more runs than ``max_runs``.
    """
    path = Path(path)
    source = str(path)
    text, data = _read_toml(path)
    folder = path.absolute().parent
    out = _Collector(source, TomlLocator(text))

    for key in data:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(key, TOP_KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            out.add((key,), key, f"unknown key '{key}'{hint} (allowed: {', '.join(TOP_KEYS)})")

    # base scenario
    base_raw = data.get("base")
    base_path = None
    base: Scenario | None = None
    if not isinstance(base_raw, str) or not base_raw.strip():
        out.add(
            ("base",),
            "base",
            'base = "<scenario file>" is required (a path relative to the sweep file)'
            if base_raw is None
            else f"base must be a path string (got {_short(base_raw)})",
        )
    else:
        base_path = Path(base_raw) if Path(base_raw).is_absolute() else folder / base_raw
        try:
            base = load_scenario(base_path)
        except InputError as exc:
            out.add(
                ("base",),
                "base",
                f"the base scenario {base_path} is refused ({len(exc.problems)} problem(s) below)",
            )
            out.problems.extend(exc.problems)

    # max_runs
    max_runs = data.get("max_runs", DEFAULT_MAX_RUNS)
    if not isinstance(max_runs, int) or isinstance(max_runs, bool) or max_runs < 1:
        out.add(
            ("max_runs",), "max_runs", f"max_runs must be an integer >= 1 (got {_short(max_runs)})"
        )
        max_runs = DEFAULT_MAX_RUNS

    # output
    output = data.get("output", {})
    output_dir = folder / "runs" / path.stem
    if not isinstance(output, dict):
        out.add(
            ("output",),
            "output",
            f'[output] must be a table with dir = "<folder>" (got {_short(output)})',
        )
    else:
        for key in output:
            if key != "dir":
                out.add(("output", key), f"output.{key}", f"unknown field '{key}' (allowed: dir)")
        if "dir" in output:
            raw = output["dir"]
            if not isinstance(raw, str) or not raw.strip():
                out.add(
                    ("output", "dir"),
                    "output.dir",
                    f"dir must be a non-empty path string (got {_short(raw)})",
                )
            else:
                output_dir = Path(raw) if Path(raw).is_absolute() else folder / raw

    seeds = _parse_seeds(data.get("seeds"), out, default=base.run.seed if base is not None else 0)
    fixed, swept = _parse_params(data, out)

    # every field path: known, not reserved, not repeated; values well formed
    base_dict = base.to_resolved_dict() if base is not None else None
    seen: dict[str, _Param] = {}
    for param in fixed + swept:
        loc = _section_loc(param.section) + param.keys
        label = _label(param)
        if param.path in seen:
            out.add(
                loc,
                label,
                f"'{param.path}' is already given in {seen[param.path].section}; give each field once",
            )
            continue
        seen[param.path] = param
        if param.path in RESERVED:
            out.add(loc, label, f"'{param.path}' cannot be set by a sweep: {RESERVED[param.path]}")
            continue
        if base_dict is not None:
            reason = _check_path(param.path, base_dict)
            if reason and param.path.split(".")[0] in TOP_KEYS:
                reason += (
                    f"; '{param.path.split('.')[0]}' is a key of the sweep file itself: put it before "
                    f"the first [table] header"
                )
            if reason:
                out.add(loc, label, reason)
        if param.section != "set":
            if not isinstance(param.values, list):
                out.add(
                    loc,
                    label,
                    f"a swept field takes a list of values, e.g. [3, 5] (got {_short(param.values)})",
                )
            elif not param.values:
                out.add(loc, label, "empty list of values: give at least one value")
            else:
                first_at: dict[str, int] = {}
                for i, value in enumerate(param.values):
                    text = json.dumps(value, sort_keys=True, default=str)
                    if text in first_at:
                        out.add(
                            loc + (i,),
                            _label(param, i),
                            f"value {_short(value)} is listed twice "
                            f"(also at {param.section}.{param.path}[{first_at[text]}])",
                        )
                    first_at.setdefault(text, i)

    if out.problems or base is None:
        raise InputError(out.sorted() or [Problem(source, "the sweep has no usable base scenario")])

    # axes: each grid field alone, each zip group together
    axes: list[list[_Param]] = []
    for param in swept:
        if param.group is None:
            axes.append([param])
        elif not any(axis[0].group == param.group for axis in axes):
            axes.append([p for p in swept if p.group == param.group])
    parameters = [p.path for axis in axes for p in axis]
    n_runs = len(seeds)
    for axis in axes:
        n_runs *= len(axis[0].values)
    if n_runs > max_runs:
        loc = ("max_runs",) if "max_runs" in data else (("grid",) if "grid" in data else ())
        out.add(
            loc,
            "max_runs",
            f"the sweep expands to {n_runs} runs, more than the cap of {max_runs} "
            f"(set max_runs = {n_runs} in the sweep file to allow it)",
        )
        raise InputError(out.sorted())

    # expand and validate every run
    base_for_runs = copy.deepcopy(base_dict)
    problems_fixed = False
    for param in fixed:
        _set_path(base_for_runs, param.path, param.values[0])
    dir_values: dict[str, dict[str, Any]] = {p: {} for p in parameters}
    runs: list[RunSpec] = []
    canonical: dict[str, int] = {}
    dir_owner: dict[str, int] = {}
    labels: dict[int, str] = {}
    runs_choice: dict[int, dict[str, int]] = {}
    duplicates: list[tuple[int, int, tuple]] = []
    n_expanded = 0
    choices = [range(len(axis[0].values)) for axis in axes]
    for combo in itertools.product(*choices):
        chosen = [(p, i, p.values[i]) for axis, i in zip(axes, combo) for p in axis]
        for seed in seeds:
            index = n_expanded  # position in the grid (runs refused or duplicated still count)
            n_expanded += 1
            scenario = copy.deepcopy(base_for_runs)
            for param, _, value in chosen:
                _set_path(scenario, param.path, value)
            scenario["run"]["seed"] = seed
            params = {param.path: value for param, _, value in chosen}
            segments = [dir_segment(param.path, value) for param, _, value in chosen] + [
                f"seed={seed}"
            ]
            rel_dir = "/".join(["runs", *segments])
            spec_label = ", ".join(
                [f"{p.path}={_short(v)}" for p, _, v in chosen] + [f"seed={seed}"]
            )
            labels[index] = spec_label
            runs_choice[index] = {p.path: i for p, i, _ in chosen}
            try:
                built = scenario_from_dict(scenario, source=f"run {index}", base_dir=folder)
            except InputError as exc:
                _blame(exc, chosen, fixed, spec_label, out)
                if not chosen:
                    problems_fixed = True
                continue
            resolved = built.to_resolved_dict()
            first = canonical.setdefault(scenario_key(resolved), index)
            if first != index:
                differing = [
                    (p, i) for p, i, _ in chosen if runs_choice[first].get(p.path) != i
                ] or [(p, i) for p, i, _ in chosen]
                if differing:
                    param, i = differing[-1]
                    where = (_section_loc(param.section) + param.keys + (i,), _label(param, i))
                else:
                    where = (("seeds",), "seeds")
                duplicates.append((index, first, where))
                continue
            owner = dir_owner.setdefault(rel_dir, index)
            if owner != index:
                out.add(
                    _section_loc(chosen[-1][0].section) + chosen[-1][0].keys,
                    _label(chosen[-1][0]),
                    f"runs {owner} and {index} would share the directory {rel_dir} (values that differ only "
                    f"beyond {MAX_DIR_TEXT} characters of text); make them shorter",
                )
                continue
            for param, _, value in chosen:
                dir_values[param.path][
                    urllib.parse.unquote(dir_segment(param.path, value).split("=", 1)[1])
                ] = value
            runs.append(
                RunSpec(index=index, params=params, seed=seed, rel_dir=rel_dir, scenario=resolved)
            )
        if problems_fixed:
            break
    if duplicates:
        index, first, where = duplicates[0]
        more = f" (and {len(duplicates) - 1} more duplicate run(s))" if len(duplicates) > 1 else ""
        out.add(
            where[0],
            where[1],
            f"duplicate run: run {index} ({labels[index]}) is the same scenario and seed as "
            f"run {first} ({labels[first]}){more}",
        )
    if out.problems:
        raise InputError(out.sorted())
    return Sweep(
        path=path.absolute(),
        base_path=Path(base_path).absolute(),
        parameters=parameters,
        seeds=seeds,
        runs=runs,
        output_dir=Path(os.path.normpath(Path(output_dir).absolute())),
        max_runs=max_runs,
        dir_values=dir_values,
        text=text,
    )


def scenario_key(resolved: dict) -> str:
    """Canonical JSON of a resolved scenario dict without ``output.dir``: equal keys = the same run."""

    def normal(value: Any) -> Any:  # 10 and 10.0 are the same value to the scenario's float fields
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [normal(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    data = normal(resolved)
    if isinstance(data.get("output"), dict):
        data["output"].pop("dir", None)
    return json.dumps(data, sort_keys=True)


_PROBLEM_FIELD_RE = re.compile(r"^run \d+ ?(.*)$")


def _blame(
    exc: InputError, chosen: list, fixed: list[_Param], spec_label: str, out: _Collector
) -> None:
    """Turn a run's scenario problems into problems at the sweep lines that caused them."""
    for problem in exc.problems:
        match = _PROBLEM_FIELD_RE.match(problem.where)
        field_text = match.group(1) if match else problem.where
        culprit = None
        for param, index, _ in chosen:
            loc_text = _scenario_loc_text(param.path)
            if (
                field_text == loc_text
                or field_text.startswith(loc_text + ".")
                or field_text.startswith(loc_text + "[")
            ):
                culprit = (param, index)
        if culprit is not None:
            param, index = culprit
            out.add(
                _section_loc(param.section) + param.keys + (index,),
                _label(param, index),
                f"refused by the scenario schema: {problem.reason}",
            )
            continue
        for param in fixed:
            loc_text = _scenario_loc_text(param.path)
            if (
                field_text == loc_text
                or field_text.startswith(loc_text + ".")
                or field_text.startswith(loc_text + "[")
            ):
                culprit = param
        if culprit is not None:
            out.add(
                _section_loc(culprit.section) + culprit.keys,
                _label(culprit),
                f"refused by the scenario schema: {problem.reason}",
            )
            continue
        anchor = chosen[-1][0] if chosen else (fixed[-1] if fixed else None)
        loc = (_section_loc(anchor.section) + anchor.keys) if anchor is not None else ("base",)
        label = _label(anchor) if anchor is not None else "base"
        out.add(
            loc,
            label,
            f"run ({spec_label}) is refused by the scenario schema at {field_text or 'the scenario'}: {problem.reason}",
        )
