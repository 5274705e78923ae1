"""Jobs as Databricks writes them: `{{...}}` references with spaces inside the braces and
the bracket form for names that are not identifiers, and task types podium does not run,
which fail alone."""

from __future__ import annotations

from podium.engine.states import Result


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
          pipeline_task: {pipeline_id: some-pipeline}
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
    assert "pipeline_task, which podium does not run" in run.task_runs["refresh"].message
