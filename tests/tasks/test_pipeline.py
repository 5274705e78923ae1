"""A `pipeline_task` runs the bundle's pipeline on Spark Declarative Pipelines, on the
job's cluster: `from pyspark import pipelines as dp` files, SQL files and `import dlt`
files together, with the pipeline's catalog, schema and configuration."""

from __future__ import annotations

import json
import time

from podium.engine.model import Run
from podium.spec import load_bundle
from tests.conftest import ENDLESS_SQL, TEST_CONF

BUNDLE = """
bundle: {name: pipes}
resources:
  pipelines:
    etl:
      name: taxi_etl
      catalog: main
      schema: pipes
      configuration: {taxi.min_fare: "5"}
      libraries:
        - glob: {include: ./transformations/**}
        - file: {path: ./legacy/short_trips.py}
    elsewhere:
      catalog: nowhere
      schema: pipes
      libraries: [{file: {path: ./transformations/trips.py}}]
  jobs:
    j:
      job_clusters:
        - job_cluster_key: main
          new_cluster: {spark_conf: SPARK_CONF}
      tasks:
        - task_key: refresh
          job_cluster_key: main
          pipeline_task: {pipeline_id: "${resources.pipelines.etl.id}", full_refresh: true}
        - task_key: check
          depends_on: [{task_key: refresh}]
          job_cluster_key: main
          notebook_task: {notebook_path: ./check.py}
        - task_key: missing
          job_cluster_key: main
          pipeline_task: {pipeline_id: no_such_pipeline}
        - task_key: no_catalog
          job_cluster_key: main
          pipeline_task: {pipeline_id: elsewhere}
""".replace("SPARK_CONF", json.dumps(TEST_CONF))

TRIPS = """from pyspark import pipelines as dp

@dp.table(comment="trips with a fare worth counting")
def trips():
    low = float(spark.conf.get("taxi.min_fare"))
    return spark.read.table("samples.nyctaxi.trips").where(f"fare_amount >= {low}")
"""

ZONES = """CREATE MATERIALIZED VIEW zones AS
SELECT pickup_zip, count(*) AS trips, sum(fare_amount) AS total_fare
FROM trips GROUP BY pickup_zip
"""

SHORT = """import dlt

@dlt.table(name="short_trips")
@dlt.expect_or_drop("short", "trip_distance < 2")
def short():
    return dlt.read("trips")
"""

CHECK = """# Databricks notebook source
import json
import time
t = spark.table("main.pipes.trips")
dbutils.notebook.exit(json.dumps({
    "trips": t.count(), "cheapest": t.selectExpr("min(fare_amount)").first()[0],
    "zoned": spark.table("main.pipes.zones").selectExpr("sum(trips)").first()[0],
    "short_max": spark.table("main.pipes.short_trips").selectExpr("max(trip_distance)").first()[0],
    "short": spark.table("main.pipes.short_trips").count(),
}))
"""


def test_a_pipeline_task_runs_python_sql_and_dlt_sources_on_the_jobs_cluster(
        executor, write_bundle) -> None:
    root = write_bundle(BUNDLE, {"transformations/trips.py": TRIPS,
                                 "transformations/sql/zones.sql": ZONES,
                                 "legacy/short_trips.py": SHORT, "check.py": CHECK})
    bundle = load_bundle(root)
    assert any("pipeline 'no_such_pipeline' is not a pipeline of this bundle" in w.message
               for w in bundle.warnings)
    run = Run("j", bundle.jobs["j"], root, {}, bundle.clusters)
    executor.submit(run)
    executor.run_until_done([run])
    tasks = run.task_runs
    assert tasks["refresh"].result.value == "SUCCESS", tasks["refresh"].error
    assert tasks["check"].result.value == "SUCCESS", tasks["check"].error
    seen = json.loads(tasks["check"].exit_value)
    assert seen["cheapest"] >= 5 and 0 < seen["trips"] < 21932
    assert seen["zoned"] == seen["trips"]
    assert seen["short_max"] < 2 and 0 < seen["short"] < seen["trips"]
    assert tasks["missing"].result.value == "FAILED"
    assert "no_such_pipeline" in tasks["missing"].error
    # A pipeline's catalog is one of the catalogs notebooks see: a missing one is missing.
    assert tasks["no_catalog"].result.value == "FAILED"
    assert "[CATALOG_NOT_FOUND] The catalog `nowhere` not found" in tasks["no_catalog"].error
    log = (tasks["refresh"].attempts[-1].log_path).read_text()
    assert "Pipeline 'taxi_etl': 3 source files" in log and "COMPLETED" in log.upper()
    from podium.runtime import dlt

    assert dlt.spark is None  # `import dlt` keeps no task's session alive after it


def test_a_released_connect_session_leaves_its_finalizer_nothing_to_close(
        executor, write_bundle) -> None:
    """PySpark's finalizer closes a Connect session's gRPC channel again, taking the
    channel's lock in whichever thread drops the last reference (a task's, in the middle
    of its work, which has deadlocked). A session podium released is closed once, then
    its finalizer has nothing left to close."""
    root = write_bundle(f"""
bundle: {{name: finalizer}}
resources:
  jobs:
    j:
      job_clusters:
        - {{job_cluster_key: main, new_cluster: {{spark_conf: {json.dumps(TEST_CONF)}}}}}
      tasks:
        - {{task_key: t, job_cluster_key: main, notebook_task: {{notebook_path: ./nb.py}}}}
""", {"nb.py": "# Databricks notebook source\nspark.range(1).count()\n"})
    run = Run("j", load_bundle(root).jobs["j"], root, {}, {})
    executor.submit(run)
    executor.run_until_done([run])  # the job's cluster is up, as the session's one
    cluster = executor.clusters.slots["j:main"].cluster
    session = cluster.connect_session("released")
    cluster.release_connect("released", session)
    closes: list[int] = []
    session.client._channel.close = lambda: closes.append(1)  # watch the channel
    session.__del__()  # what the garbage collector runs, in whatever thread
    assert session.client.is_closed and closes == []



