"""The package's imports run one way: no cycle, no import from a higher layer, no private name
imported across modules, and no project import inside a function unless its line says why.

The layers are those of docs/architecture.md. The imports are read with the standard library's
``ast`` (nothing is imported), so a new cycle fails here with the modules that form it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "twin"

#: Layer of each module prefix, lowest first; a module may import its own layer or lower ones.
#: The longest matching prefix decides. ``twin.isac`` and ``twin.pnt`` are libraries beside
#: each other (neither imports the other); ``twin.paper`` is imported by ``twin.cli`` only.
LAYERS: dict[str, int] = {
    "twin": 0,
    "twin.units": 0,
    "twin.errors": 0,
    "twin.geometry": 0,
    "twin.motion": 0,
    "twin.terminal": 0,
    "twin.isac": 1,
    "twin.pnt": 1,
    "twin.signal": 1,
    "twin.ntn": 1,
    "twin.config": 2,
    "twin.constellation": 3,
    "twin.epoch": 4,
    "twin.rundir": 4,
    "twin.clock": 4,
    "twin.processes": 5,
    "twin.results": 6,
    "twin.runner": 6,
    "twin.windows": 6,
    "twin.sweep": 6,
    "twin.plots": 7,
    "twin.report": 7,
    "twin.api": 7,
    "twin.webmap": 7,
    "twin.rebuild": 7,
    "twin.export_czml": 7,
    "twin.export_cli": 8,
    "twin.paper": 8,
    "twin.cli": 8,
}

#: The one import allowed to run up the layers: the package root's PEP 562 ``__getattr__`` hands
#: out the notebook API (``twin.run``, ``twin.Run``) on first use. It is deferred, so importing
#: ``twin`` imports nothing above layer 0 (test_import_twin_stays_light) and no cycle forms at
#: import time; the graph checks below leave this edge out.
LAZY_FACADE = {("twin", "twin.api")}

#: Libraries that must not import each other although they share a layer.
SIBLINGS = ("twin.isac", "twin.pnt", "twin.ntn", "twin.signal")

#: Marker an in-function import of a project module carries on its line, with the reason.
DEFERRED = "# deferred:"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    names: tuple[str, ...]  # names taken from it (from-imports)
    line: int
    in_function: bool
    type_checking: bool
    text: str


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} has no layer: add it to LAYERS and docs/architecture.md")


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def read_imports(modules: dict[str, Path]) -> list[Import]:
    found = []
    for module, path in modules.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source, str(path))
        parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                pairs = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, path.name == "__init__.py")
                names = tuple(alias.name for alias in node.names)
                pairs = [(base, names)]
                # "from twin.pkg import module" imports the module itself
                pairs += [(f"{base}.{n}", ()) for n in names if f"{base}.{n}" in modules]
            else:
                continue
            in_function = type_checking = False
            up = parents.get(node)
            while up is not None:
                if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    in_function = True
                if isinstance(up, ast.If) and "TYPE_CHECKING" in ast.unparse(up.test):
                    type_checking = True
                up = parents.get(up)
            text = " ".join(lines[node.lineno - 1 : node.end_lineno])
            for target, names in pairs:
                if target in modules and target != module:
                    found.append(
                        Import(module, target, names, node.lineno, in_function, type_checking, text)
                    )
    return found


MODULES = project_modules()
IMPORTS = read_imports(MODULES)


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for imp in IMPORTS:
        if not imp.type_checking and (imp.source, imp.target) not in LAZY_FACADE:
            graph.add_edge(imp.source, imp.target)
    return graph


def test_the_walk_sees_the_package():
    # a walk that found nothing would pass every test below
    assert len(MODULES) > 40
    assert ("twin.runner", "twin.clock") in import_graph().edges


def test_no_import_cycle():
    cycles = sorted(sorted(c) for c in nx.simple_cycles(import_graph()))
    print(
        f"{len(MODULES)} modules, {import_graph().number_of_edges()} import edges, cycles: {cycles}"
    )
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_run_down_the_layers():
    upward = [
        f"{MODULES[i.source].relative_to(PACKAGE.parent)}:{i.line}: {i.source} (layer "
        f"{layer_of(i.source)}) imports {i.target} (layer {layer_of(i.target)})"
        for i in IMPORTS
        if layer_of(i.target) > layer_of(i.source) and (i.source, i.target) not in LAZY_FACADE
    ]
    assert upward == [], "imports from a higher layer:\n" + "\n".join(upward)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_libraries_do_not_import_each_other():
    crossing = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        for a in SIBLINGS
        for b in SIBLINGS
        if a != b and _within(i.source, a) and _within(i.target, b)
    ]
    assert crossing == []


def test_only_the_cli_imports_the_paper_reproductions():
    users = sorted(
        {
            i.source
            for i in IMPORTS
            if _within(i.target, "twin.paper") and not _within(i.source, "twin.paper")
        }
    )
    assert users in ([], ["twin.cli"])


def test_no_private_name_crosses_a_module():
    private = [
        f"{i.source}:{i.line} takes {n} from {i.target}"
        for i in IMPORTS
        for n in i.names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert private == [], "private names imported across modules:\n" + "\n".join(private)


def test_project_imports_sit_at_module_top():
    inside = [
        f"{MODULES[i.source].relative_to(PACKAGE.parent)}:{i.line}: {i.text.strip()}"
        for i in IMPORTS
        if i.in_function and DEFERRED not in i.text
    ]
    print(f"in-function project imports without a reason: {len(inside)}")
    assert inside == [], (
        f"project imports inside functions (move them up, or say why with '{DEFERRED} ...'):\n"
        + "\n".join(inside)
    )


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("twin.units", "twin.clock", False),
        ("twin.clock", "twin.units", True),
        ("twin.isac.physics.crb", "twin.constellation.orbits", False),
        ("twin.cli", "twin.paper.isac.cli", True),
    ],
)
def test_layer_rule_itself(source, target, allowed):
    # the rule the tests above apply, on cases whose answer is known
    assert (layer_of(target) <= layer_of(source)) is allowed


def test_the_lazy_facade_is_deferred_and_import_twin_stays_light():
    facade = [i for i in IMPORTS if (i.source, i.target) in LAZY_FACADE]
    assert facade and all(i.in_function and DEFERRED in i.text for i in facade)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, twin; print(sorted(m for m in sys.modules if m.startswith('twin')))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
    ).stdout
    assert loaded.strip() == "['twin']", loaded
