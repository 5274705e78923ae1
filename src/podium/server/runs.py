"""The Jobs API's run endpoints: runs/get, list, cancel, cancel-all, repair, get-output,
export and delete. Reads come from the store; changes are stored requests (a cancel, a
repair) that the engine service acts on."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from podium.engine.launch import job_parameters
from podium.engine.restore import rerun_set, restore
from podium.server.bodies import INT64_MAX, CancelAll, RepairRun, RunId, int64
from podium.server.errors import invalid, not_found
from podium.server.jobs import refuse_when_draining
from podium.server.paging import offset_of, page_tasks
from podium.server.workspace import user, workspace
from podium.store import RunBusy, RunNotFound
from podium.store.maintenance import delete_runs, start_repair
from podium.store.runs import ACTIVE
from podium.store.views import run_summary, run_view, task_view

router = APIRouter(dependencies=[Depends(user)])

LOG_LIMIT = 5 * 1024 * 1024  # what get-output returns of a log, from its end


def page_url(request: Request, run_id: int) -> str:
    """Where a person looks at a run (Databricks' `run_page_url`): the run on this
    server, as runs/get answers it."""
    return f"{str(request.base_url).rstrip('/')}/api/2.1/jobs/runs/get?run_id={run_id}"


def with_page_url(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    """A run view with its `run_page_url`."""
    view["run_page_url"] = page_url(request, view["run_id"])
    return view


def _run_row(request: Request, run_id: int) -> Any:
    try:
        return workspace(request).store.run_row(run_id)
    except RunNotFound:
        raise not_found(f"Run {run_id} does not exist.") from None


@router.get("/jobs/runs/get")
def get(request: Request, run_id: int = int64(), include_history: bool = False,
        include_resolved_values: bool = False, page_token: str | None = None
        ) -> dict[str, Any]:
    """A run with its tasks (100 a page under API 2.2), repair history and podium's
    own section (task values, owner, cost)."""
    _run_row(request, run_id)
    view = with_page_url(request, run_view(workspace(request).store, run_id))
    if request.url.path.startswith("/api/2.2/"):
        page_tasks(view, view, ("job_clusters", "job_parameters", "repair_history"),
                   page_token)
        view["has_more"] = "next_page_token" in view
    return view


@router.get("/jobs/runs/list")
def list_runs(request: Request, job_id: int | None = int64(None), active_only: bool = False,
              completed_only: bool = False, offset: int = Query(0, ge=0, le=INT64_MAX),
              limit: int = Query(25, ge=1, le=25), run_type: str | None = None,
              start_time_from: int | None = int64(None),
              start_time_to: int | None = int64(None),
              page_token: str | None = None, expand_tasks: bool = False) -> dict[str, Any]:
    """Runs newest first, with the documented filters, in pages."""
    if active_only and completed_only:
        raise invalid("active_only and completed_only cannot both be true")
    if run_type not in (None, "JOB_RUN", "WORKFLOW_RUN", "SUBMIT_RUN"):
        raise invalid(f"Invalid run_type '{run_type}'; use JOB_RUN, WORKFLOW_RUN or "
                      "SUBMIT_RUN")
    store = workspace(request).store
    before = offset_of(page_token) or None
    rows, more = store.run_page(
        workspace_job_id=job_id, active_only=active_only, completed_only=completed_only,
        start_from=start_time_from, start_to=start_time_to,
        submit_only=None if run_type is None else run_type == "SUBMIT_RUN",
        before_id=before, offset=0 if before else offset, limit=limit)
    runs = [with_page_url(request, run_view(store, r.id) if expand_tasks else run_summary(r))
            for r in rows]
    out: dict[str, Any] = {"runs": runs, "has_more": more}
    if more:
        out["next_page_token"] = str(rows[-1].id)
    return out


@router.post("/jobs/runs/cancel")
def cancel(request: Request, body: RunId) -> dict[str, Any]:
    """Ask for a run to be cancelled; its process stops it within a second."""
    row = _run_row(request, body.run_id)
    if row.life in ACTIVE:
        workspace(request).store.request_cancel(body.run_id)
        workspace(request).service.cancel(body.run_id)
    return {}


@router.post("/jobs/runs/cancel-all")
def cancel_all(request: Request, body: CancelAll) -> dict[str, Any]:
    """Cancel every active run of a job (or, with all_queued_runs, every queued run)."""
    if body.job_id is None and not body.all_queued_runs:
        raise invalid("Give job_id, or all_queued_runs: true")
    store = workspace(request).store
    before: int | None = None
    while True:
        rows, more = store.run_page(workspace_job_id=body.job_id, active_only=True,
                                    before_id=before, limit=100)
        for row in rows:
            if body.job_id is not None or row.life == "QUEUED":
                store.request_cancel(row.id)
        if not more:
            return {}
        before = rows[-1].id


@router.post("/jobs/runs/repair")
def repair(request: Request, body: RepairRun) -> dict[str, Any]:
    """Rerun chosen tasks of an ended run as a repair of the same run."""
    refuse_when_draining(request)
    ws = workspace(request)
    row = _run_row(request, body.run_id)
    if row.life in ACTIVE:
        raise invalid(f"Run {body.run_id} is still {row.life}; repair it once it ended")
    if body.latest_repair_id is not None and body.latest_repair_id != row.repair_count:
        raise invalid(f"latest_repair_id {body.latest_repair_id} is not the run's latest "
                      f"repair ({row.repair_count})")
    run = restore(ws.store, body.run_id)
    unknown = [t for t in body.rerun_tasks or [] if t not in run.task_runs]
    if unknown:
        raise invalid(f"Run {body.run_id} has no task '{unknown[0]}'")
    params = {k: "" if v is None else str(v) for k, v in (body.job_parameters or {}).items()}
    try:
        job_parameters(run.job, params)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    chosen = rerun_set(run, body.rerun_tasks or [],
                       body.rerun_all_failed_tasks or not body.rerun_tasks,
                       body.rerun_dependent_tasks)
    if not chosen:
        raise invalid(f"Nothing to repair: every task of run {body.run_id} succeeded")
    try:
        number = start_repair(ws.store, body.run_id, chosen, params)
    except RunBusy as exc:
        raise invalid(str(exc)) from None
    ws.service.accept(restore(ws.store, body.run_id))
    return {"repair_id": number}


@router.get("/jobs/runs/get-output")
def get_output(request: Request, run_id: int = int64()) -> dict[str, Any]:
    """A task run's output: the notebook's exit value, the error and its trace, and for
    Python tasks the log."""
    store = workspace(request).store
    try:
        task, attempts = store.task_run(run_id)
    except RunNotFound:
        if _is_run(request, run_id):
            raise invalid(f"Run {run_id} is a job run; get the output of one of its "
                          "tasks (runs/get lists their run_id)") from None
        raise not_found(f"Run {run_id} does not exist.") from None
    parent = store.run_row(task.run_id)
    metadata = task_view(task, attempts, [], None)
    metadata.update({k: v for k, v in run_summary(parent).items()
                     if k in ("job_id", "podium_job_key")})
    metadata.update({"run_name": parent.run_name,
                     "run_id": task.id, "parent_run_id": parent.id,
                     "number_in_job": parent.id,
                     "run_page_url": page_url(request, parent.id)})
    out: dict[str, Any] = {"metadata": metadata}
    if task.exit_value is not None:
        out["notebook_output"] = {"result": task.exit_value, "truncated": False}
    log = Path(attempts[-1].log_path) if attempts else None
    text, truncated = _tail(log)
    if task.error:
        out["error"] = task.error
        out["error_trace"] = text[-20_000:]
    else:
        out["logs"], out["logs_truncated"] = text, truncated
    return out


def _is_run(request: Request, run_id: int) -> bool:
    try:
        workspace(request).store.run_row(run_id)
        return True
    except RunNotFound:
        return False


def _tail(path: Path | None) -> tuple[str, bool]:
    if path is None or not path.exists():
        return "", False
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - LOG_LIMIT))
        return f.read().decode("utf-8", errors="replace"), size > LOG_LIMIT


@router.get("/jobs/runs/export")
def export(request: Request, run_id: int = int64(),
           views_to_export: str = "CODE") -> dict[str, Any]:
    """A task run's log as an HTML view (what there is locally to export)."""
    store = workspace(request).store
    try:
        task, attempts = store.task_run(run_id)
    except RunNotFound:
        raise not_found(f"Run {run_id} does not exist.") from None
    text, _ = _tail(Path(attempts[-1].log_path) if attempts else None)
    content = (f"<html><head><title>{html.escape(task.task_key)}</title></head><body><pre>"
               f"{html.escape(text)}</pre></body></html>")
    return {"views": [{"content": content, "name": task.task_key, "type": "NOTEBOOK"}]}


@router.post("/jobs/runs/delete")
def delete(request: Request, body: RunId) -> dict[str, Any]:
    """Delete an ended run and its logs."""
    row = _run_row(request, body.run_id)
    if row.life in ACTIVE:
        raise invalid(f"Run {body.run_id} is still {row.life}; cancel it before deleting")
    delete_runs(workspace(request).store, [body.run_id])
    return {}
