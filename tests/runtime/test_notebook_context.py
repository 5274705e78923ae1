"""The notebook context as Databricks notebooks read it: entry_point, tags, Options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.engine.states import Result
from podium.runtime.context import TaskContext, TaskValues
from podium.runtime.dbutils import DBUtils
from podium.runtime.notebook_context import NoSuchElementException, user_name
from tests.conftest import CLUSTER

# Seed 002's controller notebook, the line as it is written there.
SEED_002_LINE = ('shared_cluster_id = dbutils.notebook.entry_point.getDbutils().notebook()'
                 '.getContext().tags().apply("jobClusterId")')


def make_ctx(tmp_path: Path) -> TaskContext:
    return TaskContext(run_id=10, job_key="j", job_name="nightly", task_key="load", attempt=1,
                       task_run_id=11, params={}, log_path=tmp_path / "t.log",
                       bundle_root=tmp_path, values=TaskValues(), job_id=7,
                       cluster_id="shared_compute", notebook_path="/repo/src/load")


def test_context_tags_options_and_json(tmp_path: Path) -> None:
    utils = DBUtils(make_ctx(tmp_path))
    context = utils.notebook.entry_point.getDbutils().notebook().getContext()
    tags = context.tags()
    assert tags.apply("jobClusterId") == tags.apply("clusterId") == "shared_compute"
    assert (tags.apply("jobId"), tags.apply("runId"), tags.apply("multitaskParentRunId"),
            tags.apply("taskKey"), tags.apply("user")) == ("7", "11", "10", "load",
                                                             user_name())
    assert tags.get("jobName").get() == "nightly"
    assert tags.get("nothing").isDefined() is False
    assert tags.get("nothing").getOrElse("fallback") == "fallback"
    with pytest.raises(NoSuchElementException, match="key not found: nothing"):
        tags.apply("nothing")
    assert context.notebookPath().get() == "/repo/src/load"
    assert context.currentRunId().get().id() == 11
    assert str(context.currentRunId()) == "Some(RunId(11))"
    assert json.loads(context.toJson())["tags"]["jobId"] == "7"
    assert json.loads(context.toJson())["currentRunId"] == {"id": 11}
    assert json.loads(context.toJson())["extraContext"]["notebook_path"] == "/repo/src/load"
    assert utils.notebook.getContext().tags().apply("taskKey") == "load"


def test_context_outside_a_job_has_no_run(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    ctx.in_job = False
    context = DBUtils(ctx).notebook.getContext()
    assert context.currentRunId().isEmpty()
    assert context.tags().get("jobId").isDefined() is False
    with pytest.raises(NoSuchElementException):
        context.currentRunId().get()


CONTROLLER = f"""# Databricks notebook source
import json
{SEED_002_LINE}
context = json.loads(dbutils.notebook.getContext().toJson())
path = dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()
dbutils.notebook.exit(json.dumps({{"cluster": shared_cluster_id, "path": path,
                                  "task": context["tags"]["taskKey"],
                                  "parent": context["tags"]["multitaskParentRunId"]}}))
"""


def test_seed002_controller_line_runs_unchanged_in_a_task(run_job) -> None:
    run = run_job(CLUSTER + "      tasks:\n        - {task_key: control, job_cluster_key: main,"
                  " notebook_task: {notebook_path: controller.py}}\n",
                  files={"controller.py": CONTROLLER})
    tr = run.task_runs["control"]
    assert run.result is Result.SUCCESS, tr.error
    seen = json.loads(tr.exit_value)
    assert seen["cluster"] == "j:main"
    assert seen["task"] == "control" and seen["parent"] == str(run.run_id)
    assert seen["path"].endswith("/controller") and not seen["path"].endswith(".py")
