"""Dependencies, every run_if value, condition tasks and the run's result."""

from __future__ import annotations

import pytest

from podium.engine.states import LifeCycle, Result


def py(key: str, fn: str = "ok", deps: list[str] | tuple = (), run_if: str | None = None,
       outcome: dict[str, str] | None = None) -> str:
    """One python_task in YAML flow style."""
    dep = ", ".join("{{task_key: {}{}}}".format(d, f", outcome: '{outcome[d]}'"
                                          if outcome and d in outcome else "") for d in deps)
    extra = f", run_if: {run_if}" if run_if else ""
    return (f"        - {{task_key: {key}, depends_on: [{dep}]{extra}, "
            f"python_task: {{function: 'tests.engine.funcs:{fn}'}}}}\n")


def results(run) -> dict[str, str]:
    return {k: tr.result.value for k, tr in run.task_runs.items()}


CASES = [
    # run_if, upstream functions, expected result of the dependent task
    ("ALL_SUCCESS", ["ok", "ok"], "SUCCESS"),
    ("ALL_SUCCESS", ["ok", "fail"], "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", ["ok", "fail"], "SUCCESS"),
    ("AT_LEAST_ONE_SUCCESS", ["fail", "fail"], "UPSTREAM_FAILED"),
    ("NONE_FAILED", ["ok", "ok"], "SUCCESS"),
    ("NONE_FAILED", ["ok", "fail"], "UPSTREAM_FAILED"),
    ("ALL_DONE", ["fail", "fail"], "SUCCESS"),
    ("AT_LEAST_ONE_FAILED", ["ok", "fail"], "SUCCESS"),
    ("AT_LEAST_ONE_FAILED", ["ok", "ok"], "EXCLUDED"),
    ("ALL_FAILED", ["fail", "fail"], "SUCCESS"),
    ("ALL_FAILED", ["ok", "fail"], "EXCLUDED"),
]


@pytest.mark.parametrize(("run_if", "upstream", "expected"), CASES)
def test_run_if(run_job, run_if: str, upstream: list[str], expected: str) -> None:
    tasks = py("a", upstream[0]) + py("b", upstream[1]) + py("c", "ok", ["a", "b"], run_if)
    run = run_job("      tasks:\n" + tasks)
    assert run.task_runs["c"].result.value == expected
    assert run.task_runs["c"].life is LifeCycle.TERMINATED


def test_run_result_comes_from_leaf_tasks(run_job) -> None:
    recovered = run_job("      tasks:\n" + py("a", "fail") + py("b", "ok", ["a"], "ALL_DONE"))
    assert recovered.result is Result.SUCCESS_WITH_FAILURES
    failed = run_job("      tasks:\n" + py("a", "ok") + py("b", "fail", ["a"]))
    assert failed.result is Result.FAILED
    assert run_job("      tasks:\n" + py("a")).result is Result.SUCCESS


def test_condition_task_outcome_steers_branches(run_job) -> None:
    tasks = (
        py("count", "publish")
        .replace("function: 'tests.engine.funcs:publish'",
                 "function: 'tests.engine.funcs:publish', parameters: {key: n, value: '12'}")
        + "        - task_key: big\n"
          "          depends_on: [{task_key: count}]\n"
          "          condition_task: {op: GREATER_THAN, left: '{{tasks.count.values.n}}', "
          "right: '9'}\n"
        + py("when_true", "ok", ["big"], outcome={"big": "true"})
        + py("when_false", "ok", ["big"], outcome={"big": "false"})
        + "        - task_key: same\n"
          "          condition_task: {op: EQUAL_TO, left: '1.0', right: '1'}\n"
        + py("after_same", "ok", ["same"], outcome={"same": "true"})
    )
    run = run_job("      tasks:\n" + tasks)
    assert results(run) == {"count": "SUCCESS", "big": "SUCCESS", "when_true": "SUCCESS",
                            "when_false": "EXCLUDED", "same": "SUCCESS",
                            "after_same": "EXCLUDED"}  # EQUAL_TO compares strings
    assert run.task_runs["big"].exit_value == "true"
    assert run.result is Result.SUCCESS


def test_task_values_flow_downstream(run_job) -> None:
    tasks = (
        "        - task_key: make\n"
        "          python_task: {function: 'tests.engine.funcs:publish', "
        "parameters: {key: table, value: sales_2026}}\n"
        "        - task_key: use\n"
        "          depends_on: [{task_key: make}]\n"
        "          python_task: {function: 'tests.engine.funcs:ok', "
        "parameters: {t: '{{tasks.make.values.table}}', d: '{{job.parameters.day}}'}}\n"
    )
    run = run_job("      parameters: [{name: day, default: '2026-01-02'}]\n      tasks:\n" + tasks,
                  params={"day": "2026-11-23"})
    assert run.task_runs["use"].exit_value == "d=2026-11-23,t=sales_2026"
    log = run.task_runs["use"].attempts[0].log_path.read_text()
    assert "ok {'t': 'sales_2026', 'd': '2026-11-23'}" in log
