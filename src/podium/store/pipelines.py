"""The workspace's pipelines (`/api/2.0/pipelines`, `podium deploy`) and their updates.

A pipeline keeps Databricks' PipelineSpec as it was given (`settings`) and what podium runs
(`spec`, from `spec.pipelines`). An update is a run of the pipeline's one-task job; its
state is read from that run and the events its task kept."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from podium.store.errors import PipelineNotFound
from podium.store.pipeline_events import events_of
from podium.store.registry import deployed
from podium.store.runs import RunStore, now_ms
from podium.store.schema import (
    AttemptRow,
    PipelineUpdateRow,
    RunRow,
    TaskRunRow,
    WorkspacePipelineRow,
)

ACTIVE_RUN = ("PENDING", "QUEUED", "BLOCKED", "RUNNING", "TERMINATING", "WAITING_FOR_RETRY")


@dataclass(frozen=True)
class BundlePipeline:
    """Where a deployed pipeline comes from: one bundle root, target and key."""

    bundle_name: str
    bundle_root: str
    target: str
    key: str


def create(store: RunStore, settings: dict[str, Any], spec: dict[str, Any], user: str,
           origin: BundlePipeline | None = None, pipeline_id: str | None = None) -> str:
    """Register a pipeline; its `pipeline_id` (a new UUID, as Databricks' are, unless
    given)."""
    pipeline_id = pipeline_id or str(uuid.uuid4())
    stamp = now_ms()
    with store.sessions.begin() as db:
        db.add(WorkspacePipelineRow(
            pipeline_id=pipeline_id, name=str(settings.get("name") or pipeline_id),
            settings_json=json.dumps(settings), spec_json=json.dumps(spec),
            creator_user_name=user, created_ms=stamp, updated_ms=stamp,
            source="BUNDLE" if origin else "API",
            bundle_name=origin.bundle_name if origin else None,
            bundle_root=origin.bundle_root if origin else None,
            target=origin.target if origin else None, key=origin.key if origin else None))
    return pipeline_id


def get(store: RunStore, pipeline_id: str) -> WorkspacePipelineRow:
    """A pipeline, or PipelineNotFound."""
    rows = store.rows(select(WorkspacePipelineRow).where(
        WorkspacePipelineRow.pipeline_id == pipeline_id))
    if not rows:
        raise PipelineNotFound(f"The specified pipeline {pipeline_id} was not found.")
    return rows[0]


def page(store: RunStore, limit: int, after: str | None = None,
         name_like: str | None = None) -> tuple[list[WorkspacePipelineRow], bool]:
    """Pipelines by id after `after`, whose name is LIKE `name_like` (case-insensitive);
    and whether more follow."""
    query = select(WorkspacePipelineRow).order_by(WorkspacePipelineRow.pipeline_id)
    if after is not None:
        query = query.where(WorkspacePipelineRow.pipeline_id > after)
    if name_like is not None:
        query = query.where(func.lower(WorkspacePipelineRow.name).like(name_like.lower()))
    rows = store.rows(query.limit(limit + 1))
    return rows[:limit], len(rows) > limit


def edit(store: RunStore, pipeline_id: str, settings: dict[str, Any],
         spec: dict[str, Any]) -> None:
    """Replace a pipeline's settings (its next update runs them)."""
    with store.sessions.begin() as db:
        row = db.get(WorkspacePipelineRow, pipeline_id)
        if row is None:
            raise PipelineNotFound(f"The specified pipeline {pipeline_id} was not found.")
        row.name = str(settings.get("name") or pipeline_id)
        row.settings_json, row.spec_json = json.dumps(settings), json.dumps(spec)
        row.updated_ms = now_ms()


def remove(store: RunStore, pipeline_id: str) -> None:
    """Delete a pipeline and its updates' records (their runs stay in the history)."""
    with store.sessions.begin() as db:
        if db.execute(delete(WorkspacePipelineRow).where(
                WorkspacePipelineRow.pipeline_id == pipeline_id)).rowcount == 0:
            raise PipelineNotFound(f"The specified pipeline {pipeline_id} was not found.")
        db.execute(delete(PipelineUpdateRow).where(
            PipelineUpdateRow.pipeline_id == pipeline_id))


