"""A `run_job_task`'s child run: made from the job it names with the parameters it
passes, and what the child's end means for the task. The executor submits the child to
itself and changes the task's state with these answers."""

from __future__ import annotations

from collections.abc import Callable

from podium.engine.model import ChildJob, Run, TaskRun
from podium.engine.references import UnresolvedReference, renderer
from podium.engine.states import Result


class ChildRunError(ValueError):
    """The child run cannot be made (no such job, a reference that cannot be filled)."""


def make_child(run: Run, tr: TaskRun,
               find_job: Callable[[Run, str], ChildJob | None]) -> Run:
    """The child run of `tr`: the job `find_job` gives for its `job_id`, with the job's
    parameter defaults overridden by the task's `job_parameters` (those the job has)."""
    spec = tr.task.run_job_task
    key = str(spec.job_id)
    found = find_job(run, key)
    if found is None:
        raise ChildRunError(f"run_job_task: no job '{key}' in the bundle or the workspace")
    render = renderer(run, tr)
    try:
        given = {k: "" if v is None else str(render(v) if isinstance(v, str) else v)
                 for k, v in spec.job_parameters.items()}
    except UnresolvedReference as exc:
        raise ChildRunError(str(exc)) from exc
    job = found.job
    params = {p.name: "" if p.default is None else str(p.default) for p in job.parameters}
    params.update({k: v for k, v in given.items() if k in params})
    return Run(found.key, job, found.bundle_root, params, run.clusters, jobs=found.jobs,
               trigger="RUN_JOB_TASK", parent=(run.run_id, tr.key),
               workspace_job_id=found.workspace_job_id, creator=run.creator)


def outcome(child: Run) -> tuple[Result, str | None] | None:
    """How the task that started `child` ends, once the child has ended; None before."""
    if not child.final:
        return None
    if child.result is Result.SUCCESS:
        return Result.SUCCESS, None
    result = Result.CANCELED if child.result is Result.CANCELED else Result.FAILED
    return result, (f"child run {child.run_id} of job '{child.job_key}' ended "
                    f"{child.result.value}")
