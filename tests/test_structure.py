"""Issue 24: the house keeps one direction. The library never imports the command layer, no package imports one
above it (imports inside functions count too), and files and functions stay small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "trl_grm"
# From the ground floor up; a package may import its own floor and the floors below it, never one above.
FLOORS = [
    {"utils"},
    {"protocol"},
    {"backends"},
    {"modeling"},
    {"data", "pipelines", "rewards"},
    {"evaluation", "serving", "planning", "testing"},
    {"trainers"},
    {"cli"},
    {"__init__"},
]
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}


def _unit(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0][: -len(".py")] if len(parts) == 1 else parts[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, imported trl_grm module)`` of every import in ``path``, relative ones resolved."""
    package = ["trl_grm", *path.relative_to(PACKAGE).parts[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out += [(node.lineno, name) for name in names if name.startswith("trl_grm.")]
    return out


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_package_has_a_floor():
    assert {_unit(p) for p in SOURCES} <= set(FLOOR), "a new top-level package of trl_grm needs a floor here"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_up_a_floor(path):
    unit = _unit(path)
    upward = [f"line {line}: {name}" for line, name in _imports(path) if FLOOR[name.split(".")[1]] > FLOOR[unit]]
    assert not upward, f"{path.relative_to(PACKAGE)} ({unit}, floor {FLOOR[unit]}) imports from above: {upward}"


def test_the_library_never_imports_the_command_layer():
    offenders = [
        f"{p.relative_to(PACKAGE)}:{line}"
        for p in SOURCES
        if _unit(p) != "cli"
        for line, name in _imports(p)
        if name.startswith("trl_grm.cli")
    ]
    assert not offenders


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_files_and_functions_stay_small(path):
    text = path.read_text()
    assert text.count("\n") < 400, f"{path.relative_to(PACKAGE)} has {text.count(chr(10))} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80
    ]
    assert not long, f"{path.relative_to(PACKAGE)}: {long}"
