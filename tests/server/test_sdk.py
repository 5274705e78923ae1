"""databricks-sdk's WorkspaceClient, unchanged, against a real `podium serve`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from databricks.sdk.errors import InvalidParameterValue, NotFound
from databricks.sdk.service import compute, jobs

from tests.conftest import ENDLESS
from tests.server.conftest import Server

INGEST = """# Databricks notebook source
dbutils.widgets.text("table", "")
name = dbutils.widgets.get("table")
spark.range(100).write.mode("overwrite").saveAsTable(name)
dbutils.notebook.exit(f"{name}:{spark.table(name).count()}")
"""

TRAIN = """# Databricks notebook source
dbutils.widgets.text("fail", "no")
if dbutils.widgets.get("fail") == "yes":
    raise ValueError("asked to fail")
dbutils.notebook.exit(str(spark.range(10).count()))
"""

LONG = f"# Databricks notebook source\n{ENDLESS}\n"


def notebooks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("ingest.py", INGEST), ("train.py", TRAIN), ("long.py", LONG)):
        (folder / name).write_text(text)
    return folder


def cluster(key: str, master: str, **conf: str) -> jobs.JobCluster:
    return jobs.JobCluster(job_cluster_key=key, new_cluster=compute.ClusterSpec(
        spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1,
        spark_conf={"spark.master": master, "spark.ui.enabled": "true", **conf}))


def test_two_clusters_run_now_output_repair_and_listing(server: Server, tmp_path: Path) -> None:
    w = server.sdk()
    nb = notebooks(tmp_path / "nb")
    created = w.jobs.create(
        name="ingest-and-train",
        parameters=[jobs.JobParameterDefinition(name="fail", default="yes")],
        job_clusters=[cluster("ingestion", "local[2]"),
                      cluster("ml", "local[1]", **{"spark.sql.shuffle.partitions": "4"})],
        tasks=[
            jobs.Task(task_key="bronze", job_cluster_key="ingestion",
                      notebook_task=jobs.NotebookTask(notebook_path=str(nb / "ingest.py"),
                                                      base_parameters={"table": "bronze"})),
            jobs.Task(task_key="silver", job_cluster_key="ingestion",
                      depends_on=[jobs.TaskDependency(task_key="bronze")],
                      notebook_task=jobs.NotebookTask(notebook_path=str(nb / "ingest"),
                                                      base_parameters={"table": "silver"})),
            jobs.Task(task_key="train", job_cluster_key="ml",
                      depends_on=[jobs.TaskDependency(task_key="silver")],
                      notebook_task=jobs.NotebookTask(
                          notebook_path=str(nb / "train.py"),
                          base_parameters={"fail": "{{job.parameters.fail}}"})),
        ])
    assert w.jobs.get(created.job_id).settings.name == "ingest-and-train"

    failed = w.jobs.run_now(job_id=created.job_id).result()
    assert failed.state.result_state == jobs.RunResultState.FAILED
    tasks = {t.task_key: t for t in failed.tasks}
    assert {k: (t.state.result_state.value, t.state.state_message) for k, t in tasks.items()
            if k != "train"} == {"bronze": ("SUCCESS", ""), "silver": ("SUCCESS", "")}
    assert tasks["train"].state.result_state == jobs.RunResultState.FAILED
    # Clusters start Java by forking while the Connect proxy's gRPC threads run; gRPC's
    # fork handlers, which broke such starts now and then, stay off.
    assert "fork() handlers" not in server.log.read_text()
    apps = {k: t.cluster_instance.spark_context_id for k, t in tasks.items()}
    assert apps["bronze"] == apps["silver"] != apps["train"]
    output = w.jobs.get_run_output(tasks["silver"].run_id)
    assert output.notebook_output.result == "silver:100"
    assert "asked to fail" in w.jobs.get_run_output(tasks["train"].run_id).error

    w.jobs.repair_run(run_id=failed.run_id, rerun_tasks=["train"],
                      job_parameters={"fail": "no"}).result()
    repaired = w.jobs.get_run(failed.run_id)
    assert repaired.state.result_state == jobs.RunResultState.SUCCESS
    assert [h.type for h in repaired.repair_history] == [jobs.RepairHistoryItemType.ORIGINAL,
                                                         jobs.RepairHistoryItemType.REPAIR]
    train = next(t for t in repaired.tasks if t.task_key == "train")
    assert w.jobs.get_run_output(train.run_id).notebook_output.result == "10"

    second = w.jobs.run_now(job_id=created.job_id, job_parameters={"fail": "no"}).result()
    assert second.state.result_state == jobs.RunResultState.SUCCESS
    assert {t.task_key: t.cluster_instance.spark_context_id for t in second.tasks} == apps
    runs = list(w.jobs.list_runs(job_id=created.job_id, limit=1))
    assert [r.run_id for r in runs] == [second.run_id, failed.run_id]
    with pytest.raises(NotFound):
        w.jobs.get_run(987654321)
    with pytest.raises(InvalidParameterValue):
        w.jobs.run_now(job_id=created.job_id, job_parameters={"nope": "1"})


def test_cancel_stops_the_spark_job_and_the_cluster_serves_the_next_run(
        server: Server, tmp_path: Path) -> None:
    w = server.sdk()
    nb = notebooks(tmp_path / "nb")
    one_core = [cluster("one", "local[1]", **{"spark.podium.maxConcurrentTasks": "1"})]
    long_job = w.jobs.create(name="long", job_clusters=one_core, tasks=[jobs.Task(
        task_key="long", job_cluster_key="one",
        notebook_task=jobs.NotebookTask(notebook_path=str(nb / "long.py")))])
    short_job = w.jobs.create(name="short", job_clusters=one_core, tasks=[jobs.Task(
        task_key="short", job_cluster_key="one",
        notebook_task=jobs.NotebookTask(notebook_path=str(nb / "train.py"),
                                        base_parameters={"fail": "no"}))])
    waiter = w.jobs.run_now(job_id=long_job.job_id)
    deadline = time.monotonic() + 120
    while w.jobs.get_run(waiter.run_id).tasks[0].state.life_cycle_state != \
            jobs.RunLifeCycleState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(2)  # the Spark job is under way
    asked = time.monotonic()
    w.jobs.cancel_run(waiter.run_id)
    while w.jobs.get_run(waiter.run_id).state.life_cycle_state != \
            jobs.RunLifeCycleState.TERMINATED:
        time.sleep(0.1)
    assert time.monotonic() - asked < 2.0
    ended = w.jobs.get_run(waiter.run_id)
    assert ended.state.result_state == jobs.RunResultState.CANCELED
    began = time.monotonic()
    short = w.jobs.run_now(job_id=short_job.job_id).result()
    assert short.state.result_state == jobs.RunResultState.SUCCESS
    assert short.tasks[0].cluster_instance.spark_context_id == \
        ended.tasks[0].cluster_instance.spark_context_id
    assert time.monotonic() - began < 30  # not stuck behind the cancelled Spark job


def test_jobs_list_pages_and_filters_by_name(server: Server) -> None:
    w = server.sdk()
    ids = [w.jobs.create(name=f"page-{i}", tasks=[jobs.Task(
        task_key="t", python_wheel_task=None, notebook_task=None, spark_python_task=None,
        condition_task=jobs.ConditionTask(op=jobs.ConditionTaskOp.EQUAL_TO, left="1",
                                          right="1"))]).job_id for i in range(27)]
    listed = [j.job_id for j in w.jobs.list(limit=10)]
    assert set(ids) <= set(listed) and listed == sorted(listed)
    first = server.get("/api/2.2/jobs/list", limit=10).json()
    assert first["has_more"] and len(first["jobs"]) == 10 and "tasks" not in \
        first["jobs"][0]["settings"]
    named = list(w.jobs.list(name="page-7", expand_tasks=True))
    assert [j.job_id for j in named] == [ids[7]] and named[0].settings.tasks[0].task_key == "t"


def test_a_job_of_130_tasks_pages_under_2_2_and_the_sdk_reads_every_page(
        server: Server) -> None:
    w = server.sdk()
    tasks = [jobs.Task(task_key=f"t{i:03}", python_wheel_task=None, notebook_task=None,
                       spark_python_task=None, condition_task=jobs.ConditionTask(
                           op=jobs.ConditionTaskOp.EQUAL_TO, left="1", right="1"))
             for i in range(130)]
    job_id = w.jobs.create(name="wide", tasks=tasks, parameters=[
        jobs.JobParameterDefinition(name="day", default="d1")]).job_id
    assert len(w.jobs.get(job_id).settings.tasks) == 130
    run = w.jobs.run_now(job_id).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    got = w.jobs.get_run(run.run_id)
    assert sorted(t.task_key for t in got.tasks) == [t.task_key for t in tasks]
    assert [(p.name, p.value) for p in got.job_parameters] == [("day", "d1")]

    first = server.get("/api/2.2/jobs/runs/get", run_id=run.run_id).json()
    assert len(first["tasks"]) == 100 and first["has_more"]
    second = server.get("/api/2.2/jobs/runs/get", run_id=run.run_id,
                        page_token=first["next_page_token"]).json()
    assert len(second["tasks"]) == 30 and "next_page_token" not in second
    assert second["job_parameters"] == [] and second["prev_page_token"] == "0"
    assert len(server.get("/api/2.1/jobs/runs/get", run_id=run.run_id).json()["tasks"]) == 130
    page = server.get("/api/2.2/jobs/get", job_id=job_id).json()
    assert len(page["settings"]["tasks"]) == 100 and page["next_page_token"] == "100"
    assert server.get("/api/2.2/jobs/runs/get", run_id=run.run_id, page_token="x"
                      ).json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_login_profile_and_environment_variables_reach_the_server(server: Server,
                                                                  tmp_path: Path,
                                                                  monkeypatch) -> None:
    import subprocess

    from databricks.sdk import WorkspaceClient

    from tests.server.conftest import PODIUM, env_for

    subprocess.run([*PODIUM, "login", "--host", server.url], check=True, capture_output=True,
                   env={**env_for(server.home), "HOME": str(tmp_path)})
    by_profile = WorkspaceClient(profile="podium", config_file=str(tmp_path / ".databrickscfg"))
    assert isinstance(list(by_profile.jobs.list()), list)
    monkeypatch.setenv("DATABRICKS_HOST", server.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none.cfg"))
    assert isinstance(list(WorkspaceClient().jobs.list()), list)
