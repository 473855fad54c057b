"""The tests' scenario files as TOML text: one small Walker scenario, with sections switched on
or off and fields overridden, instead of a near-copy of the whole file in every test module.

``scenario_toml()`` alone is the small scenario (tests/test_cli.py's): a 792-satellite Walker
shell (36 planes, 550 km, 53°), one target at (40° N, 10° E), 2 min at 30 s, seed 3. Keyword
arguments change it:

* ``run``, ``constellation``, ``shell``, ``output``: fields merged into those defaults (the
  default's key order kept, new keys after it);
* ``shells``: the whole list of shells (``[]``: none, e.g. for a TLE constellation);
* ``targets``, ``terminals``: the lists of ground entities (default: the one target, no
  terminal);
* ``visibility``, ``serving``, ``isl``, ``isac``, ``pnt``, ``replan``: a dict writes that
  section with those fields; ``None`` (default) leaves it out.

The text is laid out like the hand-written files it replaces: it starts with an empty line,
``[run]`` is line 2 and ``step`` line 6, ``[constellation]`` then ``kind`` then the shells
(the first shell's ``phasing`` is line 14), sections separated by an empty line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

START = datetime(2026, 5, 28, 12, 0, 0, tzinfo=UTC)
RUN = {"name": "small", "start": START, "duration": "2m", "step": "30s", "seed": 3}
CONSTELLATION = {"kind": "walker"}
SHELL = {"total": 792, "planes": 36, "phasing": 1, "altitude_km": 550, "inclination_deg": 53}
TARGET = {"name": "t", "lat_deg": 40.0, "lon_deg": 10.0}
OUTPUT = {"dir": "out"}

#: Optional sections, in the order they are written (between the terminals and [output]
#: for isac, pnt and replan; before the ground entities for the others).
BEFORE_ENTITIES = ("visibility", "serving", "isl")
AFTER_ENTITIES = ("isac", "pnt", "replan")


def toml_value(value) -> str:
    """One TOML value: bool, int, float, str, a UTC datetime (written ``...Z``) or a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _table(header: str, fields: dict) -> list[str]:
    return [header] + [f"{key} = {toml_value(value)}" for key, value in fields.items()]


def scenario_toml(
    *,
    run: dict | None = None,
    constellation: dict | None = None,
    shell: dict | None = None,
    shells: list[dict] | None = None,
    targets: list[dict] | None = None,
    terminals: list[dict] | None = None,
    visibility: dict | None = None,
    serving: dict | None = None,
    isl: dict | None = None,
    isac: dict | None = None,
    pnt: dict | None = None,
    replan: dict | None = None,
    output: dict | None = None,
) -> str:
    """The small Walker scenario as TOML text, changed as the arguments say (module docstring)."""
    if shells is None:
        shells = [{**SHELL, **(shell or {})}]
    elif shell is not None:
        raise ValueError("give shell (fields of the one default shell) or shells, not both")
    optional = {
        "visibility": visibility,
        "serving": serving,
        "isl": isl,
        "isac": isac,
        "pnt": pnt,
        "replan": replan,
    }
    blocks = [_table("[run]", {**RUN, **(run or {})})]
    lines = _table("[constellation]", {**CONSTELLATION, **(constellation or {})})
    for one in shells:
        lines += _table("[[constellation.shells]]", one)
    blocks.append(lines)
    blocks += [_table(f"[{n}]", optional[n]) for n in BEFORE_ENTITIES if optional[n] is not None]
    blocks += [_table("[[targets]]", t) for t in ([TARGET] if targets is None else targets)]
    blocks += [_table("[[terminals]]", t) for t in (terminals or [])]
    blocks += [_table(f"[{n}]", optional[n]) for n in AFTER_ENTITIES if optional[n] is not None]
    blocks.append(_table("[output]", {**OUTPUT, **(output or {})}))
    return "\n" + "\n\n".join("\n".join(lines) for lines in blocks) + "\n"


def write_scenario(folder: Path, name: str = "scenario.toml", **sections) -> Path:
    """Write ``scenario_toml(**sections)`` to ``folder / name``; returns the path."""
    path = folder / name
    path.write_text(scenario_toml(**sections), encoding="utf-8")
    return path
