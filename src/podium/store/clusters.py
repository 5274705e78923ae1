"""The workspace's shared clusters: which are up, where, since when, last used when.

Every process reads this table to find a shared cluster's Spark Connect address; the
process that supervises a cluster writes its state; processes running tasks on it touch
`last_used_ms`, which drives auto-termination.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, or_, select, update

from podium.store.runs import HOST, RunStore, now_ms
from podium.store.schema import ClusterEventRow, SharedClusterRow

LIVE = ("PENDING", "RUNNING", "RESTARTING", "TERMINATING")
EVENT_OF = {"PENDING": "STARTING", "RUNNING": "RUNNING", "RESTARTING": "RESTARTING",
            "TERMINATING": "TERMINATING", "TERMINATED": "TERMINATED", "ERROR": "TERMINATED"}


def add_event(db: Any, key: str, kind: str, **details: Any) -> None:
    """Record a cluster event inside the caller's transaction."""
    db.add(ClusterEventRow(cluster_id=key, timestamp=now_ms(), type=kind,
                           details_json=json.dumps(details, default=str)))


def events(store: RunStore, key: str) -> list[ClusterEventRow]:
    """A cluster's events, newest first."""
    return store.rows(select(ClusterEventRow).where(ClusterEventRow.cluster_id == key)
                      .order_by(ClusterEventRow.id.desc()))


def claim(store: RunStore, key: str, cluster_name: str | None, spec: dict[str, Any],
          autotermination_minutes: int) -> bool:
    """Record that `key` is starting; False when it is already live."""
    with store.sessions.begin() as db:
        row = db.get(SharedClusterRow, key, with_for_update=True)
        if row is not None and row.state in LIVE:
            return False
        stamp = now_ms()
        values = dict(cluster_name=cluster_name, state="PENDING", message="Starting",
                      url=None, application_id=None, host=HOST, pid=None,
                      spec_json=json.dumps(spec, sort_keys=True, default=str),
                      autotermination_minutes=autotermination_minutes, start_ms=stamp,
                      last_used_ms=stamp, end_ms=None)
        if row is None:
            db.add(SharedClusterRow(key=key, **values))
            add_event(db, key, "CREATING")
        else:
            for name, value in values.items():
                setattr(row, name, value)
            add_event(db, key, "STARTING")
    return True


def set_state(store: RunStore, key: str, state: str, message: str = "",
              code: str | None = None, **values: Any) -> None:
    """Move a shared cluster to `state` (with its url, pid, application id…); its event
    gives `message` with reason `code` (Databricks' TerminationReason codes)."""
    if state in ("TERMINATED", "ERROR"):
        values.setdefault("end_ms", now_ms())
    with store.sessions.begin() as db:
        done = db.execute(update(SharedClusterRow).where(SharedClusterRow.key == key).values(
            state=state, message=message, **values))
        if done.rowcount == 0:  # permanently deleted meanwhile
            return
        code = code or ("ERROR" if state == "ERROR" else "USER_REQUEST")
        details = {"reason": {"code": code, "parameters": {"message": message}}} \
            if message else {}
        add_event(db, key, EVENT_OF.get(state, state), **details)


def set_pid(store: RunStore, key: str, pid: int) -> None:
    """Record the supervising process of a starting cluster (its state is left alone)."""
    with store.sessions.begin() as db:
        db.execute(update(SharedClusterRow).where(SharedClusterRow.key == key).values(pid=pid))


def find(store: RunStore, name: str) -> SharedClusterRow | None:
    """A shared cluster by key, or else by `cluster_name` (the newest)."""
    rows = store.rows(select(SharedClusterRow).where(or_(
        SharedClusterRow.key == name, SharedClusterRow.cluster_name == name)).order_by(
        SharedClusterRow.start_ms.desc()))
    by_key = [r for r in rows if r.key == name]
    return (by_key or rows or [None])[0]


# Kept with a SQL warehouse's cluster spec (its own settings): a warehouse is a shared
# cluster that the SQL Warehouses API lists and `sql_task`s with its id run on.
WAREHOUSE = "sql_warehouse"


def is_warehouse(row: SharedClusterRow) -> bool:
    """Whether a shared cluster is a SQL warehouse."""
    return WAREHOUSE in json.loads(row.spec_json)


def warehouse(store: RunStore, name: str) -> SharedClusterRow | None:
    """A SQL warehouse by id, or else by its name."""
    rows = [r for r in all_clusters(store) if is_warehouse(r)]
    return next((r for r in rows if r.key == name), None) or next(
        (r for r in rows if json.loads(r.spec_json)[WAREHOUSE].get("name") == name), None)


def all_clusters(store: RunStore) -> list[SharedClusterRow]:
    """Every shared cluster this workspace has known, by key."""
    return store.rows(select(SharedClusterRow).order_by(SharedClusterRow.key))


def touch(store: RunStore, keys: list[str]) -> None:
    """Note that tasks use these clusters (by key or cluster_name) now, which keeps
    auto-termination away."""
    if keys:
        with store.sessions.begin() as db:
            db.execute(update(SharedClusterRow).where(or_(
                SharedClusterRow.key.in_(keys), SharedClusterRow.cluster_name.in_(keys)))
                .values(last_used_ms=now_ms()))


def set_spec(store: RunStore, key: str, cluster_name: str | None, spec: dict[str, Any],
             autotermination_minutes: int) -> None:
    """Replace a cluster's spec (`clusters/edit`); it applies from its next start."""
    with store.sessions.begin() as db:
        db.execute(update(SharedClusterRow).where(SharedClusterRow.key == key).values(
            cluster_name=cluster_name, spec_json=json.dumps(spec, sort_keys=True, default=str),
            autotermination_minutes=autotermination_minutes))
        add_event(db, key, "EDITED")


def forget(store: RunStore, key: str) -> None:
    """Remove a cluster and its events from the registry (`permanent-delete`)."""
    with store.sessions.begin() as db:
        db.execute(delete(ClusterEventRow).where(ClusterEventRow.cluster_id == key))
        db.execute(delete(SharedClusterRow).where(SharedClusterRow.key == key))
