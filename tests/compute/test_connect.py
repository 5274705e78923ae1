"""Clusters on Spark Connect: a second cluster in one process, timeouts and cancels by
tag, a server that cannot start, and attaching to a server podium did not start."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path

import pytest

from podium.compute import spark_mode
from podium.compute.connect import ConnectCluster, shown
from podium.engine.model import Run
from podium.engine.states import Result
from podium.spec import load_bundle
from podium.spec.models import ClusterSpec
from tests.cli.test_runs import cli
from tests.conftest import CLUSTER, ENDLESS, ENDLESS_SQL, EXAMPLES

LONG = f"# Databricks notebook source\n{ENDLESS}\n"
SHORT = ("# Databricks notebook source\n"
         "dbutils.notebook.exit(str(spark.range(100).count()) + ':' + "
         "spark.conf.get('spark.podium.flavour', 'none'))\n")


def test_two_job_clusters_run_as_two_applications(tmp_path: Path) -> None:
    done = cli("run", "recommender", "--bundle", str(EXAMPLES / "seed000_two_clusters"),
               "--json", home=tmp_path)
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS", done.stderr
    by_task = {t["task_key"]: t for t in view["tasks"]}
    ingest = {by_task[k]["cluster_instance"]["spark_context_id"]
              for k in ("ingestion_silver", "ingestion_gold")}
    ml = {by_task[k]["cluster_instance"]["spark_context_id"]
          for k in ("ml_feature_engineering", "ml_batch_scoring")}
    assert len(ingest) == len(ml) == 1 and ingest != ml
    assert [by_task[k]["podium_exit_value"] for k in by_task] == ["ingestion", "ingestion",
                                                                  "ml", "ml"]
    assert done.stderr.count("cluster ingestion_job_cluster: started in") == 1
    assert done.stderr.count("cluster ml_job_cluster: started in") == 1
    # a run is quiet about the cloud-only settings every bundle has (validate lists them)
    assert "ignored locally" not in done.stderr and "cluster policy" in done.stderr


# A cluster spec unlike the session's, so it runs as a Spark Connect server; with one
# core, a task after a stopped one only runs if the first was really stopped.
ONE_CORE = ("      job_clusters:\n        - job_cluster_key: one_core\n          new_cluster:"
            " {spark_conf: {spark.master: 'local[1]', spark.podium.flavour: connect}}\n")


def take_classic_driver(run_job) -> None:
    """Run a task on the session's classic cluster, so any other spec goes to Connect."""
    done = run_job(CLUSTER + "      tasks:\n        - {task_key: t, job_cluster_key: main, "
                   "notebook_task: {notebook_path: short.py}}\n", files={"short.py": SHORT})
    assert done.result is Result.SUCCESS


def port_of(url: str) -> int:
    """The port of a Connect address (`sc://host:port/;params`)."""
    return int(url.removeprefix("sc://").split("/")[0].rsplit(":", 1)[1])


def assert_refused_without_its_token(url: str) -> None:
    """A raw Spark Connect client at `url`'s port, without a token or with a wrong one,
    is refused before it runs anything."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    assert ";token=" in url and ";token=" not in shown(url)
    port = port_of(url)
    spark_mode.set_thread(remote=True)
    for stranger in (f"sc://127.0.0.1:{port}", f"sc://localhost:{port}/;token=guessed"):
        session = ConnectSession.builder.remote(stranger).create()
        try:
            with pytest.raises(Exception, match=r"UNAUTHENTICATED|[Aa]uthenticat"):
                session.range(1).count()
        finally:  # now, while its server answers: at exit the client would retry for long
            with contextlib.suppress(Exception):
                session.stop()


def test_no_connect_endpoint_podium_starts_answers_without_its_token(run_job,
                                                                      executor) -> None:
    take_classic_driver(run_job)
    run = run_job(ONE_CORE + "      tasks:\n        - {task_key: t, job_cluster_key: one_core, "
                  "notebook_task: {notebook_path: short.py}}\n", files={"short.py": SHORT})
    assert run.task_runs["t"].exit_value == "100:connect", run.task_runs["t"].error
    server = executor.clusters.slots["j:one_core"].cluster
    driver = next(slot.cluster for slot in executor.clusters.slots.values()
                  if slot.cluster.kind == "classic" and slot.state == "READY")
    for cluster in (server, driver):
        assert_refused_without_its_token(cluster.connect_url)


def test_timeout_on_a_connect_cluster_interrupts_its_job(run_job, executor) -> None:
    # The session's classic driver is taken, so this differently configured cluster runs
    # as a Spark Connect server; with one core, `after` only runs if `long` was stopped.
    take_classic_driver(run_job)
    run = run_job(ONE_CORE + "      tasks:\n"
                  "        - {task_key: long, job_cluster_key: one_core, timeout_seconds: 5,\n"
                  "           notebook_task: {notebook_path: long.py}}\n"
                  "        - {task_key: after, depends_on: [{task_key: long}], run_if: ALL_DONE,"
                  " job_cluster_key: one_core, timeout_seconds: 60,\n"
                  "           notebook_task: {notebook_path: short.py}}\n",
                  files={"long.py": LONG, "short.py": SHORT})
    assert executor.clusters.slots["j:one_core"].cluster.kind == "connect"
    assert run.task_runs["long"].result is Result.TIMEDOUT
    assert run.task_runs["after"].result is Result.SUCCESS, run.task_runs["after"].error
    assert run.task_runs["after"].exit_value == "100:connect"
    ids = {tr.spark_context_id for tr in run.task_runs.values()}
    assert len(ids) == 1 and None not in ids


def test_a_pipeline_tasks_timeout_on_a_connect_cluster_stops_its_flows(
        run_job, executor, write_bundle) -> None:
    # `after` needs the one core that the update's flow would hold for minutes; `quick`'s
    # update runs first, so Spark has a flow thread of an earlier update to reuse
    take_classic_driver(run_job)
    root = write_bundle("bundle: {name: slow}\nresources:\n  pipelines:\n    slow:\n"
                        "      {name: slow, libraries: [{file: {path: ./slow.sql}}]}\n"
                        "    quick: {libraries: [{file: {path: ./quick.sql}}]}\n"
                        "  jobs:\n    j:\n" + ONE_CORE + """      tasks:
        - {task_key: quick, job_cluster_key: one_core, pipeline_task: {pipeline_id: quick}}
        - {task_key: refresh, depends_on: [{task_key: quick}], job_cluster_key: one_core,
           timeout_seconds: 10, pipeline_task: {pipeline_id: slow}}
        - {task_key: after, depends_on: [{task_key: refresh}], run_if: ALL_DONE,
           job_cluster_key: one_core, timeout_seconds: 60,
           notebook_task: {notebook_path: short.py}}
