"""Python packages of tasks as `podium validate` and `podium run` see them, run as a user
runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PODIUM = [sys.executable, "-m", "podium"]

CONFLICT = """\
bundle: {name: p}
resources:
  jobs:
    j:
      tasks:
        - task_key: t
          python_task: {function: 'tests.engine.funcs:ok'}
          libraries:
            - pypi: {package: "packaging==23.2"}
            - pypi: {package: "packaging>=24"}
"""


def podium(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODIUM, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PODIUM_HOME": str(home)})


def test_packages_that_cannot_be_resolved_are_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(CONFLICT)
    done = podium("validate", str(tmp_path), home=tmp_path / "home")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"{tmp_path / 'databricks.yml'}:10:")
    assert "the Python packages of task 't' cannot be installed" in line
    assert "packaging==23.2 and packaging>=24" in line
    ran = podium("run", "j", "--bundle", str(tmp_path), home=tmp_path / "home")
    assert ran.returncode == 2 and ran.stderr.strip() == line
    assert "Traceback" not in ran.stderr
    assert json.loads(podium("runs", "list", "--json", home=tmp_path / "home").stdout)[
        "runs"] == []


def test_a_bad_pip_cell_is_located_in_the_notebook(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: p}\nresources:\n  jobs:\n    j:\n      tasks:\n"
        "        - {task_key: t, notebook_task: {notebook_path: nb.py}}\n")
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nx = 1\n\n"
                                    "# COMMAND ----------\n"
                                    "# MAGIC %pip install --target /tmp/x inflection\n")
    done = podium("validate", str(tmp_path), home=tmp_path / "home")
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{tmp_path / 'nb.py'}:5:1: error: pip option "
                                   "'--target' is not supported locally; remove it")


def test_validate_lists_each_tasks_packages(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(CONFLICT.replace(
        '            - pypi: {package: "packaging>=24"}\n', ""))
    done = podium("validate", str(tmp_path), home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "python packages of task j.t: packaging==23.2 (environment " in done.stdout
    assert ", not built)" in done.stdout
    described = json.loads(podium("validate", str(tmp_path), "--json",
                                  home=tmp_path / "home").stdout)
    assert described["python"]["j.t"]["packages"] == ["packaging==23.2"]
    assert described["python"]["j.t"]["built"] is False


def test_a_run_leaves_no_task_process_behind_and_counts_spark_work(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("""\
bundle: {name: p}
resources:
  jobs:
    j:
      tasks:
        - task_key: t
          notebook_task: {notebook_path: nb.py}
          libraries: [{pypi: {package: "inflection==0.5.1"}}]
""")
    (tmp_path / "nb.py").write_text(
        "# Databricks notebook source\nimport inflection\n"
        "n = spark.range(50000).filter('id % 2 = 0').count()\n"
        "dbutils.notebook.exit(inflection.ordinalize(n))\n")
    home = tmp_path / "home"
    done = podium("run", "j", "--bundle", str(tmp_path), "--json", home=home)
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)["tasks"][0]
    assert task["state"]["result_state"] == "SUCCESS"
    assert task["podium_exit_value"] == "25000th"
    assert task["podium_usage"]["input_rows"] >= 50000  # counted as for any task
    left = [p for p in Path("/proc").glob("[0-9]*")
            if str(home / "envs") in _cmdline(p)]
    assert left == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
