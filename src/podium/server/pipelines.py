"""The Pipelines API (`/api/2.0/pipelines`) databricks-sdk's `w.pipelines` uses: create,
get, list, edit, delete, start-update, get-update, list-updates, events and stop, for
pipelines deployed from bundles (`podium deploy`) and created through the API.

An update is a run of the pipeline's one-task job (`engine.launch.new_pipeline_update`),
handed to the engine service like any run; its state and events are read from that run.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from podium.engine.launch import new_pipeline_update
from podium.server.bodies import INT64_MAX
from podium.server.errors import ApiError, invalid, not_found
from podium.server.paging import offset_of, token_number
from podium.server.workspace import user, workspace
from podium.spec.models import PipelineResource
from podium.spec.pipelines import pipeline_spec
from podium.store import pipelines
from podium.store.errors import PipelineNotFound

router = APIRouter(prefix="/api/2.0/pipelines", dependencies=[Depends(user)])

MAX_RESULTS = 100
EVENTS_PAGE = 25
# Request fields that steer the call, not the pipeline.
CALL_FIELDS = ("dry_run", "allow_duplicate_names", "pipeline_id", "id", "expected_last_modified",
               "run_as", "tags_to_remove")


class StartUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")  # development, parameters, ...: no meaning here
    cause: str | None = None
    full_refresh: bool = False
    full_refresh_selection: list[str] | None = None
    refresh_selection: list[str] | None = None
    validate_only: bool = False


def _row(request: Request, pipeline_id: str) -> Any:
    try:
        return pipelines.get(workspace(request).store, pipeline_id)
    except PipelineNotFound as exc:
        raise not_found(str(exc)) from None


def _checked(settings: dict[str, Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PipelineSpec as kept, and what podium runs of it; 400 for a bad one."""
    given = {k: v for k, v in settings.items() if k not in CALL_FIELDS}
    try:
        resource = PipelineResource.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid(f"Invalid pipeline settings: {where}: {first['msg']}") from None
    return given, pipeline_spec(key, resource)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _latest(request: Request, pipeline_id: str, limit: int = 5) -> list[dict[str, Any]]:
    store = workspace(request).store
    return [{"update_id": u.update_id, "state": pipelines.update_state(store, u)[0],
             "creation_time": _iso(u.created_ms)}
            for u in pipelines.updates(store, pipeline_id, limit)]


def _state_info(request: Request, row: Any) -> dict[str, Any]:
    latest = _latest(request, row.pipeline_id)
    active = latest and latest[0]["state"] not in ("COMPLETED", "FAILED", "CANCELED")
    out = {"pipeline_id": row.pipeline_id, "name": row.name,
           "state": "RUNNING" if active else "IDLE",
           "health": "UNHEALTHY" if latest and latest[0]["state"] == "FAILED" else "HEALTHY",
           "creator_user_name": row.creator_user_name,
           "run_as_user_name": row.creator_user_name, "latest_updates": latest}
    return out


def _spec(row: Any) -> dict[str, Any]:
    return {**json.loads(row.settings_json), "id": row.pipeline_id}


@router.post("")
def create(request: Request, settings: dict[str, Any] = Body(...),
           who: str = Depends(user)) -> dict[str, Any]:
    """A new pipeline (or, with `dry_run`, only its settings checked)."""
    pipeline_id = str(uuid.uuid4())
    given, spec = _checked(settings, pipeline_id)
    if settings.get("dry_run"):
        return {"effective_settings": given}
    pipelines.create(workspace(request).store, given, spec, who, pipeline_id=pipeline_id)
    return {"pipeline_id": pipeline_id, "effective_settings": {**given, "id": pipeline_id}}


@router.get("/{pipeline_id}")
def get(request: Request, pipeline_id: str) -> dict[str, Any]:
    """A pipeline: its settings, state and latest updates."""
    row = _row(request, pipeline_id)
    return {**_state_info(request, row), "spec": _spec(row), "last_modified": row.updated_ms}