""", {"slow.sql": f"CREATE MATERIALIZED VIEW big AS {ENDLESS_SQL}", "short.py": SHORT,
      "quick.sql": "CREATE MATERIALIZED VIEW one AS SELECT 1 AS id"})
    bundle = load_bundle(root)
    run = Run("j", bundle.jobs["j"], root, {}, bundle.clusters)
    executor.submit(run)
    executor.run_until_done([run])
    assert executor.clusters.slots["j:one_core"].cluster.kind == "connect"
    assert run.task_runs["quick"].result is Result.SUCCESS, run.task_runs["quick"].error
    assert run.task_runs["refresh"].result is Result.TIMEDOUT, run.task_runs["refresh"].error
    assert run.task_runs["after"].result is Result.SUCCESS, run.task_runs["after"].error


def test_jobs_a_stopped_tasks_session_starts_late_are_killed_through_the_spark_ui(
        run_job) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from podium.compute import spark_status

    take_classic_driver(run_job)
    cluster = ConnectCluster("late", ClusterSpec.model_validate(
        {"spark_conf": {"spark.master": "local[1]", "spark.podium.flavour": "late"}}))
    cluster.start()
    try:
        session = cluster.connect_session("stopped-task")
        marker = f"_Session_{session.session_id}_"
        with ThreadPoolExecutor(1) as pool:  # a job that would hold the slot for days
            late = pool.submit(lambda: session.sql(ENDLESS_SQL).collect())
            deadline = time.monotonic() + 60
            while not spark_status.kill_running(cluster.ui_url, cluster.application_id,
                                                marker):
                assert time.monotonic() < deadline and not late.done()
                time.sleep(0.3)
            try:
                late.result(timeout=30)
                raise AssertionError("the job was not killed")
            except Exception as exc:  # the client sees its job cancelled
                assert "cancel" in str(exc).lower(), exc
        assert spark_status.kill_running(cluster.ui_url, cluster.application_id,
                                         "_Session_nobody_") == 0
    finally:
        cluster.stop()


def test_a_server_that_cannot_start_fails_its_tasks_with_the_reason(run_job) -> None:
    take_classic_driver(run_job)
    cluster = ("      job_clusters:\n        - job_cluster_key: broken\n          new_cluster:"
               " {spark_conf: {spark.master: 'nonsense://nowhere'}}\n")
    started = time.monotonic()
    run = run_job(cluster + "      tasks:\n        - {task_key: t, job_cluster_key: broken, "
                  "notebook_task: {notebook_path: short.py}}\n", files={"short.py": SHORT})
    tr = run.task_runs["t"]
    assert tr.result is Result.FAILED
    assert tr.error.startswith("cluster 'j:broken': the Spark Connect server exited with code")
    assert "Master must either be yarn or start with spark, k8s, or local" in tr.error
    assert time.monotonic() - started < 120


def test_attaching_to_an_existing_server_which_podium_never_stops(run_job) -> None:
    server = ConnectCluster("external", ClusterSpec.model_validate(
        {"spark_conf": {"spark.master": "local[1]", "spark.podium.flavour": "external"}}))
    server.start()
    try:
        cluster = ("      job_clusters:\n        - job_cluster_key: ext\n          new_cluster:"
                   f" {{spark_conf: {{spark.remote: '{server.url}'}}}}\n")
        run = run_job(cluster + "      tasks:\n        - {task_key: t, job_cluster_key: ext, "
                      "notebook_task: {notebook_path: short.py}}\n", files={"short.py": SHORT})
        tr = run.task_runs["t"]
        assert tr.result is Result.SUCCESS, tr.error
        assert tr.exit_value == "100:external"
        assert tr.spark_context_id == server.application_id
        # Progress on Spark Connect comes from the server's monitoring API, by task tag.
        jobs, active, done, total = server.progress(tr.tags[0])
        assert jobs >= 1 and active == 0 and done == total > 0
        with socket.create_connection(("127.0.0.1", port_of(server.url)), timeout=5):
            pass  # still listening after the run
    finally:
        server.stop()


MIXED = """# Databricks notebook source
from multiprocessing.pool import ThreadPool
from pyspark.sql import functions as F

