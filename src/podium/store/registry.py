"""The workspace's job registry: jobs with stable `job_id`s, deployed from bundles or
created through the Jobs API, their settings kept in the Jobs API `JobSettings` shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from podium.store.errors import JobNotFound
from podium.store.runs import RunStore, now_ms
from podium.store.schema import TriggerStateRow, TriggerTickRow, WorkspaceJobRow


@dataclass(frozen=True)
class BundleJob:
    """Where a deployed job comes from: one bundle root, target and key."""

    bundle_name: str
    bundle_root: str
    target: str
    key: str


def _settings(row: WorkspaceJobRow) -> dict[str, Any]:
    return json.loads(row.settings_json)


def job_view(row: WorkspaceJobRow, expand_tasks: bool = True) -> dict[str, Any]:
    """A job in the Jobs API `jobs/get` shape (`jobs/list` drops tasks unless asked)."""
    settings = _settings(row)
    if not expand_tasks:
        settings = {k: v for k, v in settings.items() if k not in ("tasks", "job_clusters")}
    out: dict[str, Any] = {"job_id": row.job_id, "creator_user_name": row.creator_user_name,
                           "run_as_user_name": row.creator_user_name,
                           "created_time": row.created_ms, "settings": settings}
    if row.source == "BUNDLE":
        out["podium"] = {"source": "BUNDLE", "bundle": row.bundle_name,
                         "bundle_root": row.bundle_root, "target": row.target, "key": row.key}
    else:
        out["podium"] = {"source": "API"}
    return out


def create(store: RunStore, settings: dict[str, Any], user: str,
           origin: BundleJob | None = None) -> int:
    """Register a job; its new `job_id`."""
    stamp = now_ms()
    with store.sessions.begin() as db:
        row = WorkspaceJobRow(
            name=str(settings.get("name") or "Untitled"), settings_json=json.dumps(settings),
            creator_user_name=user, created_ms=stamp, updated_ms=stamp,
            source="BUNDLE" if origin else "API",
            bundle_name=origin.bundle_name if origin else None,
            bundle_root=origin.bundle_root if origin else None,
            target=origin.target if origin else None, key=origin.key if origin else None)
        db.add(row)
        db.flush()
        return int(row.job_id)


def get(store: RunStore, job_id: int) -> WorkspaceJobRow:
    """A registered job, or JobNotFound."""
    with store.reads.begin() as db:
        row = db.get(WorkspaceJobRow, job_id)
        if row is None:
            raise JobNotFound(f"Job {job_id} does not exist.")
        db.expunge(row)
        return row


def page(store: RunStore, limit: int, after: int | None = None, offset: int = 0,
         name: str | None = None) -> tuple[list[WorkspaceJobRow], bool]:
    """Jobs by ascending id, after the id `after` (keyset) or from `offset`; and whether
    more follow."""
    query = select(WorkspaceJobRow).order_by(WorkspaceJobRow.job_id)
    if after is not None:
        query = query.where(WorkspaceJobRow.job_id > after)
    if name is not None:
        query = query.where(func.lower(WorkspaceJobRow.name) == name.lower())
    with store.reads.begin() as db:
        rows = list(db.scalars(query.offset(offset).limit(limit + 1)))
        for row in rows:
            db.expunge(row)
    return rows[:limit], len(rows) > limit


def started_by_triggers(store: RunStore) -> list[WorkspaceJobRow]:
    """Jobs whose settings have a `schedule`, `trigger` or `continuous` (what the
    trigger loop looks at each turn)."""
    text = WorkspaceJobRow.settings_json
    with store.reads.begin() as db:
        rows = list(db.scalars(select(WorkspaceJobRow).where(
            text.contains('"schedule"') | text.contains('"trigger"')
            | text.contains('"continuous"')).order_by(WorkspaceJobRow.job_id)))
        for row in rows:
            db.expunge(row)
    return rows


def replace(store: RunStore, job_id: int, settings: dict[str, Any]) -> None:
    """Overwrite a job's settings (`jobs/reset`, a redeploy)."""
    with store.sessions.begin() as db:
        done = db.execute(update(WorkspaceJobRow).where(WorkspaceJobRow.job_id == job_id).values(
            settings_json=json.dumps(settings), name=str(settings.get("name") or "Untitled"),
            updated_ms=now_ms()))
        if done.rowcount == 0:
            raise JobNotFound(f"Job {job_id} does not exist.")


