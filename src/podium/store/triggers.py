"""What the trigger loop decided, shared by every server of a workspace: the ticks of
each job (fired with their run, or skipped with why) and where its trigger stands.

Exactly once: a fired tick's row is inserted in the transaction that creates its run
(its key is the job and the due time), and trigger state is written only if its
`version` is the one read, so of several servers one wins and the others see TickTaken.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from podium.store.errors import TickTaken
from podium.store.runs import RunStore, now_ms
from podium.store.schema import RunRow, TriggerStateRow, TriggerTickRow

KEEP_TICKS = 1000  # per job; older ticks are pruned


def state_for(store: RunStore, job_id: int, spec_hash: str, now: int) -> TriggerStateRow:
    """The job's trigger state; new (or reset, when its settings changed) as of `now`,
    so ticks before the settings were seen never fire."""
    with store.sessions.begin() as db:
        row = db.get(TriggerStateRow, job_id)
        if row is None:
            row = TriggerStateRow(job_id=job_id, spec_hash=spec_hash, since_ms=now,
                                  considered_ms=now, checked_ms=0, watermark_json="{}",
                                  version=0)
            try:
                with db.begin_nested():
                    db.add(row)
            except IntegrityError:  # another server made it a moment ago
                row = db.get(TriggerStateRow, job_id)
        elif row.spec_hash != spec_hash:
            db.execute(update(TriggerStateRow).where(
                TriggerStateRow.job_id == job_id, TriggerStateRow.version == row.version
            ).values(spec_hash=spec_hash, since_ms=now, considered_ms=now, checked_ms=0,
                     watermark_json="{}", version=row.version + 1))
            db.expire(row)
            row = db.get(TriggerStateRow, job_id)
        db.expunge(row)
        return row


def states(store: RunStore) -> dict[int, TriggerStateRow]:
    """Every job's trigger state by job id (one read per loop step)."""
    return {row.job_id: row for row in store.rows(select(TriggerStateRow))}


def claim(db: Any, state: TriggerStateRow, **values: Any) -> None:
    """Write trigger state inside the caller's transaction if nobody wrote it since
    `state` was read; else TickTaken (and the caller's transaction rolls back)."""
    done = db.execute(update(TriggerStateRow).where(
        TriggerStateRow.job_id == state.job_id, TriggerStateRow.version == state.version
    ).values(version=state.version + 1, **values))
    if done.rowcount != 1:
        raise TickTaken(f"job {state.job_id}: another server moved its trigger first")


def write_state(store: RunStore, state: TriggerStateRow, **values: Any) -> bool:
    """`claim` in a transaction of its own; whether it was written."""
    try:
        with store.sessions.begin() as db:
            claim(db, state, **values)
        return True
    except TickTaken:
        return False


def fire_tick(db: Any, job_id: int, due_ms: int, kind: str, run_id: int) -> None:
    """Insert a fired tick inside the transaction creating its run; IntegrityError when
    another server fired it."""
    db.execute(TriggerTickRow.__table__.insert().values(
        job_id=job_id, due_ms=due_ms, kind=kind, state="FIRED", run_id=run_id, reason="",
        created_ms=now_ms()))


def skip_ticks(store: RunStore, job_id: int, kind: str, due: list[int], reason: str) -> None:
    """Record ticks that did not run, and why; ticks already recorded stay as they are."""
    if not due:
        return
    with store.sessions.begin() as db:
        insert = postgresql_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
        stamp = now_ms()
        db.execute(insert(TriggerTickRow.__table__).on_conflict_do_nothing(), [
            {"job_id": job_id, "due_ms": d, "kind": kind, "state": "SKIPPED", "run_id": None,
             "reason": reason, "created_ms": stamp} for d in due])


def ticks(store: RunStore, job_id: int, limit: int = 50) -> list[TriggerTickRow]:
    """The job's latest ticks, newest first."""
    with store.sessions.begin() as db:
        rows = list(db.scalars(select(TriggerTickRow).where(TriggerTickRow.job_id == job_id)
                               .order_by(TriggerTickRow.due_ms.desc()).limit(limit)))
        db.expunge_all()
        return rows


def prune_ticks(store: RunStore, job_id: int, keep: int = KEEP_TICKS) -> None:
    """Forget all but the job's newest `keep` ticks."""
    with store.sessions.begin() as db:
        cutoff = db.scalar(select(TriggerTickRow.due_ms).where(
            TriggerTickRow.job_id == job_id).order_by(TriggerTickRow.due_ms.desc())
            .offset(keep).limit(1))
        if cutoff is not None:
            db.execute(delete(TriggerTickRow).where(TriggerTickRow.job_id == job_id,
                                                    TriggerTickRow.due_ms <= cutoff))


def recent_runs(store: RunStore, job_id: int, limit: int = 20) -> list[Any]:
    """The registry job's latest runs, newest first: (life, result, end_ms, trigger)."""
    with store.sessions.begin() as db:
        return list(db.execute(select(RunRow.life, RunRow.result, RunRow.end_ms, RunRow.trigger)
                               .where(RunRow.workspace_job_id == job_id)
                               .order_by(RunRow.id.desc()).limit(limit)).all())