def deploy(store: RunStore, pipelines: dict[str, tuple[dict[str, Any], dict[str, Any]]],
           origin: BundlePipeline, user: str) -> tuple[dict[str, str], list[str]]:
    """Register a bundle's pipelines ({key: (settings, spec)}) as `databricks bundle
    deploy` does: the same bundle root, target and key keep their `pipeline_id`; ones the
    bundle no longer has are deleted. Returns {key: pipeline_id} and the deleted ids."""
    stamp = now_ms()
    ids: dict[str, str] = {}
    with store.sessions.begin() as db:
        existing = deployed(db, WorkspacePipelineRow, origin)
        for key, (settings, spec) in pipelines.items():
            row = existing.pop(key, None)
            if row is None:
                row = WorkspacePipelineRow(
                    pipeline_id=str(uuid.uuid4()), created_ms=stamp, creator_user_name=user,
                    source="BUNDLE", bundle_root=origin.bundle_root, target=origin.target,
                    key=key)
                db.add(row)
            row.name = str(settings.get("name") or key)
            row.settings_json, row.spec_json = json.dumps(settings), json.dumps(spec)
            row.bundle_name, row.updated_ms = origin.bundle_name, stamp
            ids[key] = row.pipeline_id
        gone = [row.pipeline_id for row in existing.values()]
        for row in existing.values():
            db.delete(row)
        if gone:
            db.execute(delete(PipelineUpdateRow).where(PipelineUpdateRow.pipeline_id.in_(gone)))
    return ids, gone


def record_update(db: Any, pipeline_id: str, run_id: int, cause: str,
                  options: dict[str, Any]) -> str:
    """Note an update in the transaction that admits its run; its `update_id`."""
    update_id = str(uuid.uuid4())
    db.add(PipelineUpdateRow(update_id=update_id, pipeline_id=pipeline_id, run_id=run_id,
                             cause=cause, options_json=json.dumps(options),
                             created_ms=now_ms()))
    return update_id


def updates(store: RunStore, pipeline_id: str, limit: int = 25,
            before_ms: int | None = None) -> list[PipelineUpdateRow]:
    """A pipeline's updates, newest first."""
    query = select(PipelineUpdateRow).where(PipelineUpdateRow.pipeline_id == pipeline_id)
    if before_ms is not None:
        query = query.where(PipelineUpdateRow.created_ms < before_ms)
    return store.rows(query.order_by(PipelineUpdateRow.created_ms.desc(),
                                     PipelineUpdateRow.update_id).limit(limit))


def update(store: RunStore, pipeline_id: str, update_id: str) -> PipelineUpdateRow:
    """One update of a pipeline, or PipelineNotFound."""
    rows = store.rows(select(PipelineUpdateRow).where(
        PipelineUpdateRow.update_id == update_id,
        PipelineUpdateRow.pipeline_id == pipeline_id))
    if not rows:
        raise PipelineNotFound(f"Update {update_id} of pipeline {pipeline_id} was not found.")
    return rows[0]


def active_runs(store: RunStore, pipeline_id: str) -> list[int]:
    """The runs of the pipeline's updates that have not ended."""
    return list(store.rows(select(RunRow.id).join(
        PipelineUpdateRow, PipelineUpdateRow.run_id == RunRow.id).where(
        PipelineUpdateRow.pipeline_id == pipeline_id, RunRow.life.in_(ACTIVE_RUN))))


def update_state(store: RunStore, row: PipelineUpdateRow) -> tuple[str, list[dict[str, Any]]]:
    """Databricks' state of an update (QUEUED, WAITING_FOR_RESOURCES, INITIALIZING, RUNNING,
    STOPPING, COMPLETED, FAILED, CANCELED) and its events, oldest first."""
    run = store.rows(select(RunRow).where(RunRow.id == row.run_id))
    tasks = store.rows(select(TaskRunRow).where(TaskRunRow.run_id == row.run_id))
    task = tasks[0] if tasks else None
    logs = store.rows(select(AttemptRow.log_path).where(
        AttemptRow.task_run_id == task.id).order_by(AttemptRow.number)) if task else []
    events = [e for log in logs for e in events_of(log)]
    life, result = (run[0].life, run[0].result) if run else ("TERMINATED", "FAILED")
    if life in ("PENDING", "QUEUED", "BLOCKED"):
        state = "QUEUED"
    elif life == "TERMINATING":
        state = "STOPPING"
    elif life in ACTIVE_RUN:  # the run is under way: its task waits for the cluster, or runs
        state = "WAITING_FOR_RESOURCES" if task is None or task.life != "RUNNING" else \
            "RUNNING" if events else "INITIALIZING"
    else:
        state = {"SUCCESS": "COMPLETED", "CANCELED": "CANCELED"}.get(result or "", "FAILED")
    return state, events
