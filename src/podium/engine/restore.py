"""A stored run made live again, for a repair: kept tasks keep their results and task
values; the tasks to rerun start over with new attempts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium.engine.model import Attempt, Run, TaskRun
from podium.engine.states import LifeCycle, Result
from podium.spec.models import Job
from podium.store import RunStore


def job_snapshot(job: Job) -> dict[str, Any]:
    """A job as stored with its runs (absolute file paths, every field)."""
    return job.model_dump(mode="json", exclude_none=True)


def restore(store: RunStore, run_id: int) -> Run:
    """Rebuild run `run_id` from the store."""
    row = store.run_row(run_id)
    job_row, spec = store.job_spec(row.job_id)
    job = Job.model_validate(spec)
    bundle = _bundle(job_row.bundle_root, job_row.target)
    run = Run(row.job_key, job, Path(job_row.bundle_root), json.loads(row.params_json),
              bundle.clusters if bundle else {}, run_id=row.id, job_id=row.job_id,
              workspace_job_id=row.workspace_job_id, trigger=row.trigger,
              life=LifeCycle(row.life), message=row.message, start_ms=row.start_ms,
              repair_count=row.repair_count, jobs=bundle.jobs if bundle else {})
    run.values.values.update(store.task_values(run_id))
    for task_row, attempts, _children in store.task_rows(run_id):
        tr: TaskRun = run.task_runs[task_row.task_key]
        tr.run_id = task_row.id
        tr.life = LifeCycle(task_row.life)
        tr.result = Result(task_row.result) if task_row.result else None
        tr.message, tr.exit_value, tr.error = task_row.message, task_row.exit_value, \
            task_row.error
        tr.cluster_key, tr.spark_context_id = task_row.cluster_key, task_row.spark_context_id
        tr.usage = json.loads(task_row.usage_json) if task_row.usage_json else None
        tr.attempts = [Attempt(a.number, a.start_ms, Path(a.log_path), a.end_ms,
                               Result(a.result) if a.result else None, a.error)
                       for a in attempts]
        tr.attempt_base = len(tr.attempts)
    return run


def _bundle(root: str, target: str) -> Any:
    """The bundle as it is now, for the shared clusters and the jobs a run_job_task names;
    None if it no longer loads (those tasks then fail with a clear message)."""
    from podium.spec import BundleError, load_bundle

    if not root:  # a job created through the API has no bundle
        return None
    try:
        return load_bundle(root, target if target != "default" else None)
    except BundleError:
        return None


def rerun_set(run: Run, tasks: list[str], all_failed: bool, dependents: bool) -> list[str]:
    """Which tasks a repair reruns: the named ones, every task that did not succeed (with
    `all_failed`), and with `dependents` everything downstream of those."""
    chosen = set(tasks)
    if all_failed:
        chosen |= {k for k, tr in run.task_runs.items()
                   if tr.result not in (Result.SUCCESS, Result.EXCLUDED)}
    if dependents:
        grew = True
        while grew:
            downstream = {t.task_key for t in run.job.tasks
                          if any(d.task_key in chosen for d in t.depends_on)}
            grew = not downstream <= chosen
            chosen |= downstream
    return [t.task_key for t in run.job.tasks if t.task_key in chosen]
