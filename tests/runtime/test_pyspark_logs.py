"""PySpark's own lines about a failed query are plain text in the task's log, not JSON
objects carrying the whole Java stack."""

from __future__ import annotations

from tests.conftest import CLUSTER

NOTEBOOK = """# Databricks notebook source
from pyspark.sql import functions as F
try:
    spark.range(1).select(F.lit(1) / F.lit(0)).collect()
except Exception:
    print("the DataFrame error was raised")
spark.sql("SELECT 1/0 AS x").collect()
"""


def test_a_failed_querys_log_lines_are_plain_text(run_job) -> None:
    run = run_job(CLUSTER + """
      tasks:
        - task_key: divide
          job_cluster_key: main
          notebook_task: {notebook_path: ./divide.py}
""", {"divide.py": NOTEBOOK})
    divide = run.task_runs["divide"]
    assert divide.result.value == "FAILED" and "DIVIDE_BY_ZERO" in divide.error
    lines = divide.attempts[-1].log_path.read_text().splitlines()
    assert not [line for line in lines if line.startswith("{")]
    frame = next(line for line in lines if " ERROR DataFrameQueryContextLogger: " in line)
    assert "[DIVIDE_BY_ZERO]" in frame and "(at " in frame  # where the DataFrame was made
    sql = next(line for line in lines if " ERROR SQLQueryContextLogger: " in line)
    assert sql.endswith("SQLSTATE: 22012")
    assert "Traceback (most recent call last):" in lines  # the error itself, as before
