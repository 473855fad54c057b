"""The scenarios shipped inside the package (``twin/scenarios``, with the element sets they
read in ``twin/ephemeris``), found through ``importlib.resources`` so that a non-editable
install runs them from anywhere.

In the repository ``twin/scenarios`` and ``twin/ephemeris`` are links to the top-level
``scenarios/`` and ``ephemeris/`` folders; a wheel holds copies (``pyproject.toml``
``package-data``). The relative paths inside a scenario (``../ephemeris/...``, a track CSV
beside it) therefore resolve the same way in both.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

from twin.config.loader import load_scenario
from twin.config.sweep_grammar import expand_sweep
from twin.errors import InputError, Problem

__all__ = ["copy_scenario", "find_scenario", "packaged_dir", "scenario_names", "summary_line"]

#: Fields that name another file (read relative to the scenario's folder); ``base``: a sweep's
#: base scenario.
FILE_FIELDS = ("tle_file", "track_csv", "base")


def packaged_dir() -> Path:
    """The folder of the packaged scenarios (a real folder: the package is never zipped)."""
    return Path(str(resources.files("twin.scenarios").joinpath("default.toml"))).parent


def scenario_names() -> list[str]:
    """Names (file stems) of the packaged scenarios, sorted."""
    return sorted(p.stem for p in packaged_dir().glob("*.toml"))


def find_scenario(name_or_path: str | Path) -> Path:
    """An existing file as given, else the packaged scenario of that name (``default``,
    ``default.toml``); InputError naming the packaged ones when neither exists."""
    path = Path(name_or_path)
    if path.exists():
        return path
    stem = path.name[:-5] if path.name.endswith(".toml") else path.name
    if path.parent == Path(".") or path.parent.name == "scenarios":
        packaged = packaged_dir() / f"{stem}.toml"
        if packaged.exists():
            return packaged
    raise InputError(
        [
            Problem(
                str(name_or_path),
                "scenario file not found, and no packaged scenario has that name "
                f"(packaged: {', '.join(scenario_names())}; `twin scenarios list`)",
            )
        ]
    )


def is_packaged(path: Path) -> bool:
    """True when `path` is one of the packaged scenario files."""
    return Path(path).absolute().parent == packaged_dir().absolute()


def summary_line(path: Path) -> str:
    """The first comment line of a scenario file, without the ``#``."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def copy_scenario(name: str, dest_dir: Path, *, force: bool = False) -> list[Path]:
    """Copy packaged scenario `name` into `dest_dir` with the files it reads (TLE set, track
    CSV), the copy's paths rewritten to the files beside it; returns the written files (the
    scenario first). Refuses (InputError) to overwrite a file unless `force`, and checks that
    the copy loads."""
    source = find_scenario(name)
    if not is_packaged(source):
        raise InputError([Problem(name, "not a packaged scenario (`twin scenarios list`)")])
    dest_dir = Path(dest_dir)
    text = source.read_text(encoding="utf-8")
    copies = [(source, dest_dir / source.name)]
    for field in FILE_FIELDS:
        for match in re.finditer(rf'^\s*{field}\s*=\s*"([^"]+)"', text, flags=re.MULTILINE):
            relative = match.group(1)
            copies.append((source.parent / relative, dest_dir / Path(relative).name))
            text = text.replace(f'"{relative}"', f'"{Path(relative).name}"')
    existing = [str(target) for _, target in copies if target.exists()]
    if existing and not force:
        raise InputError(
            [Problem(p, "exists; not overwritten (use --force to replace it)") for p in existing]
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    (dest_dir / source.name).write_text(text, encoding="utf-8")
    for origin, target in copies[1:]:
        shutil.copyfile(origin, target)
    copy = dest_dir / source.name
    is_sweep = re.search(r"^base\s*=", text, flags=re.MULTILINE) is not None
    (expand_sweep if is_sweep else load_scenario)(copy)  # the copy must load where it now is
    return [target for _, target in copies]
