"""The store as arbiter between processes: how many runs of a job may be active
(`max_concurrent_runs`, `queue`), and which running task holds a declared output.

Each decision is one transaction under a lock: `BEGIN IMMEDIATE` on SQLite, an advisory
lock on PostgreSQL, so two processes never both take the last slot.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, text, update

from podium.store.runs import ACTIVE, RunStore, now_ms, owned_here
from podium.store.schema import JobRow, RunRow, TaskOutputRow, TaskRunRow

RUNNING_LIKE = tuple(s for s in ACTIVE if s != "QUEUED")


def _lock(db: Any, name: str) -> None:
    if db.bind.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                   {"k": zlib.crc32(name.encode())})


def _same_job(db: Any, job_id: int) -> Any:
    """Runs of the job whose version is `job_id`: same bundle, target and key (jobs of
    different bundles are different jobs, even with one key)."""
    job = db.get(JobRow, job_id)
    versions = select(JobRow.id).where(JobRow.bundle_root == job.bundle_root,
                                       JobRow.target == job.target, JobRow.key == job.key)
    return RunRow.job_id.in_(versions)


def _active_count(db: Any, job_id: int) -> int:
    return db.scalar(select(func.count()).select_from(RunRow).where(
        _same_job(db, job_id), RunRow.life.in_(RUNNING_LIKE)))


def admit(store: RunStore, run: Any, job_id: int, limit: int, queue: bool,
          wait: bool = False, claim: Callable[[Any, Any], None] | None = None) -> str:
    """Create the run as PENDING if the job has a free slot, else QUEUED (queue enabled,
    or `wait` for runs of one invocation), else SKIPPED. Returns the life-cycle state.
    `claim(db, run)` runs in the same transaction once the run has its id (a trigger's
    tick); if it raises, nothing is created."""
    with store.sessions.begin() as db:
        _lock(db, f"job:{run.job_key}")
        if _active_count(db, job_id) < limit:
            life, message = "PENDING", ""
        elif queue or wait:
            life, message = "QUEUED", (f"Queued: job '{run.job_key}' already has {limit} "
                                       f"active run(s) (max_concurrent_runs: {limit})")
        else:
            life, message = "SKIPPED", (f"Skipped: job '{run.job_key}' already has {limit} "
                                        f"active run(s) and max_concurrent_runs is {limit}; "
                                        "enable `queue` to wait instead")
        store.insert_run(db, run, job_id, life, message)
        if claim is not None:
            claim(db, run)
        if life == "SKIPPED":
            stamp = now_ms()
            db.execute(update(RunRow).where(RunRow.id == run.run_id).values(
                result="MAXIMUM_CONCURRENT_RUNS_REACHED", start_ms=stamp, end_ms=stamp))
            db.execute(update(TaskRunRow).where(TaskRunRow.run_id == run.run_id).values(
                life="SKIPPED", message="The run was skipped"))
    return life


def promote(store: RunStore, run_id: int, job_key: str, limit: int) -> bool:
    """Start a queued run if it is the job's oldest queued run and a slot is free."""
    with store.sessions.begin() as db:
        _lock(db, f"job:{job_key}")
        job_id = db.scalar(select(RunRow.job_id).where(RunRow.id == run_id))
        oldest = db.scalar(select(func.min(RunRow.id)).where(
            _same_job(db, job_id), RunRow.life == "QUEUED"))
        if oldest != run_id or _active_count(db, job_id) >= limit:
            return False
        promoted = db.execute(update(RunRow).where(RunRow.id == run_id, owned_here()).values(
            life="PENDING", message="", heartbeat_ms=now_ms()))
        return promoted.rowcount == 1  # else another process took the run over


def claim_output(store: RunStore, name: str, run_id: int, task_key: str,
                 job_key: str) -> str | None:
    """Take output `name` for a task; None when taken, else who holds it (a task of an
    active run). A holder whose run has ended loses it."""
    with store.sessions.begin() as db:
        _lock(db, f"output:{name}")
        row = db.get(TaskOutputRow, name)
        if row is not None and (row.run_id, row.task_key) != (run_id, task_key):
            holder = db.get(RunRow, row.run_id)
            if holder is not None and holder.life in ACTIVE:
                return (f"output '{name}' is being written by task '{row.task_key}' of run "
                        f"{row.run_id} (job '{row.job_key}')")
            db.delete(row)
            db.flush()
        if row is None or (row.run_id, row.task_key) != (run_id, task_key):
            db.add(TaskOutputRow(name=name, run_id=run_id, task_key=task_key, job_key=job_key,
                                 owner_pid=os.getpid(), since_ms=now_ms()))
    return None


def release_outputs(store: RunStore, run_id: int, task_key: str) -> None:
    """Give back every output a task held."""
    with store.sessions.begin() as db:
        for row in db.scalars(select(TaskOutputRow).where(TaskOutputRow.run_id == run_id,
                                                          TaskOutputRow.task_key == task_key)):
            db.delete(row)
