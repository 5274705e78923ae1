"""Pure decisions of the control loop: run_if against upstream results, run result.

No state changes here; the executor applies what these functions decide.
"""

from __future__ import annotations

from podium.engine.model import Run, TaskRun
from podium.engine.states import CANCELED_LIKE, FAILED_LIKE, Result
from podium.spec.models import RunIf

SUCCESS_LIKE = {Result.SUCCESS}


def _edge(run: Run, dep_key: str, outcome: str | None) -> str:
    """How one dependency ended, as run_if sees it: success, failed, canceled, excluded."""
    dep = run.task_runs[dep_key]
    if dep.result in FAILED_LIKE:
        return "failed"
    if dep.result in CANCELED_LIKE:
        return "canceled"
    if dep.result is Result.EXCLUDED:
        return "excluded"
    if outcome is not None and (dep.exit_value or "").lower() != outcome:
        return "excluded"
    return "success"


def gate(run: Run, tr: TaskRun) -> Result | None:
    """None if the task should run now that its dependencies are done, else the result
    it ends with without running (EXCLUDED, UPSTREAM_FAILED, UPSTREAM_CANCELED)."""
    edges = [_edge(run, d.task_key, d.outcome) for d in tr.task.depends_on]
    if not edges:
        return None
    failed, canceled = "failed" in edges, "canceled" in edges
    succeeded = "success" in edges
    rule = tr.task.run_if
    if rule is RunIf.ALL_SUCCESS:
        if failed:
            return Result.UPSTREAM_FAILED
        if canceled:
            return Result.UPSTREAM_CANCELED
        return None if all(e == "success" for e in edges) else Result.EXCLUDED
    if rule is RunIf.AT_LEAST_ONE_SUCCESS:
        if succeeded:
            return None
        return Result.UPSTREAM_FAILED if failed else (
            Result.UPSTREAM_CANCELED if canceled else Result.EXCLUDED)
    if rule is RunIf.NONE_FAILED:
        if failed:
            return Result.UPSTREAM_FAILED
        if canceled:
            return Result.UPSTREAM_CANCELED
        return None if succeeded else Result.EXCLUDED
    if rule is RunIf.ALL_DONE:
        return None
    if rule is RunIf.AT_LEAST_ONE_FAILED:
        return None if failed else Result.EXCLUDED
    return None if all(e == "failed" for e in edges) else Result.EXCLUDED  # ALL_FAILED


def ready(run: Run, tr: TaskRun) -> bool:
    """Whether every dependency of a pending task has ended."""
    return all(run.task_runs[d.task_key].final for d in tr.task.depends_on)


def leaves(run: Run) -> list[TaskRun]:
    """Tasks nothing depends on: their results decide the run's result."""
    needed = {d.task_key for t in run.job.tasks for d in t.depends_on}
    return [tr for key, tr in run.task_runs.items() if key not in needed]


def run_result(run: Run) -> Result:
    """The run's result from its leaf tasks, as Databricks computes it."""
    if run.stop_reason is not None:
        return run.stop_reason
    leaf_results = {tr.result for tr in leaves(run)}
    if leaf_results & (FAILED_LIKE | CANCELED_LIKE):
        return Result.FAILED
    if any(tr.result in (Result.FAILED, Result.TIMEDOUT) for tr in run.task_runs.values()):
        return Result.SUCCESS_WITH_FAILURES
    return Result.SUCCESS


def retry_allowed(tr: TaskRun, result: Result) -> bool:
    """Whether a failed or timed-out attempt gets another try."""
    task = tr.task
    if result is Result.TIMEDOUT and not task.retry_on_timeout:
        return False
    if result not in (Result.FAILED, Result.TIMEDOUT):
        return False
    return task.max_retries == -1 or tr.tries <= task.max_retries