@router.get("")
def list_pipelines(request: Request, max_results: int = Query(25, ge=1, le=INT64_MAX),
                   page_token: str | None = None, filter: str | None = None
                   ) -> dict[str, Any]:
    """Pipelines by id, a page at a time; `filter=name LIKE '%x%'` narrows by name."""
    if max_results > MAX_RESULTS:
        raise invalid(f"max_results must be at most {MAX_RESULTS}")
    like = None
    if filter:
        found = re.fullmatch(r"\s*name\s+LIKE\s+'([^']*)'\s*", filter, re.IGNORECASE)
        if found is None:
            raise invalid("filter supports name LIKE '<pattern>'")
        like = found.group(1)
    rows, more = pipelines.page(workspace(request).store, max_results, page_token, like)
    out: dict[str, Any] = {"statuses": [_state_info(request, r) for r in rows]}
    if more and rows:
        out["next_page_token"] = rows[-1].pipeline_id
    return out


@router.put("/{pipeline_id}")
def edit(request: Request, pipeline_id: str, settings: dict[str, Any] = Body(...)
         ) -> dict[str, Any]:
    """Replace a pipeline's settings; its next update runs them."""
    _row(request, pipeline_id)
    given, spec = _checked(settings, pipeline_id)
    pipelines.edit(workspace(request).store, pipeline_id, given, spec)
    return {}


@router.delete("/{pipeline_id}")
def delete(request: Request, pipeline_id: str) -> dict[str, Any]:
    """Stop a pipeline's update, if one runs, and delete the pipeline."""
    stop(request, pipeline_id)
    pipelines.remove(workspace(request).store, pipeline_id)
    return {}


@router.post("/{pipeline_id}/updates")
def start_update(request: Request, pipeline_id: str, body: StartUpdate | None = None,
                 who: str = Depends(user)) -> dict[str, Any]:
    """Start an update; 409 while another update of the pipeline is active."""
    body = body or StartUpdate()
    ws = workspace(request)
    if ws.draining:
        raise ApiError(503, "TEMPORARILY_UNAVAILABLE", "The server is shutting down",
                       {"Retry-After": "5"})
    row = _row(request, pipeline_id)
    if pipelines.active_runs(ws.store, pipeline_id):
        raise ApiError(409, "RESOURCE_CONFLICT", f"Pipeline {pipeline_id} has an active "
                       "update; stop it or wait for it to end")
    options = body.model_dump(exclude={"cause"})
    run, update_id = new_pipeline_update(ws.store, row, options, body.cause or "API_CALL", who)
    ws.service.accept(run)
    return {"update_id": update_id}


def _update_info(request: Request, row: Any, update: Any) -> dict[str, Any]:
    state, _ = pipelines.update_state(workspace(request).store, update)
    options = json.loads(update.options_json)
    return {"pipeline_id": row.pipeline_id, "update_id": update.update_id,
            "cause": update.cause, "state": state, "creation_time": update.created_ms,
            "config": _spec(row), "full_refresh": bool(options.get("full_refresh")),
            "full_refresh_selection": options.get("full_refresh_selection") or [],
            "refresh_selection": options.get("refresh_selection") or [],
            "validate_only": bool(options.get("validate_only")),
            "podium": {"run_id": update.run_id}}


@router.get("/{pipeline_id}/updates/{update_id}")
def get_update(request: Request, pipeline_id: str, update_id: str) -> dict[str, Any]:
    """One update: what was asked and its state."""
    row = _row(request, pipeline_id)
    try:
        update = pipelines.update(workspace(request).store, pipeline_id, update_id)
    except PipelineNotFound as exc:
        raise not_found(str(exc)) from None
    return {"update": _update_info(request, row, update)}


@router.get("/{pipeline_id}/updates")
def list_updates(request: Request, pipeline_id: str,
                 max_results: int = Query(25, ge=1, le=INT64_MAX),
                 page_token: str | None = None) -> dict[str, Any]:
    """A pipeline's updates, newest first."""
    row = _row(request, pipeline_id)
    before = token_number(page_token)
    found = pipelines.updates(workspace(request).store, pipeline_id,
                              min(max_results, MAX_RESULTS) + 1, before)
    out: dict[str, Any] = {"updates": [_update_info(request, row, u)
                                       for u in found[:max_results]]}
    if len(found) > max_results:
        out["next_page_token"] = str(found[max_results - 1].created_ms)
    return out


