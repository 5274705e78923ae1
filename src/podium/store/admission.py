"""The store as arbiter between processes: how many runs of a job may be active
(`max_concurrent_runs`, `queue`), and which running task holds a declared output.

Each decision is one transaction under a lock: `BEGIN IMMEDIATE` on SQLite, an advisory
lock on PostgreSQL, so two processes never both take the last slot.
"""

from __future__ import annotations

import os
import threading
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update

from podium.store.runs import ACTIVE, RunStore, now_ms, owned_here
from podium.store.schema import JobRow, RunRow, TaskOutputRow, TaskRunRow

RUNNING_LIKE = tuple(s for s in ACTIVE if s != "QUEUED")


def _lock(db: Any, name: str) -> None:
    """Take the transaction-long lock `name` (PostgreSQL; SQLite's write lock is whole)."""
    bind = db if isinstance(db, Connection) else db.get_bind()
    if bind.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                   {"k": zlib.crc32(name.encode())})


_jobs, _runs = JobRow.__table__, RunRow.__table__
_IDENTITY = select(_jobs.c.id, _jobs.c.bundle_root, _jobs.c.target, _jobs.c.key).where(
    _jobs.c.id.in_(bindparam("ids", expanding=True)))
# The versions of one job: same bundle, target and key (jobs of different bundles are
# different jobs, even with one key); the statements below take its three as parameters.
_VERSIONS = select(_jobs.c.id).where(
    _jobs.c.bundle_root == bindparam("root"), _jobs.c.target == bindparam("target"),
    _jobs.c.key == bindparam("key"))
_ACTIVE = select(func.count()).select_from(_runs).where(
    _runs.c.job_id.in_(_VERSIONS), _runs.c.life.in_(RUNNING_LIKE))
_OLDEST_QUEUED = select(func.min(_runs.c.id)).where(
    _runs.c.job_id.in_(_VERSIONS), _runs.c.life == "QUEUED")


def _identities(db: Any, job_ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """Each job version's job: (bundle root, target, key)."""
    return {row.id: (row.bundle_root, row.target, row.key)
            for row in db.execute(_IDENTITY, {"ids": sorted(job_ids)})}


def _of(job: tuple[str, str, str]) -> dict[str, str]:
    return {"root": job[0], "target": job[1], "key": job[2]}


@dataclass
class _Ask:
    """One run waiting to be admitted, and, once written, its state or the error."""

    run: Any
    job_id: int
    limit: int
    queue: bool
    life: str = ""
    error: BaseException | None = None
    done: bool = False


def _decide(db: Any, asks: list[_Ask]) -> None:
    """Give each ask its state, in order, and insert the runs: one count per job for
    the lot (a run made PENDING takes a slot from the ones after it)."""
    identity = _identities(db, {ask.job_id for ask in asks})
    jobs = set(identity.values())
    for key in sorted({key for _, _, key in jobs}):  # every writer locks in this order
        _lock(db, f"job:{key}")
    active = {job: db.execute(_ACTIVE, _of(job)).scalar() for job in jobs}
    for ask in asks:
        job, key = identity[ask.job_id], ask.run.job_key
        if active[job] < ask.limit:
            ask.life, message = "PENDING", ""
            active[job] += 1
        elif ask.queue:
            ask.life, message = "QUEUED", (f"Queued: job '{key}' already has {ask.limit} "
                                           f"active run(s) (max_concurrent_runs: "
                                           f"{ask.limit})")
        else:
            ask.life, message = "SKIPPED", (
                f"Skipped: job '{key}' already has {ask.limit} active run(s) and "
                f"max_concurrent_runs is {ask.limit}; enable `queue` to wait instead")
        ask.run.message = message
    RunStore.insert_runs(db, [(a.run, a.job_id, a.life, a.run.message) for a in asks])
    skipped = [ask.run.run_id for ask in asks if ask.life == "SKIPPED"]
    if skipped:
        stamp = now_ms()
        db.execute(update(RunRow).where(RunRow.id.in_(skipped)).values(
            result="MAXIMUM_CONCURRENT_RUNS_REACHED", start_ms=stamp, end_ms=stamp))
        db.execute(update(TaskRunRow).where(TaskRunRow.run_id.in_(skipped)).values(
            life="SKIPPED", message="The run was skipped"))


class _GroupCommit:
    """Admissions asked at once by many threads, written in one transaction (a group
    commit): while one thread writes a batch, the asks that arrive wait, and the next
    thread to write takes them all. Under a burst of run-now requests this takes the
    store's write lock once per batch instead of once per run."""

    def __init__(self) -> None:
        self.pending: list[_Ask] = []
        self.mutex = threading.Lock()  # guards `pending`
        self.writer = threading.Lock()  # one batch written at a time

    def admit(self, store: RunStore, ask: _Ask) -> str:
        with self.mutex:
            self.pending.append(ask)
        with self.writer:
            if not ask.done:
                with self.mutex:
                    batch, self.pending = self.pending, []
                _write(store, batch)
        if ask.error is not None:
            raise ask.error
        return ask.life


def _write(store: RunStore, batch: list[_Ask]) -> None:
    """Admit the batch in one transaction; if that fails (a repeated idempotency token),
    each ask alone, so only the one at fault gets the error. Every ask ends done."""
    try:
        try:
            with store.engine.begin() as db:
                _decide(db, batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for ask in batch:
                    try:
                        with store.engine.begin() as db:
                            _decide(db, [ask])
                    except Exception as alone:
                        ask.error = alone
    finally:
        for ask in batch:
            if not ask.life and ask.error is None:  # the writer itself was interrupted
                ask.error = RuntimeError("the admission was interrupted; retry the run")
            ask.done = True


_batches: weakref.WeakKeyDictionary[RunStore, _GroupCommit] = weakref.WeakKeyDictionary()
_batches_lock = threading.Lock()


def admit(store: RunStore, run: Any, job_id: int, limit: int, queue: bool,
          wait: bool = False, claim: Callable[[Any, Any], None] | None = None) -> str:
    """Create the run as PENDING if the job has a free slot, else QUEUED (queue enabled,
    or `wait` for runs of one invocation), else SKIPPED. Returns the life-cycle state.
    `claim(db, run)` runs in the same transaction once the run has its id (a trigger's
    tick); if it raises, nothing is created. Runs admitted at once by several threads
    share one transaction."""
    ask = _Ask(run, job_id, limit, queue or wait)
    if claim is not None:  # a trigger's tick: its own transaction
        with store.sessions.begin() as db:
            _decide(db, [ask])
            claim(db, run)
        return ask.life
    with _batches_lock:
        batches = _batches.setdefault(store, _GroupCommit())
    return batches.admit(store, ask)


def promote(store: RunStore, run_id: int, job_key: str, limit: int) -> bool:
    """Start a queued run if it is the job's oldest queued run and a slot is free."""
    with store.sessions.begin() as db:
        _lock(db, f"job:{job_key}")
        job_id = db.scalar(select(RunRow.job_id).where(RunRow.id == run_id))
        job = _of(_identities(db, {job_id})[job_id])
        if (db.execute(_OLDEST_QUEUED, job).scalar() != run_id
                or db.execute(_ACTIVE, job).scalar() >= limit):
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
