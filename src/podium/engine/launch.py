"""Making a run of a registry job (deployed or created through the API) and admitting it
into the store, as `run-now` and `runs/submit` do: parameters checked, overrides applied,
the same idempotency token never making two runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from podium import defaults
from podium.engine.model import ChildJob, Run, bundle_child_job
from podium.engine.restore import job_snapshot
from podium.engine.states import LifeCycle, Result
from podium.spec.models import Job, Queue
from podium.spec.pipelines import pipeline_job
from podium.store import RunStore, admission, pipelines, registry
from podium.store.errors import JobNotFound
from podium.store.schema import RunRow, WorkspaceJobRow, WorkspacePipelineRow

Claim = Callable[[Any, Run], None]  # written in a new run's transaction

SUBMIT_PREFIX = "submit-"  # the job key of one-time runs (`runs/submit`)


class BadRunRequest(ValueError):
    """A run request names a parameter or field the job does not have."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def admit_run(store: RunStore, run: Run, version_id: int, wait: bool = False,
              claim: Claim | None = None) -> Run:
    """Insert the run as PENDING, QUEUED or SKIPPED (max_concurrent_runs, queue) and set
    its state to match; a skipped run's tasks are skipped too. `claim` is written in the
    same transaction (a trigger's tick)."""
    job = run.job
    life = admission.admit(store, run, version_id, job.max_concurrent_runs,
                           queue=bool(job.queue and job.queue.enabled), wait=wait,
                           claim=claim)
    run.life = LifeCycle(life)
    if run.life is LifeCycle.SKIPPED:
        run.result = Result.MAXIMUM_CONCURRENT_RUNS_REACHED
        for tr in run.task_runs.values():
            tr.life, tr.message = LifeCycle.SKIPPED, "The run was skipped"
    return run


def run_for_token(store: RunStore, token: str | None) -> int | None:
    """The run an idempotency token already made, if any."""
    if not token:
        return None
    with store.reads.begin() as db:
        return db.scalar(select(RunRow.id).where(RunRow.idempotency_token == token))


def with_overrides(job: Job, notebook_params: Mapping[str, Any] | None,
                   python_params: list[str] | None) -> Job:
    """The job with `notebook_params` merged into each notebook task's base_parameters
    and `python_params` replacing the parameters of Python file and wheel tasks."""
    if not notebook_params and python_params is None:
        return job
    job = job.model_copy(deep=True)
    for task in job.tasks:
        if notebook_params and task.notebook_task is not None:
            task.notebook_task.base_parameters = {**task.notebook_task.base_parameters,
                                                  **{k: str(v) for k, v in
                                                     notebook_params.items()}}
        if python_params is not None:
            for spec in (task.spark_python_task, task.python_wheel_task):
                if spec is not None:
                    spec.parameters = [str(p) for p in python_params]
    return job


def job_parameters(job: Job, given: Mapping[str, Any] | None) -> dict[str, str]:
    """The job's parameter defaults with `given` on top; an unknown name is a BadRunRequest."""
    values = {p.name: "" if p.default is None else str(p.default) for p in job.parameters}
    for name, value in (given or {}).items():
        if name not in values:
            known = ", ".join(values) or "none"
            raise BadRunRequest("job_parameters", f"Job parameter '{name}' is not defined "
                                f"in the job (parameters: {known})")
        values[name] = "" if value is None else str(value)
    return values


def _key(row: WorkspaceJobRow) -> str:
    """The job key runs of a registry job carry: its bundle key, or job-<id>."""
    return row.key or f"job-{row.job_id}"


def _bundle_jobs(store: RunStore, row: WorkspaceJobRow) -> dict[str, Job]:
    """The other jobs deployed from the same bundle and target, by key (what a
    run_job_task of a deployed job names)."""
    if row.source != "BUNDLE":
        return {}
    with store.reads.begin() as db:
        rows = list(db.scalars(select(WorkspaceJobRow).where(
            WorkspaceJobRow.bundle_root == row.bundle_root,
            WorkspaceJobRow.target == row.target)))
    return {r.key: Job.model_validate(registry.settings_of(r)) for r in rows if r.key}


def registry_child_job(store: RunStore, run: Run, name: str) -> ChildJob | None:
    """The job a run_job_task names: in the parent's bundle first, else the workspace's
    job with that `job_id` (how jobs created through the API name each other)."""
    found = bundle_child_job(run, name)
    if found is not None or not name.isdigit():
        return found
    try:
        row = registry.get(store, int(name))
    except JobNotFound:
        return None
    return ChildJob(_key(row), Job.model_validate(registry.settings_of(row)),
                    Path(row.bundle_root) if row.bundle_root else defaults.home(),
                    _bundle_jobs(store, row), row.job_id)


