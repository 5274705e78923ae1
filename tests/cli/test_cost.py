"""`podium runs cost`: what each task used of a shared cluster, agreeing with the totals
the Spark UI shows for the application."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_runs import cli

WORK = """# Databricks notebook source
dbutils.widgets.text("rows", "0")
n = int(dbutils.widgets.get("rows"))
df = spark.range(n).selectExpr("id", "id % 7 AS k")
df.groupBy("k").count().write.mode("overwrite").saveAsTable(f"cost_{n}")
"""

UI_TOTALS = """# Databricks notebook source
import json, time, urllib.request
sc = spark.sparkContext
time.sleep(1)  # let the status store take in the last stage
url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
stages = json.load(urllib.request.urlopen(url))
dbutils.notebook.exit(str(sum(s["executorRunTime"] for s in stages)))
"""


def test_cost_per_task_sums_to_the_spark_ui_totals(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text(WORK)
    (tmp_path / "ui.py").write_text(UI_TOTALS)
    tasks = "".join(f"        - {{task_key: w{n}, notebook_task: {{notebook_path: work.py, "
                    f"base_parameters: {{rows: '{n}'}}}}}}\n" for n in (200000, 400000, 800000))
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: cost}\nresources:\n  jobs:\n    j:\n      tasks:\n" + tasks +
        "        - {task_key: ui, depends_on: [{task_key: w200000}, {task_key: w400000}, "
        "{task_key: w800000}], notebook_task: {notebook_path: ui.py}}\n")
    home = tmp_path / "home"
    done = cli("run", "j", "--bundle", str(tmp_path), "--json", home=home)
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS"
    assert "800,000 rows in, 7 out" in done.stderr  # the run summary says it too
    ui_total = int(next(t for t in view["tasks"] if t["task_key"] == "ui")["podium_exit_value"])

    cost = json.loads(cli("runs", "cost", str(view["run_id"]), "--json", home=home).stdout)
    work = [t for t in cost["tasks"] if t["task_key"].startswith("w")]
    assert len(work) == 3 and all(t["stages"] >= 1 and t["output_rows"] == 7 for t in work)
    ours = sum(t["executor_run_time_ms"] for t in work)
    assert abs(ours - ui_total) <= 0.05 * ui_total, (ours, ui_total)
    assert abs(sum(t["share_of_cluster"] for t in cost["tasks"]) - 1) < 0.01
    [cluster] = cost["clusters"]
    assert cluster["cores"] >= 1 and cluster["held_core_seconds"] > 0
    assert view["podium"]["cost"] == cost  # runs get --json carries the same section

    table = cli("runs", "cost", str(view["run_id"]), home=home).stdout
    assert f"run {view['run_id']}: cost per task" in table


def test_a_for_each_task_costs_the_sum_of_its_iterations(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text(WORK)
    (tmp_path / "databricks.yml").write_text("""bundle: {name: cost}
resources:
  jobs:
    j:
      tasks:
        - task_key: each
          for_each_task:
            inputs: '[1000, 2000, 3000]'
            concurrency: 2
            task: {task_key: copy, notebook_task: {notebook_path: work.py,
                   base_parameters: {rows: '{{input}}'}}}
""")
    home = tmp_path / "home"
    view = json.loads(cli("run", "j", "--bundle", str(tmp_path), "--json", home=home).stdout)
    assert view["state"]["result_state"] == "SUCCESS"
    [task] = view["podium"]["cost"]["tasks"]
    assert task["task_key"] == "each"
    assert task["input_rows"] == 6000 and task["output_rows"] == 21  # 7 groups per copy
    assert task["stages"] >= 3 and task["share_of_cluster"] == 1.0
