"""The layout's promise, checked on the source: no module imports another that imports it
back (not even inside a function), and packages import each other only one way."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# DESIGN's arrows, made concrete: a package may import the packages listed for it (and
# podium's top-level modules); nothing else.
ALLOWED = {
    "cli": {"server", "report", "triggers", "engine", "compute", "jvm", "tasks", "runtime",
            "store", "spec"},
    "server": {"triggers", "engine", "compute", "runtime", "store", "spec"},
    "report": {"engine", "store", "spec"},
    "triggers": {"engine", "runtime", "store", "spec"},
    "engine": {"tasks", "runtime", "compute", "jvm", "store", "spec"},
    "tasks": {"runtime", "spec"},
    "runtime": {"spec"},
    "compute": {"jvm", "spec"},
    "jvm": {"spec"},
    "store": {"spec"},
    "spec": set(),
}


def modules() -> dict[str, Path]:
    """podium's modules by dotted name."""
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The podium modules `name` imports anywhere in its file (`from a import b` counts
    as `a.b` when `b` is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                      for a in node.names}
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    """Each module with the modules it imports."""
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def package_of(module: str) -> str | None:
    """`engine` for `podium.engine.executor`; None for podium's top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def test_no_module_imports_itself_through_others() -> None:
    try:
        tuple(graphlib.TopologicalSorter(graph()).static_order())
    except graphlib.CycleError as cycle:
        raise AssertionError(f"import circle: {' -> '.join(cycle.args[1])}") from None


def test_packages_import_each_other_one_way() -> None:
    wrong = []
    for module, imported in graph().items():
        mine = package_of(module)
        for other in imported:
            theirs = package_of(other)
            if mine is None or theirs is None or theirs == mine:
                continue
            assert mine in ALLOWED, f"{mine} is a package the layout does not name"
            if theirs not in ALLOWED[mine]:
                wrong.append(f"{module} imports {other}")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_package_is_in_the_layout() -> None:
    packages = {p.name for p in (SRC / "podium").iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ALLOWED)
