"""The Jobs API's job endpoints (`/api/2.1/jobs/...` and `/api/2.2/jobs/...`): create,
get, list, reset, update, delete, run-now and runs/submit. Handlers validate, write to
the store, hand accepted runs to the engine service and answer; they change no run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from podium.engine.launch import BadRunRequest, new_bundle_run, new_run, new_submit_run
from podium.engine.model import bundle_child_job
from podium.server.bodies import INT64_MAX, JobId, ResetJob, RunNow, UpdateJob, int64
from podium.server.errors import ApiError, invalid, not_found
from podium.server.paging import page_tasks, token_number
from podium.server.workspace import caller_run, user, workspace
from podium.spec import BundleError
from podium.spec.models import Job
from podium.spec.settings import job_from_settings, settings_of
from podium.store import policies, registry
from podium.store.errors import JobNotFound

router = APIRouter(dependencies=[Depends(user)])

LIST_LIMIT_MAX = 100
MERGED_BY = {"tasks": "task_key", "job_clusters": "job_cluster_key",
             "environments": "environment_key", "parameters": "name"}


def validated_job(request: Request, settings: Any, where: str = "settings") -> Job:
    """JobSettings validated as a bundle job is (the workspace's cluster policies
    applied); every problem in one 400."""
    store = workspace(request).store
    try:
        return job_from_settings(settings, where, policies=lambda: policies.by_id(store))
    except BundleError as exc:
        raise invalid("; ".join(str(p) for p in exc.problems)) from None


def checked_settings(request: Request, settings: Any, where: str = "settings"
                     ) -> dict[str, Any]:
    """Validated JobSettings, as the registry keeps them."""
    return settings_of(validated_job(request, settings, where))


def job_row(request: Request, job_id: int) -> Any:
    """A registered job, or 404."""
    try:
        return registry.get(workspace(request).store, job_id)
    except JobNotFound as exc:
        raise not_found(str(exc)) from None


def refuse_when_draining(request: Request) -> None:
    """503 while the server shuts down: nothing new is accepted."""
    if workspace(request).draining:
        raise ApiError(503, "TEMPORARILY_UNAVAILABLE", "The server is shutting down; retry "
                       "against a running server", {"Retry-After": "5"})


@router.post("/jobs/create")
def create(request: Request, settings: dict[str, Any] = Body(...),
           who: str = Depends(user)) -> dict[str, Any]:
    """Register a job from JobSettings; its job_id."""
    refuse_when_draining(request)
    settings.pop("access_control_list", None)
    job_id = registry.create(workspace(request).store, checked_settings(request, settings), who)
    return {"job_id": job_id}


@router.get("/jobs/get")
def get(request: Request, job_id: int = int64(), page_token: str | None = None) -> dict[str, Any]:
    """One job with its settings (under API 2.2, 100 tasks a page)."""
    view = registry.job_view(job_row(request, job_id))
    if request.url.path.startswith("/api/2.2/"):
        page_tasks(view, view["settings"], ("job_clusters", "parameters", "environments"),
                   page_token)
    return view


@router.get("/jobs/list")
def list_jobs(request: Request, limit: int = Query(20, ge=1, le=LIST_LIMIT_MAX),
              offset: int = Query(0, ge=0, le=INT64_MAX), page_token: str | None = None,
              name: str | None = None, expand_tasks: bool = False) -> dict[str, Any]:
    """Jobs by ascending job_id, in pages (`next_page_token`, or the deprecated
    `offset`)."""
    after = token_number(page_token)
    rows, more = registry.page(workspace(request).store, limit, after,
                               0 if after is not None else offset, name)
    out: dict[str, Any] = {"jobs": [registry.job_view(r, expand_tasks) for r in rows],
                           "has_more": more}
    if more:
        out["next_page_token"] = str(rows[-1].job_id)
    return out


@router.post("/jobs/reset")
def reset(request: Request, body: ResetJob) -> dict[str, Any]:
    """Replace every setting of a job."""
    job_row(request, body.job_id)
    registry.replace(workspace(request).store, body.job_id,
                     checked_settings(request, body.new_settings, "new_settings"))
    return {}


@router.post("/jobs/update")
def update(request: Request, body: UpdateJob) -> dict[str, Any]:
    """Change some settings: top-level fields replaced, tasks, job clusters, environments
    and parameters merged by their key; `fields_to_remove` as Databricks spells them
    (`schedule`, `tasks/my_task`)."""
    settings = registry.settings_of(job_row(request, body.job_id))
    for field in body.fields_to_remove or []:
        name, _, key = field.partition("/")
        if key and name in MERGED_BY:
            settings[name] = [x for x in settings.get(name, [])
                              if x.get(MERGED_BY[name]) != key]
        else:
            settings.pop(name, None)
    for name, value in (body.new_settings or {}).items():
        if name in MERGED_BY and isinstance(value, list):
            merged = {x.get(MERGED_BY[name]): x for x in settings.get(name, [])}
            merged.update({x.get(MERGED_BY[name]): x for x in value if isinstance(x, dict)})
            settings[name] = list(merged.values())
        else:
            settings[name] = value
    registry.replace(workspace(request).store, body.job_id,
                     checked_settings(request, settings, "new_settings"))
    return {}


@router.post("/jobs/delete")
def delete(request: Request, body: JobId) -> dict[str, Any]:
    """Remove a job from the registry (its runs stay in the history)."""
    try:
        registry.remove(workspace(request).store, body.job_id)
    except JobNotFound as exc:
        raise not_found(str(exc)) from None
    return {}


@router.post("/jobs/run-now")
def run_now(request: Request, body: RunNow, who: str = Depends(user)) -> dict[str, Any]:
    """Start a run of a job; answers once the run is committed (PENDING or QUEUED)."""
    refuse_when_draining(request)
    ws = workspace(request)
    try:
        if isinstance(body.job_id, str) and not body.job_id.isdigit():
            caller = caller_run(request)
            child = bundle_child_job(caller, body.job_id) if caller is not None else None
            if caller is None or child is None:
                raise invalid(f"job_id '{body.job_id}' is not a job id, nor a job of the "
                              "calling task's bundle")
            run, run_id = new_bundle_run(ws.store, child, caller, body.job_parameters,
                                         body.notebook_params, body.python_params,
                                         body.idempotency_token, creator=who)
        else:
            row = job_row(request, int(body.job_id))
            run, run_id = new_run(ws.store, row, body.job_parameters, body.notebook_params,
                                  body.python_params, body.idempotency_token,
                                  queue=body.queue.enabled if body.queue else None,
                                  creator=who)
    except BadRunRequest as exc:
        raise invalid(str(exc)) from None
    if run is not None:
        ws.service.accept(run)
    return {"run_id": run_id, "number_in_job": run_id}


@router.post("/jobs/runs/submit")
def submit(request: Request, body: dict[str, Any] = Body(...),
           who: str = Depends(user)) -> dict[str, Any]:
    """A one-time run of tasks given inline (no job is registered)."""
    refuse_when_draining(request)
    ws = workspace(request)
    token = body.pop("idempotency_token", None)
    if token is not None and (not isinstance(token, str) or len(token) > 64):
        raise invalid("idempotency_token must be a string of at most 64 characters")
    for ignored in ("access_control_list", "budget_policy_id", "notification_settings",
                    "email_notifications", "webhook_notifications", "health", "git_source",
                    "run_as", "usage_policy_id"):
        body.pop(ignored, None)
    body["name"] = body.pop("run_name", None) or "Untitled"
    job = validated_job(request, body, "request")
    run, run_id = new_submit_run(ws.store, job, token, creator=who)
    if run is not None:
        ws.service.accept(run)
    return {"run_id": run_id}

