"""Tasks on the embedded cluster: one application, isolated sessions, the seed examples."""

from __future__ import annotations

from podium.engine.states import Result
from podium.spec import load_bundle
from tests.conftest import EXAMPLES
from tests.engine.conftest import CLUSTER, on_session_cluster

TEMP_VIEW = """# Databricks notebook source
dbutils.widgets.text("label", "")
label = dbutils.widgets.get("label")
spark.createDataFrame([(label,)], "label string").createOrReplaceTempView("mine")
spark.conf.set("spark.sql.shuffle.partitions", "3" if label == "a" else "5")
import time; time.sleep(1)
seen = spark.sql("SELECT label FROM mine").first()[0]
assert seen == label, (seen, label)
dbutils.notebook.exit(seen + ":" + spark.conf.get("spark.sql.shuffle.partitions"))
"""


def test_concurrent_tasks_see_their_own_temp_views_and_conf(run_job) -> None:
    task = ("        - {task_key: %s, job_cluster_key: main, notebook_task: "
            "{notebook_path: view.py, base_parameters: {label: %s}}}\n")
    run = run_job(CLUSTER + "      tasks:\n" + task % ("a", "a") + task % ("b", "b"),
                  files={"view.py": TEMP_VIEW})
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}
    assert run.task_runs["a"].exit_value == "a:3"
    assert run.task_runs["b"].exit_value == "b:5"
    assert run.task_runs["a"].spark_context_id == run.task_runs["b"].spark_context_id


def test_failing_cell_is_reported_with_cell_and_line(run_job) -> None:
    notebook = ("# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n"
                "y = 2\nraise ValueError('bad row count')\n")
    run = run_job(CLUSTER + "      tasks:\n        - {task_key: nb, job_cluster_key: main, "
                  "notebook_task: {notebook_path: bad.py}}\n", files={"bad.py": notebook})
    tr = run.task_runs["nb"]
    assert tr.result is Result.FAILED
    assert tr.error == "CellError: bad.py: cell 2, line 7: ValueError: bad row count"
    assert 'bad.py", line 7' in tr.attempts[0].log_path.read_text()


def test_sql_and_python_file_tasks_with_parameters(run_job) -> None:
    files = {"q.sql": "CREATE DATABASE IF NOT EXISTS t_sql;\n"
                      "SELECT :n * 2 AS doubled, 'a;b' AS s -- not a ; split\n",
             "main.py": "import sys\nfrom pyspark.sql import SparkSession\n"
                        "spark = SparkSession.builder.getOrCreate()\n"
                        "print('args', sys.argv[1:], spark.range(int(sys.argv[1])).count())\n"}
    run = run_job(CLUSTER + "      tasks:\n"
                  "        - {task_key: q, job_cluster_key: main, sql_task: {file: {path: q.sql},"
                  " parameters: {n: '21'}}}\n"
                  "        - {task_key: p, job_cluster_key: main, spark_python_task: "
                  "{python_file: main.py, parameters: ['7', '{{job.run_id}}']}}\n", files=files)
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}
    assert "42" in run.task_runs["q"].attempts[0].log_path.read_text()
    assert f"args ['7', '{run.run_id}'] 7" in run.task_runs["p"].attempts[0].log_path.read_text()


def test_seed001_many_tables_share_one_application(executor) -> None:
    from podium.engine.model import Run

    bundle = load_bundle(EXAMPLES / "seed001_many_tables", variables={"rows": "2000"})
    run = Run("many_tables", on_session_cluster(bundle.jobs["many_tables"]), bundle.root,
              {}, bundle.clusters)
    executor.submit(run)
    executor.run_until_done([run])
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}
    apps = {tr.spark_context_id for tr in run.task_runs.values()}
    assert len(apps) == 1 and None not in apps
    assert run.values.values["table_08"]["rows"] == 2000


def test_seed003_master_notebook_fans_out_children(executor) -> None:
    from podium.engine.model import Run

    bundle = load_bundle(EXAMPLES / "seed003_master_notebook")
    run = Run("master", on_session_cluster(bundle.jobs["master"]), bundle.root, {},
              bundle.clusters)
    executor.submit(run)
    executor.run_until_done([run])
    tr = run.task_runs["master"]
    assert run.result is Result.SUCCESS, tr.error
    assert tr.exit_value == ",".join(f"part-{i}:{i * 10}" for i in range(8))
    assert len(tr.ctx.children) == 8
    assert all(c.result == "SUCCESS" for c in tr.ctx.children)
    # each child notebook logs to a file of its own beside its parent's
    assert len({c.log_path for c in tr.ctx.children}) == 8
    assert all(c.log_path.parent == tr.attempts[-1].log_path.parent for c in tr.ctx.children)