def one_pipeline(name: str, schema: str, tasks: str) -> str:
    """A bundle with pipeline `name` (its source `./<name>.sql`) and job `j` of `tasks` on
    the session's cluster."""
    return f"""
bundle: {{name: {name}}}
resources:
  pipelines:
    {name}: {{name: {name}, catalog: main, schema: {schema},
             libraries: [{{file: {{path: ./{name}.sql}}}}]}}
  jobs:
    j:
      job_clusters:
        - job_cluster_key: main
          new_cluster: {{spark_conf: {json.dumps(TEST_CONF)}}}
      tasks:
{tasks}"""


def run_bundle(executor, root) -> Run:
    """Run the bundle's job `j` to its end on the session's executor."""
    bundle = load_bundle(root)
    run = Run("j", bundle.jobs["j"], root, {}, bundle.clusters)
    executor.submit(run)
    executor.run_until_done([run])
    return run


LEGACY = """-- Delta Live Tables' older spelling, as many published pipelines still have it
CREATE OR REFRESH STREAMING LIVE TABLE orders
AS SELECT * FROM cloud_files('/databricks-datasets/retail-org/sales_orders', 'json',
                             map('cloudFiles.inferColumnTypes', 'true'));

CREATE LIVE TABLE customers AS
SELECT customer_id, count(*) AS orders FROM LIVE.orders GROUP BY customer_id;

CREATE OR REFRESH LIVE TABLE busiest AS
SELECT max(orders) AS most FROM live.customers;
"""


def test_older_delta_live_tables_sql_runs_as_it_is(executor, write_bundle) -> None:
    root = write_bundle(one_pipeline("legacy", "legacy_dlt", """
        - task_key: refresh
          job_cluster_key: main
          timeout_seconds: 240
          pipeline_task: {pipeline_id: legacy}
        - task_key: check
          depends_on: [{task_key: refresh}]
          job_cluster_key: main
          notebook_task: {notebook_path: ./check.py}
"""), {"legacy.sql": LEGACY, "check.py": """# Databricks notebook source
import json
dbutils.notebook.exit(json.dumps([
    spark.table("main.legacy_dlt.orders").count(),
    spark.table("main.legacy_dlt.customers").agg({"orders": "sum"}).first()[0],
    spark.table("main.legacy_dlt.busiest").first().most]))
"""})
    tasks = run_bundle(executor, root).task_runs
    assert tasks["refresh"].result.value == "SUCCESS", tasks["refresh"].error
    orders, summed, most = json.loads(tasks["check"].exit_value)
    assert orders == summed == 4000 and most > 1


def test_a_pipeline_tasks_timeout_stops_the_update_and_its_spark_jobs(
        executor, write_bundle) -> None:
    """The timed-out update's flow ends with it, though an earlier update's flow ran on
    the same cluster a moment before (Spark reuses the threads of that one's flows), and
    the cluster's next update runs at once."""
    root = write_bundle(f"""
bundle: {{name: slow}}
resources:
  pipelines:
    quick: {{catalog: main, schema: pipes_quick, libraries: [{{file: {{path: ./quick.sql}}}}]}}
    slow: {{catalog: main, schema: pipes_slow, libraries: [{{file: {{path: ./slow.sql}}}}]}}
  jobs:
    j:
      job_clusters:
        - job_cluster_key: main
          new_cluster: {{spark_conf: {json.dumps(TEST_CONF)}}}
      tasks:
        - {{task_key: quick, job_cluster_key: main, pipeline_task: {{pipeline_id: quick}}}}
        - task_key: refresh
          depends_on: [{{task_key: quick}}]
          job_cluster_key: main
          timeout_seconds: 15
          pipeline_task: {{pipeline_id: slow}}
        - task_key: again
          depends_on: [{{task_key: refresh}}]
          run_if: ALL_DONE
          job_cluster_key: main
          timeout_seconds: 60
          pipeline_task: {{pipeline_id: quick}}
""", {"quick.sql": "CREATE MATERIALIZED VIEW one AS SELECT 1 AS id",
      "slow.sql": f"CREATE MATERIALIZED VIEW endless AS {ENDLESS_SQL}"})
    began = time.monotonic()
    run = run_bundle(executor, root)
    took = time.monotonic() - began
    assert run.task_runs["quick"].result.value == "SUCCESS", run.task_runs["quick"].error
    refresh = run.task_runs["refresh"]
    assert refresh.result.value == "TIMEDOUT", refresh.error
    again = run.task_runs["again"]
    assert again.result.value == "SUCCESS", again.error
    assert took < 75, took  # the flow alone would run for days
    context = executor.clusters.slots["j:main"].cluster.root.sparkContext
    deadline = time.monotonic() + 20
    while context.statusTracker().getActiveJobsIds():  # the flow's jobs end too
        assert time.monotonic() < deadline, "the update's Spark jobs still run"
        time.sleep(0.5)
