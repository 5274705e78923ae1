"""Task code reaches its workspace with no configuration, as a notebook does on Databricks:
`WorkspaceClient()` and `os.environ["DATABRICKS_TOKEN"]` work in a plain `podium run`,
with a token of the run's own that never reaches a log and is gone when the run ends."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.test_runs import ENV, PODIUM, cli

BUNDLE = """bundle: {name: controller}
resources:
  jobs:
    controller:
      tasks:
        - task_key: control
          notebook_task: {notebook_path: ./control.py, base_parameters: {out: OUT}}
    child:
      parameters: [{name: x, default: "1"}]
      tasks:
        - task_key: work
          notebook_task: {notebook_path: ./work.py}
"""

CONTROL = """# Databricks notebook source
import json, os, subprocess
from databricks.sdk import WorkspaceClient

w = WorkspaceClient()  # no host, no token: the task's own
me = w.current_user.me().user_name
child = w.jobs.run_now_and_wait(job_id="child", job_parameters={"x": "7"})
context = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
print("my token is", os.environ["DATABRICKS_TOKEN"])
shell = subprocess.run("echo $DATABRICKS_HOST", shell=True, capture_output=True, text=True)
with open(dbutils.widgets.get("out"), "w") as f:
    f.write(os.environ["DATABRICKS_TOKEN"])
dbutils.notebook.exit(json.dumps({
    "me": me, "child": child.state.result_state.value,
    "child_output": w.jobs.get_run_output(child.tasks[0].run_id).notebook_output.result,
    "host": os.environ["DATABRICKS_HOST"], "api_url": context.apiUrl().get(),
    "same_token": context.apiToken().get() == os.environ["DATABRICKS_TOKEN"],
    "shell_host": shell.stdout.strip()}))
"""

WORK = """# Databricks notebook source
dbutils.widgets.text("x", "")
dbutils.notebook.exit("x=" + dbutils.widgets.get("x"))
"""


def test_a_controller_reaches_the_workspace_of_a_plain_run(tmp_path: Path) -> None:
    secret = tmp_path / "token.txt"
    (tmp_path / "databricks.yml").write_text(BUNDLE.replace("OUT", str(secret)))
    (tmp_path / "control.py").write_text(CONTROL)
    (tmp_path / "work.py").write_text(WORK)
    home = tmp_path / "home"
    # A workspace the user's shell points at is not the one task code belongs to.
    done = subprocess.run([*PODIUM, "run", "controller", "--bundle", str(tmp_path), "--json"],
                          capture_output=True, text=True, check=False,
                          env={**ENV, "PODIUM_HOME": str(home),
                               "DATABRICKS_HOST": "https://elsewhere.example",
                               "DATABRICKS_TOKEN": "dapi-not-for-tasks"})
    view = json.loads(done.stdout)
    task = view["tasks"][0]
    assert view["state"]["result_state"] == "SUCCESS", task.get("error")
    seen = json.loads(task["podium_exit_value"])
    assert seen["child"] == "SUCCESS" and seen["child_output"] == "x=7"
    assert seen["host"].startswith("http://127.0.0.1:") and seen["api_url"] == seen["host"]
    assert seen["shell_host"] == seen["host"] and seen["same_token"] is True
    assert seen["me"]
    token = secret.read_text()
    log = Path(task["log_path"]).read_text()
    assert "my token is [REDACTED]" in log and token not in log
    # The run's token is taken back when the run ends.
    listed = cli("tokens", "list", "--json", home=home).stdout
    assert "task code of run" not in listed
    runs = json.loads(cli("runs", "list", "--json", home=home).stdout)["runs"]
    assert sorted(r["run_name"] for r in runs) == ["child", "controller"]
