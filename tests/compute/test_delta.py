"""Tables are Delta tables, as on Databricks: ETL code with MERGE, DeltaTable, history and
time travel runs unchanged, across runs and processes, and concurrent writers stay safe.
In-process runs use the session's cluster spec (CLUSTER), so they share its classic
driver with the other tests."""

from __future__ import annotations

import json
from pathlib import Path

from podium.compute.catalog import data_format
from podium.compute.cluster_conf import spark_conf
from podium.spec.models import ClusterSpec
from tests.cli.test_runs import cli
from tests.compute.test_tables import bundle, exit_value
from tests.conftest import CLUSTER

ETL = """# Databricks notebook source
from delta.tables import DeltaTable
import json
dbutils.widgets.text("schema", "crm")
schema = dbutils.widgets.get("schema")

spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
spark.sql(f"USE {schema}")
spark.sql("CREATE TABLE customers (id INT, name STRING, tier STRING)")

# COMMAND ----------
spark.sql("INSERT INTO customers VALUES (1, 'ada', 'bronze'), (2, 'bob', 'bronze')")
updates = spark.createDataFrame([(2, "bob", "silver"), (3, "cy", "gold")],
                                "id INT, name STRING, tier STRING")
updates.createOrReplaceTempView("updates")
spark.sql('''
  MERGE INTO customers AS t USING updates AS s ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET *
  WHEN NOT MATCHED THEN INSERT *''')

# COMMAND ----------
DeltaTable.forName(spark, "customers").update(
    condition="id = 1", set={"tier": "'platinum'"})
spark.sql("INSERT INTO customers VALUES (4, 'dee', 'bronze')")  # a second file at least
spark.sql("OPTIMIZE customers")
history = [r.operation for r in spark.sql("DESCRIBE HISTORY customers").collect()]
first = spark.sql("SELECT count(*) AS n FROM customers VERSION AS OF 0").first().n
now = {r.id: r.tier for r in spark.table("customers").collect()}
fmt = spark.sql("DESCRIBE DETAIL customers").first().format
# Named parameters, also in IDENTIFIER (Delta's parser alone would drop them).
above = spark.sql("SELECT count(*) AS n FROM IDENTIFIER(:t) WHERE id > :min",
                  args={"t": "customers", "min": 1}).first().n
dbutils.notebook.exit(json.dumps({"history": history, "v0": first, "now": now, "format": fmt,
                                  "above": above}))
"""

READ_BACK = """# Databricks notebook source
import json
from delta.tables import DeltaTable
table = DeltaTable.forName(spark, "crm.customers")
ops = [r.operation for r in table.history().collect()]
rows = sorted((r.id, r.tier) for r in table.toDF().collect())
before_merge = spark.read.option("versionAsOf", 1).table("crm.customers").count()
dbutils.notebook.exit(json.dumps({"ops": ops, "rows": rows, "v1": before_merge}))
"""


def test_an_etl_notebook_as_databricks_users_write_it_runs_unchanged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    etl = bundle(tmp_path / "etl", "etl", "load", ETL, {})
    done = json.loads(exit_value(cli("run", "load", "--bundle", str(etl), "--json",
                                     home=home)))
    assert done["format"] == "delta" and done["above"] == 3
    assert done["history"] == ["OPTIMIZE", "WRITE", "UPDATE", "MERGE", "WRITE", "CREATE TABLE"]
    assert done["v0"] == 0
    assert done["now"] == {"1": "platinum", "2": "silver", "3": "gold", "4": "bronze"}
    assert data_format(home / "warehouse" / "crm.db" / "customers") == "delta"

    # A second process finds the table as Delta, with its history and old versions.
    reader = bundle(tmp_path / "read", "reader", "read", READ_BACK, {})
    seen = json.loads(exit_value(cli("run", "read", "--bundle", str(reader), "--json",
                                     home=home)))
    assert seen["ops"] == ["OPTIMIZE", "WRITE", "UPDATE", "MERGE", "WRITE", "CREATE TABLE"]
    assert seen["rows"] == [[1, "platinum"], [2, "silver"], [3, "gold"], [4, "bronze"]]
    assert seen["v1"] == 2


APPEND = """# Databricks notebook source
dbutils.widgets.text("part", "")
part = int(dbutils.widgets.get("part"))
(spark.range(part * 1000, part * 1000 + 1000).selectExpr("id", f"{part} AS part")
 .write.mode("append").saveAsTable("events"))
"""