@router.get("/{pipeline_id}/events")
def events(request: Request, pipeline_id: str,
           max_results: int = Query(EVENTS_PAGE, ge=1, le=INT64_MAX),
           page_token: str | None = None, filter: str | None = None,
           order_by: list[str] | None = Query(None)) -> dict[str, Any]:
    """The pipeline's events, newest first unless `order_by=timestamp asc`: each
    update's start and what its flows did; `filter` by level, id or timestamp."""
    row = _row(request, pipeline_id)
    store = workspace(request).store
    found: list[dict[str, Any]] = []
    for update in pipelines.updates(store, pipeline_id, limit=1000):
        origin = {"pipeline_id": pipeline_id, "pipeline_name": row.name,
                  "update_id": update.update_id}
        found.append({"id": f"{update.update_id}-0", "event_type": "create_update",
                      "level": "INFO", "timestamp": _iso(update.created_ms), "origin": origin,
                      "message": f"Update {update.update_id[:6]} started by {update.cause}.",
                      "maturity_level": "STABLE"})
        _, kept = pipelines.update_state(store, update)
        for number, event in enumerate(kept, start=1):
            found.append({"id": f"{update.update_id}-{number}",
                          "event_type": event.get("event_type") or "log",
                          "level": event.get("level") or "INFO",
                          "timestamp": event.get("timestamp"), "message": event.get("message"),
                          "origin": {**origin, **({"flow_name": event["flow_name"]}
                                                  if event.get("flow_name") else {})},
                          "maturity_level": "STABLE"})
    found = [e for e in found if _matches(e, filter)]
    ascending = any("asc" in o.lower() for o in order_by or [])
    found.sort(key=lambda e: (e["timestamp"] or "", e["id"]), reverse=not ascending)
    start = offset_of(page_token)
    out: dict[str, Any] = {"events": found[start:start + max_results]}
    if start + max_results < len(found):
        out["next_page_token"] = str(start + max_results)
    return out


def _matches(event: dict[str, Any], expression: str | None) -> bool:
    """Databricks' event filters: `level='X'`, `level in ('X', 'Y')`, `id='..'` and
    `timestamp > '...'` (and >=, <, <=, =), joined with AND."""
    if not expression:
        return True
    for clause in re.split(r"\s+AND\s+", expression.strip(), flags=re.IGNORECASE):
        if (found := re.fullmatch(r"\s*level\s*=\s*'(\w+)'\s*", clause, re.IGNORECASE)):
            ok = event["level"] == found.group(1).upper()
        elif (found := re.fullmatch(r"\s*level\s+in\s*\(([^)]*)\)\s*", clause, re.IGNORECASE)):
            ok = event["level"] in re.findall(r"'(\w+)'", found.group(1).upper())
        elif (found := re.fullmatch(r"\s*id\s*=\s*'([^']*)'\s*", clause, re.IGNORECASE)):
            ok = event["id"] == found.group(1)
        elif (found := re.fullmatch(r"\s*timestamp\s*(>=|<=|>|<|=)\s*'([^']*)'\s*", clause,
                                    re.IGNORECASE)):
            have, op, want = event["timestamp"] or "", found.group(1), found.group(2)
            ok = {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want,
                  "=": have == want}[op]
        else:
            raise invalid(f"unsupported filter clause: {clause.strip()}; use level, id or "
                          "timestamp comparisons joined with AND")
        if not ok:
            return False
    return True


@router.post("/{pipeline_id}/stop")
def stop(request: Request, pipeline_id: str) -> dict[str, Any]:
    """Stop the pipeline's active update (nothing when none runs)."""
    _row(request, pipeline_id)
    store = workspace(request).store
    for run_id in pipelines.active_runs(store, pipeline_id):
        store.request_cancel(run_id)
    return {}
