"""Retries with intervals, task timeouts that stop Spark, job timeouts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from podium.engine.states import Result
from tests.engine.conftest import CLUSTER


def test_retries_wait_min_retry_interval_and_then_succeed(run_job, tmp_path: Path) -> None:
    marker = tmp_path / "count"
    run = run_job(
        "      tasks:\n"
        "        - task_key: flaky\n"
        "          max_retries: 3\n"
        "          min_retry_interval_millis: 300\n"
        f"          python_task: {{function: 'tests.engine.funcs:flaky', "
        f"parameters: {{marker: '{marker}', failures: '2'}}}}\n")
    tr = run.task_runs["flaky"]
    assert tr.result is Result.SUCCESS
    assert [a.result for a in tr.attempts] == [Result.FAILED, Result.FAILED, Result.SUCCESS]
    gaps = [b.start_ms - a.end_ms for a, b in zip(tr.attempts, tr.attempts[1:], strict=False)]
    assert all(gap >= 300 for gap in gaps), gaps
    assert tr.attempt_number == 2
    # each attempt logs to its own file: the failed ones hold their tracebacks; the last
    # one printed nothing, so it left no file (a log is made at its first line)
    logs = [a.log_path for a in tr.attempts]
    assert [p.name for p in logs] == ["0.log", "1.log", "2.log"]
    assert [f"flaky failure {n}" in logs[n - 1].read_text() for n in (1, 2)] == [True, True]
    assert not logs[2].exists()


def test_retries_run_out(run_job) -> None:
    run = run_job("      tasks:\n        - {task_key: a, max_retries: 1, "
                  "python_task: {function: 'tests.engine.funcs:fail'}}\n")
    assert run.task_runs["a"].result is Result.FAILED
    assert len(run.task_runs["a"].attempts) == 2
    assert "failing on purpose" in run.task_runs["a"].error


def test_timeout_cancels_the_spark_job(run_job, executor) -> None:
    notebook = ("# Databricks notebook source\n"
                "spark.range(10**12).count()\n")
    started = time.monotonic()
    run = run_job(CLUSTER + "      tasks:\n"
                  "        - {task_key: long, job_cluster_key: main, timeout_seconds: 5,\n"
                  "           notebook_task: {notebook_path: long.py}}\n",
                  files={"long.py": notebook})
    assert time.monotonic() - started < 60
    tr = run.task_runs["long"]
    assert tr.result is Result.TIMEDOUT
    assert run.result is Result.FAILED
    cluster = executor.clusters.slots["j:main"].cluster
    deadline = time.monotonic() + 10
    while cluster.active_job_ids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.active_job_ids() == []


def test_a_job_started_after_its_tasks_cancel_is_cancelled_as_it_starts(
        run_job, executor) -> None:
    """The task's last call reached a busy driver only after the cancel: the job it starts
    then is cancelled too, instead of running on with nobody left to stop it."""
    run_job(CLUSTER + "      tasks:\n        - {task_key: t, job_cluster_key: main, "
            "notebook_task: {notebook_path: nb.py}}\n",
            files={"nb.py": "# Databricks notebook source\nspark.range(1).count()\n"})
    cluster = executor.clusters.slots["j:main"].cluster
    tag = "podium-0-late-0"
    cluster.cancel(tag)  # the task is cancelled before its job exists
    sc = cluster.root.sparkContext

    def late_job() -> str:
        sc.addJobTag(tag)  # this thread's jobs carry the cancelled task's tag
        try:
            cluster.root.range(0, 10**12, 1, 1).count()
            return "finished"
        except Exception as exc:  # Py4JJavaError: the job was cancelled
            return str(exc)[:300]
        finally:
            sc.removeJobTag(tag)

    started = time.monotonic()
    pool = ThreadPoolExecutor(1)
    try:
        outcome = pool.submit(late_job).result(timeout=20)
    finally:
        sc.cancelJobsWithTag(tag)  # never leave a job spinning in the session's driver
        pool.shutdown()
    assert "cancelled" in outcome.lower() or "canceled" in outcome.lower(), outcome
    assert time.monotonic() - started < 15


def test_timeout_is_retried_only_with_retry_on_timeout(run_job) -> None:
    base = ("      tasks:\n        - {task_key: s, timeout_seconds: 1, max_retries: 1, %s"
            "python_task: {function: 'tests.engine.funcs:sleep', parameters: {seconds: '30'}}}\n")
    assert len(run_job(base % "").task_runs["s"].attempts) == 1
    retried = run_job(base % "retry_on_timeout: true, ")
    assert [a.result for a in retried.task_runs["s"].attempts] == [Result.TIMEDOUT] * 2


def test_job_timeout_stops_the_run(run_job) -> None:
    run = run_job("      timeout_seconds: 1\n      tasks:\n"
                  "        - {task_key: s, python_task: {function: 'tests.engine.funcs:sleep', "
                  "parameters: {seconds: '30'}}}\n"
                  "        - {task_key: after, depends_on: [{task_key: s}], "
                  "python_task: {function: 'tests.engine.funcs:ok'}}\n")
    assert run.result is Result.TIMEDOUT
    assert run.task_runs["s"].result is Result.TIMEDOUT
    assert run.task_runs["after"].result is Result.CANCELED