MERGE = """# Databricks notebook source
dbutils.widgets.text("part", "")
part = int(dbutils.widgets.get("part"))
spark.range(0, 100).selectExpr("id", f"{part} AS writer").createOrReplaceTempView("src")
spark.sql('''MERGE INTO counters t USING src s ON t.id = s.id
             WHEN MATCHED THEN UPDATE SET t.writer = s.writer
             WHEN NOT MATCHED THEN INSERT *''')
"""

FOR_EACH = CLUSTER.replace("{", "{{").replace("}", "}}") + """
      tasks:
        - task_key: make
          job_cluster_key: main
          sql_task: {{file: {{path: make.sql}}}}
        - task_key: write
          depends_on: [{{task_key: make}}]
          for_each_task:
            inputs: "[1, 2, 3, 4]"
            concurrency: 4
            task:
              task_key: write_one
              job_cluster_key: main
              notebook_task:
                notebook_path: {notebook}
                base_parameters: {{part: "{{{{input}}}}"}}
"""


def query(run_job, sql: str) -> dict:
    """The first row of `sql`, read by a task of a new run."""
    run = run_job(CLUSTER + """
      tasks:
        - task_key: check
          job_cluster_key: main
          notebook_task: {notebook_path: check.py}
""", {"check.py": "# Databricks notebook source\nimport json\n"
                  f"row = spark.sql({sql!r}).first().asDict()\n"
                  "dbutils.notebook.exit(json.dumps(row, default=str))\n"})
    assert run.result.value == "SUCCESS", run.message
    return json.loads(run.task_runs["check"].exit_value)


def test_concurrent_appends_to_one_delta_table_keep_every_row(run_job) -> None:
    run = run_job(FOR_EACH.format(notebook="append.py"), {
        "append.py": APPEND, "make.sql": "CREATE OR REPLACE TABLE events (id BIGINT, part INT)"})
    assert run.result.value == "SUCCESS", run.message
    assert query(run_job, "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events") == \
        {"n": 4000, "ids": 4000}


def test_concurrent_merges_conflict_or_succeed_and_never_break_the_log(run_job) -> None:
    run = run_job(FOR_EACH.format(notebook="merge.py"), {
        "merge.py": MERGE, "make.sql": "CREATE OR REPLACE TABLE counters (id BIGINT, writer INT)"})
    iterations = run.task_runs["write"].iterations
    won = [it for it in iterations if it.result.value == "SUCCESS"]
    lost = [it for it in iterations if it.result.value != "SUCCESS"]
    assert won, f"at least one MERGE commits; errors: {[it.error for it in lost]}"
    for it in lost:  # Delta's own optimistic-concurrency errors, nothing else
        assert "Concurrent" in it.error or "DELTA_CONCURRENT" in it.error, it.error
    assert query(run_job, "SELECT count(*) AS n, count(DISTINCT id) AS ids, "
                          "min(writer) = max(writer) AS one_writer FROM counters") == \
        {"n": 100, "ids": 100, "one_writer": True}
    location = query(run_job, "DESCRIBE DETAIL counters")["location"]
    log = Path(location.removeprefix("file:")) / "_delta_log"
    versions = sorted(int(p.stem) for p in log.glob("*.json"))
    assert versions == list(range(len(versions)))  # no gap, no torn commit
    assert len(versions) == 1 + len(won)


CREATE_OWN = """# Databricks notebook source
dbutils.widgets.text("part", "")
spark.range(50000).write.mode("overwrite").saveAsTable(f"own_{dbutils.widgets.get('part')}")
"""


def test_tasks_creating_tables_at_once_are_not_disturbed_by_each_others_sync(run_job) -> None:
    # Each task's session start syncs the catalog while the others' first Delta commits are
    # being written: a half-written table must not be registered under its writer's feet.
    run = run_job(FOR_EACH.format(notebook="create.py"),
                  {"create.py": CREATE_OWN, "make.sql": "SELECT 1"})
    assert run.result.value == "SUCCESS", [it.error for it in run.task_runs["write"].iterations]


def test_delta_rebuilds_a_tables_state_in_as_many_tasks_as_the_cluster_has_cores(
        run_job) -> None:
    # Delta's default (50 tasks, for big clusters) made small tables' first reads 3x slower.
    assert query(run_job, "SET spark.databricks.delta.snapshotPartitions")["value"] == "2"
    own = ClusterSpec(spark_conf={"spark.master": "local[4]",
                                  "spark.databricks.delta.snapshotPartitions": "8"})
    assert "spark.databricks.delta.snapshotPartitions" not in spark_conf(own)
    assert spark_conf(ClusterSpec(spark_conf={"spark.master": "local[3]"}))[
        "spark.databricks.delta.snapshotPartitions"] == "3"
