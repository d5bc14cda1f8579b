"""The package layers docs/architecture.md draws are the ones the code has: no package
imports from its own layer or above (so no cycles), and no module cycle inside a package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "generator"


def layers() -> dict[str, int]:
    text = (ROOT / "docs/architecture.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block is not None, "docs/architecture.md has no ```layers block"
    found = {}
    for line in block.group(1).splitlines():
        number, _, names = line.partition(":")
        for name in names.split():
            found[name] = int(number)
    return found


def modules() -> dict[str, Path]:
    found = {}
    for path in GENERATOR.rglob("*.py"):
        parts = ("generator", *path.relative_to(GENERATOR).with_suffix("").parts)
        found[".".join(parts).removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every generator module `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(name for name in names if name in known)
    return found


def package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_every_package_is_in_a_layer() -> None:
    names = {package(module) for module in modules() if module != "generator"}
    assert names == set(layers()), names ^ set(layers())


def test_no_package_imports_from_its_layer_or_above() -> None:
    level = layers()
    known = modules()
    upward = []
    for module, path in sorted(known.items()):
        if module == "generator":
            continue
        for target in sorted(imports(path, known)):
            if target == "generator" or package(target) == package(module):
                continue
            if level[package(target)] >= level[package(module)]:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_module_cycles() -> None:
    known = modules()
    graph = {module: imports(path, known) - {module} for module, path in known.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