def total(n):
    return spark.range(n).select(F.sum(F.col("id")).alias("s")).first()["s"]

sums = ThreadPool(2).map(total, [10, 100])
kind = "connect" if spark.conf.get("spark.podium.flavour", "none") == "connect" else "classic"
dbutils.notebook.exit(f"{kind}:{sums[0]}:{sums[1]}")
"""


def test_classic_and_connect_tasks_alternate_in_one_process(run_job) -> None:
    take_classic_driver(run_job)
    cluster = ("      job_clusters:\n"
               "        - {job_cluster_key: main, new_cluster: {spark_conf: "
               "{spark.master: 'local[2]', spark.ui.enabled: 'false'}}}\n"
               "        - {job_cluster_key: other, new_cluster: {spark_conf: "
               "{spark.master: 'local[1]', spark.podium.flavour: connect}}}\n")
    chain = ["other", "main", "other", "main"]
    tasks = "".join(
        f"        - {{task_key: t{i}, job_cluster_key: {c}, "
        + (f"depends_on: [{{task_key: t{i - 1}}}], " if i else "")
        + "notebook_task: {notebook_path: mixed.py}}\n" for i, c in enumerate(chain))
    run = run_job(cluster + "      tasks:\n" + tasks, files={"mixed.py": MIXED})
    assert [run.task_runs[f"t{i}"].exit_value for i in range(4)] == [
        "connect:45:4950", "classic:45:4950", "connect:45:4950", "classic:45:4950"], \
        {k: t.error for k, t in run.task_runs.items()}


MERGE_API = """# Databricks notebook source
import json
from delta.tables import DeltaTable
from pyspark.sql import functions as F
table = DeltaTable.forName(spark, "crm_sc.customers")
changes = spark.createDataFrame([(3, "cy", "diamond"), (4, "dee", "bronze")],
                                "id INT, name STRING, tier STRING")
(table.alias("t").merge(changes.alias("s"), "t.id = s.id")
 .whenMatchedUpdate(set={"tier": F.col("s.tier")})
 .whenNotMatchedInsertAll()
 .execute())
table.delete(F.expr("id = 2"))
dbutils.notebook.exit(json.dumps(sorted((r.id, r.tier) for r in table.toDF().collect())))
"""


def test_delta_sql_and_delta_table_calls_run_on_a_connect_cluster(run_job, executor) -> None:
    from tests.compute.test_delta import ETL

    take_classic_driver(run_job)
    run = run_job(ONE_CORE + "      tasks:\n        - {task_key: etl, job_cluster_key: one_core, "
                  "notebook_task: {notebook_path: etl.py, base_parameters: {schema: crm_sc}}}\n"
                  "        - {task_key: api, job_cluster_key: one_core, depends_on: "
                  "[{task_key: etl}], notebook_task: {notebook_path: api.py}}\n",
                  files={"etl.py": ETL, "api.py": MERGE_API})
    assert executor.clusters.slots["j:one_core"].cluster.kind == "connect"
    tr = run.task_runs["etl"]
    assert tr.result is Result.SUCCESS, tr.error
    done = json.loads(tr.exit_value)
    assert done["format"] == "delta" and done["above"] == 3
    assert done["history"] == ["OPTIMIZE", "WRITE", "UPDATE", "MERGE", "WRITE", "CREATE TABLE"]
    assert done["now"] == {"1": "platinum", "2": "silver", "3": "gold", "4": "bronze"}
    api = run.task_runs["api"]
    assert api.result is Result.SUCCESS, api.error
    assert json.loads(api.exit_value) == [[1, "platinum"], [3, "diamond"], [4, "bronze"]]