def remove(store: RunStore, job_id: int) -> None:
    """Delete a job (its runs stay in the history) and its trigger's state and ticks."""
    with store.sessions.begin() as db:
        if db.execute(delete(WorkspaceJobRow).where(
                WorkspaceJobRow.job_id == job_id)).rowcount == 0:
            raise JobNotFound(f"Job {job_id} does not exist.")
        _forget_triggers(db, [job_id])


def _forget_triggers(db: Any, job_ids: list[int]) -> None:
    db.execute(delete(TriggerStateRow).where(TriggerStateRow.job_id.in_(job_ids)))
    db.execute(delete(TriggerTickRow).where(TriggerTickRow.job_id.in_(job_ids)))


def deployed(db: Any, row_type: Any, origin: Any) -> dict[str, Any]:
    """The rows of `row_type` (jobs or pipelines) that `origin`'s bundle root and target
    deployed before, by key."""
    return {row.key: row for row in db.scalars(select(row_type).where(
        row_type.bundle_root == origin.bundle_root, row_type.target == origin.target))}


def deploy(store: RunStore, jobs: dict[str, dict[str, Any]], origin: BundleJob,
           user: str) -> tuple[dict[str, int], list[int]]:
    """Register a bundle's jobs as `databricks bundle deploy` does: the same bundle root,
    target and key keep their `job_id`, changed settings are updated, and jobs the bundle
    no longer has are deleted. Returns {key: job_id} and the deleted ids."""
    stamp = now_ms()
    ids: dict[str, int] = {}
    with store.sessions.begin() as db:
        existing = deployed(db, WorkspaceJobRow, origin)
        for key, settings in jobs.items():
            row = existing.pop(key, None)
            if row is None:
                row = WorkspaceJobRow(created_ms=stamp, creator_user_name=user,
                                      source="BUNDLE", bundle_root=origin.bundle_root,
                                      target=origin.target, key=key)
                db.add(row)
            row.name = str(settings.get("name") or key)
            row.settings_json = json.dumps(settings)
            row.bundle_name = origin.bundle_name
            row.updated_ms = stamp
            db.flush()
            ids[key] = int(row.job_id)
        gone = [int(row.job_id) for row in existing.values()]
        for row in existing.values():
            db.delete(row)
        _forget_triggers(db, gone)
    return ids, gone


STARTS = ("schedule", "trigger", "continuous")  # what starts a job besides a request


def pause_changes(settings: dict[str, Any], status: str) -> dict[str, dict[str, Any]]:
    """The job's schedule, trigger and continuous settings (those it has) with
    `pause_status` set to `status`: what pausing or resuming it writes."""
    return {k: {**settings[k], "pause_status": status} for k in STARTS
            if isinstance(settings.get(k), dict)}


def paused(settings: dict[str, Any]) -> bool | None:
    """Whether what starts the job is paused; None when only requests start it."""
    present = [settings[k] for k in STARTS if isinstance(settings.get(k), dict)]
    return present[0].get("pause_status") == "PAUSED" if present else None


def start_text(settings: dict[str, Any]) -> str | None:
    """What starts the job, in a few words (`cron 0 0 3 * * ? (Europe/Paris)`,
    `file arrival`, `continuous`); None when only requests start it."""
    schedule, trigger = settings.get("schedule"), settings.get("trigger")
    if isinstance(schedule, dict):
        return (f"cron {schedule.get('quartz_cron_expression')} "
                f"({schedule.get('timezone_id') or 'UTC'})")
    if isinstance(trigger, dict):
        kind = next((k for k in ("periodic", "file_arrival", "table_update", "table")
                     if trigger.get(k)), "trigger")
        return kind.replace("_", " ")
    return "continuous" if isinstance(settings.get("continuous"), dict) else None


def settings_of(row: WorkspaceJobRow) -> dict[str, Any]:
    """A registered job's settings (JobSettings)."""
    return _settings(row)
