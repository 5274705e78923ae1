"""A notebook or Python file runs from its own folder, as on Databricks (DBR 14+): relative
paths, `os.getcwd()`, `os.chdir`, subprocesses and imports beside it, with `sync.paths`
outside the bundle root laid out as the Databricks CLI syncs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_runs import cli

BUNDLE = """bundle: {name: uses_shared}
sync:
  paths: [../shared, ./src]
resources:
  jobs:
    shared:
      tasks:
        - task_key: notebook
          notebook_task:
            notebook_path: src/notebook.py
            base_parameters: {file_path: "${workspace.file_path}"}
        - task_key: python
          spark_python_task: {python_file: jobs/python.py}
"""

NOTEBOOK = """# Databricks notebook source
import json, os, subprocess, sys
# The working directory is the notebook's folder, so the sync root is two levels up.
shared_path = os.getcwd() + "/../../shared"
sys.path.append(shared_path)
from shared_library import multiply
import helper  # beside the notebook
with open("../../shared/config/data.json") as f:
    config = json.load(f)
with open("made_here.txt", "w") as f:
    f.write("x")
here = os.getcwd()
os.chdir("..")
after = os.getcwd()
listed = sorted(os.listdir())
pwd = subprocess.run(["pwd"], capture_output=True, text=True).stdout.strip()
dbutils.notebook.exit(json.dumps({
    "product": multiply(2, 3), "config": config, "helper": helper.NAME,
    "here": here, "after": after, "listed": listed, "pwd": pwd,
    "file_path": dbutils.widgets.get("file_path")}))
"""

PYTHON = """import json, os, pathlib
from shared_library import multiply  # a relative sys.path entry, from this file's folder
config = json.loads(pathlib.Path("../../shared/config/data.json").read_text())
pathlib.Path("python_was_here.txt").write_text(str(multiply(config["factor"], 7)))
print("cwd", os.getcwd())
"""


def test_notebooks_and_files_run_from_their_folder_in_the_synced_tree(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    files = {
        "shared/config/data.json": '{"factor": 6}',
        "shared/shared_library/__init__.py": "def multiply(a, b):\n    return a * b\n",
        "bundle/databricks.yml": BUNDLE,
        "bundle/src/notebook.py": NOTEBOOK,
        "bundle/src/helper.py": "NAME = 'helper beside the notebook'\n",
        "bundle/jobs/python.py": "import sys\nsys.path.append('../../shared')\n" + PYTHON,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    done = cli("run", "shared", "--bundle", str(root), "--json", home=tmp_path / "home")
    view = json.loads(done.stdout)
    states = {t["task_key"]: t["state"]["result_state"] for t in view["tasks"]}
    assert states == {"notebook": "SUCCESS", "python": "SUCCESS"}, done.stdout
    seen = json.loads(next(t for t in view["tasks"]
                           if t["task_key"] == "notebook")["podium_exit_value"])
    assert seen["product"] == 6 and seen["config"] == {"factor": 6}
    assert seen["helper"] == "helper beside the notebook"
    assert seen["here"] == str(root / "src") and seen["after"] == str(root)
    assert seen["listed"] == ["databricks.yml", "jobs", "src"]
    assert seen["pwd"] == str(root)  # a subprocess starts where the task stands
    assert (root / "src" / "made_here.txt").read_text() == "x"
    # The CLI syncs the common parent of the bundle root and its sync paths.
    assert seen["file_path"] == str(tmp_path)
    assert (root / "jobs" / "python_was_here.txt").read_text() == "42"
