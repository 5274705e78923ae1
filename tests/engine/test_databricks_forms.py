"""Jobs as Databricks writes them: `{{...}}` references with spaces inside the braces and
the bracket form for names that are not identifiers, and task types podium does not run,
which fail alone."""

from __future__ import annotations

from podium.engine.states import Result
from tests.conftest import CLUSTER


def test_bracket_and_spaced_references_render(run_job) -> None:
    run = run_job("""
      parameters: [{name: input-file, default: "a.csv"}, {name: day, default: "d1"}]
      tasks:
        - task_key: t
          python_task:
            function: 'tests.engine.funcs:ok'
            parameters: {file: '{{ job.parameters.[input-file] }}', day: '{{job.parameters.day }}'}
""")
    task = run.task_runs["t"]
    assert task.result is Result.SUCCESS
    assert task.exit_value == "day=d1,file=a.csv"


def test_a_task_type_podium_does_not_run_fails_only_that_task(run_job) -> None:
    run = run_job("""
      tasks:
        - task_key: refresh
          spark_submit_task: {parameters: ["--class", "Main", "app.jar"]}
        - task_key: after
          depends_on: [{task_key: refresh}]
          python_task: {function: 'tests.engine.funcs:ok'}
        - task_key: anyway
          depends_on: [{task_key: refresh}]
          run_if: ALL_DONE
          python_task: {function: 'tests.engine.funcs:ok'}
        - task_key: alone
          python_task: {function: 'tests.engine.funcs:ok'}
""")
    results = {k: tr.result for k, tr in run.task_runs.items()}
    assert results == {"refresh": Result.FAILED, "after": Result.UPSTREAM_FAILED,
                       "anyway": Result.SUCCESS, "alone": Result.SUCCESS}
    assert "spark_submit_task, which podium does not run" in run.task_runs["refresh"].message


SDK_TASK = """
from databricks.sdk.runtime import dbutils, spark

spark.conf.set("podium.test.owner", "{name}")
dbutils.jobs.taskValues.set("rows", spark.range({rows}).count())
print("owner", spark.conf.get("podium.test.owner"), "other", "{other}")
"""


def test_databricks_sdk_runtime_gives_each_task_its_own_spark_and_dbutils(run_job) -> None:
    run = run_job(CLUSTER + """
      tasks:
        - task_key: a
          job_cluster_key: main
          spark_python_task: {python_file: a.py}
        - task_key: b
          job_cluster_key: main
          depends_on: [{task_key: a}]
          spark_python_task: {python_file: b.py}
""", files={"a.py": SDK_TASK.format(name="a", rows=3, other="-"),
            "b.py": SDK_TASK.replace('spark.conf.set("podium.test.owner", "{name}")\n', "")
                    .replace('spark.conf.get("podium.test.owner")',
                             'spark.conf.get("podium.test.owner", "unset")')
                    .format(rows=5, other="b")})
    assert {k: tr.result for k, tr in run.task_runs.items()} == {"a": Result.SUCCESS,
                                                                 "b": Result.SUCCESS}
    assert run.values.values == {"a": {"rows": 3}, "b": {"rows": 5}}
    logs = {k: tr.attempts[-1].log_path.read_text() for k, tr in run.task_runs.items()}
    assert "owner a other -" in logs["a"] and "owner unset other b" in logs["b"]
