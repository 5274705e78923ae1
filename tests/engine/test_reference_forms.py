"""`{{...}}` references in the forms Databricks writes them: spaces inside the braces and
the bracket form for names that are not identifiers."""

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
