"""The `podium` command as a whole: one module per group, --json wherever JSON is printed,
help text that wraps cleanly, and a clear answer for a job the bundle does not have."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import typer.main

from podium.cli.app import app, reflow
from tests.cli.test_validate import podium
from tests.conftest import EXAMPLES, REPO

CLI = REPO / "src" / "podium" / "cli"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("podium.cli"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("podium.cli")}
    return found


def test_no_cli_module_imports_one_that_imports_it() -> None:
    graph = {f"podium.cli.{p.stem}": _imports(p) for p in CLI.glob("*.py")
             if p.stem != "__init__"}
    for module, imported in graph.items():
        for other in imported:
            assert module not in graph.get(other, set()), f"{module} <-> {other}"
    assert all("podium.cli.app" not in imported for imported in graph.values())


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_help_paragraphs_have_no_source_line_breaks() -> None:
    root = typer.main.get_command(app)
    for path, command in _commands(root):
        for paragraph in (command.help or "").split("\n\n"):
            assert "\n" not in paragraph, (path, paragraph)
    assert reflow("One\n  two.\n\n  Three\n  four.") == "One two.\n\nThree four."


def test_every_command_that_prints_json_takes_json() -> None:
    root = typer.main.get_command(app)
    takes = {path for path, command in _commands(root)
             if any("--json" in p.opts for p in command.params)}
    assert {("validate",), ("run",), ("jobs", "list"), ("runs", "list"), ("runs", "get"),
            ("runs", "cost"), ("runs", "repair"), ("cluster", "start"),
            ("cluster", "list")} <= takes


def test_runs_get_accepts_json_and_unknown_job_lists_the_jobs(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(
        "bundle: {name: b}\nresources:\n  jobs:\n    hello:\n      tasks:\n"
        "        - {task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}\n")
    done = podium("run", "hello", "--bundle", str(bundle), "--json", cwd=REPO)
    run_id = json.loads(done.stdout)["run_id"]
    got = podium("runs", "get", str(run_id), "--json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["run_id"] == run_id
    missing = podium("run", "nightly", "--bundle", str(EXAMPLES / "quickstart"))
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith(
        "no job or pipeline 'nightly' in bundle 'quickstart'; its jobs are: daily_sales")
    assert "Traceback" not in missing.stderr