def test_notebook_with_run_magic_sql_cell_and_ipynb_child(run_job) -> None:
    files = {
        "main.py": "# Databricks notebook source\n# MAGIC %run ./helpers\n\n"
                   "# COMMAND ----------\n\n"
                   "dbutils.widgets.text('n', '1')\n"
                   "spark.range(int(dbutils.widgets.get('n'))).createOrReplaceTempView('nums')\n\n"
                   "# COMMAND ----------\n\n"
                   "# MAGIC %sql\n# MAGIC SELECT count(*) AS c, :n AS n FROM nums\n\n"
                   "# COMMAND ----------\n\n"
                   "dbutils.notebook.exit(double(spark.table('nums').count()) + ':' +\n"
                   "                      dbutils.notebook.run('child', 60, {'v': 'x'}))\n",
        "helpers.py": "# Databricks notebook source\ndef double(n):\n    return str(2 * n)\n",
        "child.ipynb": '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ['
                       '{"cell_type": "code", "metadata": {}, "outputs": [], '
                       '"execution_count": null, "source": '
                       '"dbutils.notebook.exit(dbutils.widgets.get(\'v\') * 3)"}]}',
    }
    run = run_job(CLUSTER + "      tasks:\n        - {task_key: nb, job_cluster_key: main, "
                  "notebook_task: {notebook_path: main.py, base_parameters: {n: '21'}}}\n",
                  files=files)
    tr = run.task_runs["nb"]
    assert tr.result is Result.SUCCESS, tr.error
    assert tr.exit_value == "42:xxx"
    log = tr.attempts[0].log_path.read_text()
    assert "| 21|" in log.replace(" ", "").replace("|21|21|", "| 21|")


def test_python_wheel_task_calls_an_installed_entry_point(run_job) -> None:
    run = run_job(CLUSTER + "      tasks:\n        - {task_key: w, job_cluster_key: main, "
                  "python_wheel_task: "
                  "{package_name: pip, entry_point: pip, parameters: ['--version']}}\n")
    tr = run.task_runs["w"]
    assert tr.result is Result.SUCCESS, tr.error
    assert tr.attempts[0].log_path.read_text().startswith("pip ")


GET_OR_CREATE = """import sys
from pyspark.sql import SparkSession
label = sys.argv[1]
spark = SparkSession.builder.config("spark.sql.shuffle.partitions", sys.argv[2]).getOrCreate()
spark.createDataFrame([(label,)], "label string").createOrReplaceTempView("mine")
import time; time.sleep(1)
assert spark.sql("SELECT label FROM mine").first()[0] == label
assert spark.conf.get("spark.sql.shuffle.partitions") == sys.argv[2]
assert SparkSession.builder.getOrCreate() is spark
print("own session", label)
"""


def test_get_or_create_in_task_code_returns_the_tasks_own_session(run_job) -> None:
    task = ("        - {task_key: %s, job_cluster_key: main, spark_python_task: "
            "{python_file: own.py, parameters: ['%s', '%s']}}\n")
    run = run_job(CLUSTER + "      tasks:\n" + task % ("a", "a", "3") + task % ("b", "b", "7"),
                  files={"own.py": GET_OR_CREATE})
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}


def test_task_sessions_are_their_own_without_looking_up_pysparks_classes_again(
        run_job, executor) -> None:
    """A task's `newSession()` reuses the JVM session class PySpark looked up once per
    JVM (three Py4J round trips fewer per task); sessions stay the tasks' own."""
    from pyspark.sql import SparkSession

    views = ("# Databricks notebook source\n"
             "spark.range(1).createOrReplaceTempView('mine_%s')\n"
             "assert [t.name for t in spark.catalog.listTables() if t.isTemporary] == "
             "['mine_%s']\n")
    task = ("        - {task_key: %s, job_cluster_key: main, "
            "notebook_task: {notebook_path: %s.py}}\n")
    run = run_job(CLUSTER + "      tasks:\n" + task % ("a", "a") + task % ("b", "b"),
                  files={"a.py": views % ("a", "a"), "b.py": views % ("b", "b")})
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}
    jvm = executor.clusters.slots["j:main"].cluster.root._jvm
    looked_up = SparkSession._get_j_spark_session_class(jvm)
    assert looked_up is SparkSession._get_j_spark_session_class(jvm)
    assert looked_up._fqn == "org.apache.spark.sql.classic.SparkSession"
