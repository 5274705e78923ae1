"""Keeping the history true: runs whose process died, repairs, pruning old runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from podium import defaults
from podium.store.errors import RunBusy
from podium.store.runs import ACTIVE, HOST, RunStore, is_mine, now_ms
from podium.store.schema import (
    AttemptRow,
    ForEachIterationRow,
    NotebookRunRow,
    RepairRow,
    RunRow,
    TaskRunRow,
    TaskValueRow,
)

FINAL_TASK = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_ms() -> int:
    """How long a run's owner may go without a heartbeat before another process takes
    the run over: `PODIUM_RUN_LEASE_SECONDS`, else 30 s (heartbeats come every 2 s)."""
    return int(defaults.number_setting("PODIUM_RUN_LEASE_SECONDS") * 1000)


def owner_gone(row: RunRow, now: int) -> bool:
    """Whether the process that owns an active run has stopped: a dead pid on this host,
    or no heartbeat for the lease from anywhere (a dead host, or one cut off)."""
    if row.owner_host == HOST and not is_mine(row) and not pid_alive(row.owner_pid):
        return True
    return now - row.heartbeat_ms > lease_ms()


def adopt_unstarted(store: RunStore) -> list[int]:
    """Take over accepted runs that no live process started (PENDING or QUEUED, no task
    begun), as a restarted server does; each is taken by exactly one process."""
    now = now_ms()
    with store.sessions.begin() as db:
        rows = list(db.scalars(select(RunRow).where(RunRow.life.in_(("PENDING", "QUEUED")))
                               .order_by(RunRow.id)))
        candidates = [r for r in rows if not is_mine(r) and owner_gone(r, now)]
        started = set(db.scalars(select(TaskRunRow.run_id).where(
            TaskRunRow.run_id.in_([r.id for r in candidates]),
            TaskRunRow.life.not_in(("PENDING", "QUEUED")))))
        taken = []
        for row in candidates:
            if row.id in started:
                continue
            if _take(db, row, heartbeat_ms=now):
                taken.append(row.id)
    return taken


def _take(db: Any, row: RunRow, **values: Any) -> bool:
    """Make this process the owner of a run whose owner is gone, if the row is still as
    read (same owner, no heartbeat since): the old owner, should it come back, finds the
    run no longer its own and writes nothing more of it (runs.save_batch)."""
    done = db.execute(update(RunRow).where(
        RunRow.id == row.id, RunRow.owner_pid == row.owner_pid,
        RunRow.owner_host == row.owner_host, RunRow.heartbeat_ms == row.heartbeat_ms,
    ).values(owner_pid=os.getpid(), owner_host=HOST, **values))
    return done.rowcount == 1


def sweep_orphans(store: RunStore) -> list[int]:
    """Mark runs whose owner died as INTERNAL_ERROR (their unfinished tasks too); return
    their ids. Finished tasks keep their results, so a repair reruns only the rest."""
    now = now_ms()
    with store.sessions.begin() as db:
        rows = list(db.scalars(select(RunRow).where(RunRow.life.in_(ACTIVE))
                               .order_by(RunRow.id)))
        ended = []
        for row in [r for r in rows if not is_mine(r) and owner_gone(r, now)]:
            message = (f"The podium process that ran this run (pid {row.owner_pid} on "
                       f"{row.owner_host}) stopped without finishing it, or could not reach "
                       "the database for longer than the run lease; repair the run to "
                       "rerun its unfinished tasks")
            if not _take(db, row, life="INTERNAL_ERROR", result="FAILED", message=message,
                         end_ms=now):
                continue  # its owner wrote meanwhile: it is back
            db.execute(update(TaskRunRow).where(
                TaskRunRow.run_id == row.id, TaskRunRow.life.not_in(FINAL_TASK)
            ).values(life="INTERNAL_ERROR", message="Its process stopped"))
            ended.append(row.id)
        return ended


def start_repair(store: RunStore, run_id: int, rerun: list[str],
                 params: dict[str, str]) -> int:
    """Record a repair of a run: chosen tasks back to PENDING, the run RUNNING again and
    owned by this process. Returns the repair number. The run is taken with one
    conditional update, so of two concurrent repairs (two servers) one wins and the other
    gets RunBusy."""
    with store.sessions.begin() as db:
        row = db.get(RunRow, run_id)
        number = row.repair_count + 1
        taken = db.execute(update(RunRow).where(
            RunRow.id == run_id, RunRow.repair_count == row.repair_count,
            RunRow.life.not_in(ACTIVE)).values(repair_count=number))
        if taken.rowcount != 1:
            raise RunBusy(f"Run {run_id} is active or being repaired; repair it once it ended")
        db.execute(RepairRow.__table__.insert().values(
            run_id=run_id, number=number, created_ms=now_ms(),
            rerun_tasks_json=json.dumps(rerun), params_json=json.dumps(params)))
        db.execute(update(TaskRunRow).where(
            TaskRunRow.run_id == run_id, TaskRunRow.task_key.in_(rerun)
        ).values(life="PENDING", result=None, message="Repair", exit_value=None, error=None))
        merged = {**json.loads(row.params_json), **params}
        db.execute(update(RunRow).where(RunRow.id == run_id).values(
            life="RUNNING", result=None, message="", end_ms=None, repair_count=number,
            cancel_requested=False, owner_host=HOST, owner_pid=os.getpid(),
            heartbeat_ms=now_ms(), params_json=json.dumps(merged)))
        return number


def prune(store: RunStore, older_than_ms: int) -> list[int]:
    """Delete ended runs that ended before `now - older_than_ms`, and their log folders."""
    cutoff = now_ms() - older_than_ms
    with store.sessions.begin() as db:
        ids = list(db.scalars(select(RunRow.id).where(RunRow.life.not_in(ACTIVE),
                                                      RunRow.end_ms < cutoff)))
    return delete_runs(store, ids)


def delete_runs(store: RunStore, ids: list[int]) -> list[int]:
    """Delete these ended runs, everything recorded about them, and their log folders."""
    with store.sessions.begin() as db:
        ids = list(db.scalars(select(RunRow.id).where(RunRow.id.in_(ids),
                                                      RunRow.life.not_in(ACTIVE))))
        if ids:
            task_ids = select(TaskRunRow.id).where(TaskRunRow.run_id.in_(ids))
            for table in (AttemptRow, NotebookRunRow, ForEachIterationRow):
                db.execute(delete(table).where(table.task_run_id.in_(task_ids)))
            for table in (TaskValueRow, RepairRow, TaskRunRow):
                db.execute(delete(table).where(table.run_id.in_(ids)))
            db.execute(delete(RunRow).where(RunRow.id.in_(ids)))
    for run_id in ids:
        shutil.rmtree(Path(defaults.logs_dir()) / str(run_id), ignore_errors=True)
    return ids