def new_run(store: RunStore, row: WorkspaceJobRow, given: Mapping[str, Any] | None = None,
            notebook_params: Mapping[str, Any] | None = None,
            python_params: list[str] | None = None, token: str | None = None,
            trigger: str = "ONE_TIME", queue: bool | None = None,
            claim: Claim | None = None, creator: str | None = None
            ) -> tuple[Run | None, int]:
    """Create and admit a run of registry job `row`. Returns (run, run_id), or (None,
    run_id) when `token` already made a run: that run's id, whoever asked first.
    `claim(db, run)` is written in the run's transaction (a trigger's tick)."""
    existing = run_for_token(store, token)
    if existing is not None:
        return None, existing
    job = with_overrides(Job.model_validate(registry.settings_of(row)), notebook_params,
                         python_params)
    if queue is not None:
        job.queue = Queue(enabled=queue)
    root = Path(row.bundle_root) if row.bundle_root else defaults.home()
    run = Run(_key(row), job, root, job_parameters(job, given), {},
              jobs=_bundle_jobs(store, row), trigger=trigger, workspace_job_id=row.job_id,
              idempotency_token=token, creator=creator or row.creator_user_name)
    return _admit_new(store, run, row.bundle_name or "", row.bundle_root or "",
                      row.target or "", claim)


def new_bundle_run(store: RunStore, child: ChildJob, caller: Run,
                   given: Mapping[str, Any] | None = None,
                   notebook_params: Mapping[str, Any] | None = None,
                   python_params: list[str] | None = None, token: str | None = None,
                   creator: str | None = None) -> tuple[Run | None, int]:
    """Create and admit a run of a job of the calling run's bundle (`run-now` with a job
    key, as `${resources.jobs.<key>.id}` gives it locally), on the bundle's clusters."""
    existing = run_for_token(store, token)
    if existing is not None:
        return None, existing
    job = with_overrides(child.job, notebook_params, python_params)
    run = Run(child.key, job, child.bundle_root, job_parameters(job, given), caller.clusters,
              jobs=child.jobs, idempotency_token=token, creator=creator)
    return _admit_new(store, run, "", str(child.bundle_root), "")


def new_submit_run(store: RunStore, job: Job, token: str | None = None,
                   creator: str | None = None) -> tuple[Run | None, int]:
    """Create and admit a one-time run (`runs/submit`) of a job given inline."""
    existing = run_for_token(store, token)
    if existing is not None:
        return None, existing
    run = Run(f"{SUBMIT_PREFIX}{uuid.uuid4().hex[:12]}", job, defaults.home(),
              job_parameters(job, None), {}, idempotency_token=token, creator=creator)
    return _admit_new(store, run, "", "", "")


def _admit_new(store: RunStore, run: Run, bundle_name: str, bundle_root: str,
               target: str, claim: Claim | None = None) -> tuple[Run | None, int]:
    """Record the run's job version and admit the run; a lost idempotency race gives the
    winner's run id."""
    version = store.record_job(run.job_key, run.job.name or run.job_key, bundle_name,
                               bundle_root, target, job_snapshot(run.job))
    try:
        admit_run(store, run, version, claim=claim)
    except IntegrityError:  # a concurrent request with the same token won the insert
        existing = run_for_token(store, run.idempotency_token)
        if existing is None:
            raise
        return None, existing
    return run, run.run_id


def new_pipeline_update(store: RunStore, row: WorkspacePipelineRow, options: Mapping[str, Any],
                        cause: str = "API_CALL", creator: str | None = None
                        ) -> tuple[Run, str]:
    """Create and admit the run of one update of registry pipeline `row`, its update
    noted in the same transaction; (run, update_id). `options` are start-update's
    `full_refresh`, `full_refresh_selection`, `refresh_selection` and `validate_only`."""
    key = row.key or f"pipeline-{row.pipeline_id}"
    job = pipeline_job(key, json.loads(row.spec_json),
                       full_refresh_all=bool(options.get("full_refresh")),
                       full_refresh=list(options.get("full_refresh_selection") or []),
                       refresh=list(options.get("refresh_selection") or []),
                       validate_only=bool(options.get("validate_only")))
    run = Run(key, job, Path(row.bundle_root) if row.bundle_root else defaults.home(), {}, {},
              creator=creator or row.creator_user_name)
    noted: list[str] = []
    _admit_new(store, run, row.bundle_name or "", row.bundle_root or "", row.target or "",
               lambda db, admitted: noted.append(pipelines.record_update(
                   db, row.pipeline_id, admitted.run_id, cause, dict(options))))
    return run, noted[0]
