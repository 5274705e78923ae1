"""`podium runs cost`: what each task used of a shared cluster, agreeing with the totals
the Spark UI shows for the application."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def costed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """One cold run, as a user runs it, of a job with three copies, a task that reads the
    Spark UI's totals once they end, then a for-each of three more copies: its view, its
    summary and its workspace."""
    root = tmp_path_factory.mktemp("cost")
    (root / "work.py").write_text(WORK)
    (root / "ui.py").write_text(UI_TOTALS)
    tasks = "".join(f"        - {{task_key: w{n}, notebook_task: {{notebook_path: work.py, "
                    f"base_parameters: {{rows: '{n}'}}}}}}\n" for n in (200000, 400000, 800000))
    (root / "databricks.yml").write_text(
        "bundle: {name: cost}\nresources:\n  jobs:\n    j:\n      tasks:\n" + tasks +
        "        - {task_key: ui, depends_on: [{task_key: w200000}, {task_key: w400000}, "
        "{task_key: w800000}], notebook_task: {notebook_path: ui.py}}\n" + """\
        - task_key: each
          depends_on: [{task_key: ui}]
          for_each_task:
            inputs: '[1000, 2000, 3000]'
            concurrency: 2
            task: {task_key: copy, notebook_task: {notebook_path: work.py,
                   base_parameters: {rows: '{{input}}'}}}
""")
    home = root / "home"
    done = cli("run", "j", "--bundle", str(root), "--json", home=home)
    return json.loads(done.stdout), done.stderr, home


def test_cost_per_task_sums_to_the_spark_ui_totals(costed) -> None:
    view, summary, home = costed
    assert view["state"]["result_state"] == "SUCCESS"
    assert "800,000 rows in, 7 out" in summary  # the run summary says it too
    ui_total = int(next(t for t in view["tasks"] if t["task_key"] == "ui")["podium_exit_value"])

    cost = json.loads(cli("runs", "cost", str(view["run_id"]), "--json", home=home).stdout)
    work = [t for t in cost["tasks"] if t["task_key"].startswith("w")]
    assert len(work) == 3 and all(t["stages"] >= 1 and t["output_rows"] == 7 for t in work)
    ours = sum(t["executor_run_time_ms"] for t in work)  # what ran before `ui` read the UI
    assert abs(ours - ui_total) <= 0.05 * ui_total, (ours, ui_total)
    assert abs(sum(t["share_of_cluster"] for t in cost["tasks"]) - 1) < 0.01
    [cluster] = cost["clusters"]
    assert cluster["cores"] >= 1 and cluster["held_core_seconds"] > 0
    assert view["podium"]["cost"] == cost  # runs get --json carries the same section

    table = cli("runs", "cost", str(view["run_id"]), home=home).stdout
    assert f"run {view['run_id']}: cost per task" in table


def test_a_for_each_task_costs_the_sum_of_its_iterations(costed) -> None:
    view, _, _ = costed
    assert view["state"]["result_state"] == "SUCCESS"
    [task] = [t for t in view["podium"]["cost"]["tasks"] if t["task_key"] == "each"]
    assert task["input_rows"] == 6000 and task["output_rows"] == 21  # 7 groups per copy
    assert task["stages"] >= 3 and 0 < task["share_of_cluster"] < 1
