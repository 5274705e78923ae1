"""Writing and reading runs: every state change of a run, task run and attempt.

The recorder collects the changes of one loop turn and writes them with `save_batch` in
one short transaction before the executor acts on them (starts task code), so what is
stored is never behind what was started.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import sessionmaker

from podium.store.errors import RunNotFound
from podium.store.schema import (
    AttemptRow,
    ForEachIterationRow,
    JobRow,
    NotebookRunRow,
    RepairRow,
    RunIdCounterRow,
    RunRow,
    TaskRunRow,
    TaskValueRow,
)

# The engine's Run and TaskRun, taken by shape: the store does not import the engine.
RunLike = Any
TaskRunLike = Any


_counter = RunIdCounterRow.__table__
TAKE_IDS = (update(_counter).where(_counter.c.name == "runs")
            .values(next_id=_counter.c.next_id + bindparam("count"))
            .returning(_counter.c.next_id))


def take_run_ids(db: Any, count: int) -> int:
    """Reserve `count` consecutive run ids inside the caller's transaction and return
    the first. The counter row's update locks it until commit, so concurrent writers
    (several servers on one PostgreSQL) never get the same ids."""
    after = db.execute(TAKE_IDS, {"count": count}).scalar_one()
    return int(after) - count


def now_ms() -> int:
    """Epoch milliseconds."""
    return int(time.time() * 1000)


HOST = socket.gethostname()

_runs, _tasks, _attempts = RunRow.__table__, TaskRunRow.__table__, AttemptRow.__table__
SAVE_RUN = _runs.update().where(_runs.c.id == bindparam("b_id")).values(
    {name: bindparam(f"b_{name}") for name in (
        "life", "result", "message", "start_ms", "end_ms", "params_json", "heartbeat_ms")})
_TASK_FIELDS = ("life", "result", "message", "cluster_key", "spark_context_id",
                "exit_value", "error", "usage_json")
SAVE_TASK = _tasks.update().where(_tasks.c.id == bindparam("b_tid")).values(
    {name: bindparam(f"b_{name}") for name in _TASK_FIELDS})
_ATTEMPT_FIELDS = ("start_ms", "end_ms", "result", "error", "log_path")
_iterations = ForEachIterationRow.__table__
_ITERATION_FIELDS = ("life", "result", "start_ms", "end_ms", "error", "log_path")
SAVE_ITERATION = _iterations.update().where(
    _iterations.c.task_run_id == bindparam("b_tid"), _iterations.c.idx == bindparam("b_idx")
).values({name: bindparam(f"b_{name}") for name in _ITERATION_FIELDS})
NEW_ITERATION = _iterations.insert().values(
    task_run_id=bindparam("b_tid"), idx=bindparam("b_idx"),
    input_json=bindparam("b_input_json"),
    **{name: bindparam(f"b_{name}") for name in _ITERATION_FIELDS})


def _upsert_attempt(dialect: str) -> Any:
    """Insert an attempt or update its outcome (its repair number stays)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_attempts).values(
        task_run_id=bindparam("b_tid"), number=bindparam("b_number"),
        repair_number=bindparam("b_repair"),
        **{name: bindparam(f"b_{name}") for name in _ATTEMPT_FIELDS})
    return statement.on_conflict_do_update(
        index_elements=["task_run_id", "number"],
        set_={name: statement.excluded[name] for name in _ATTEMPT_FIELDS})


def owned_here() -> Any:
    """The condition that this process owns a run: ownership (host and pid) changes only
    when a process takes runs over, so it fences a process that lost them."""
    return and_(RunRow.owner_host == HOST, RunRow.owner_pid == os.getpid())


def is_mine(row: RunRow) -> bool:
    """`owned_here()` for a row already loaded."""
    return row.owner_host == HOST and row.owner_pid == os.getpid()


# The ids of given runs (`ids`) that process (`host`, `pid`) owns, in id order: the order
# every writer locks runs in (no deadlock between two). Built once: every loop turn that
# writes asks it, and building the statement cost more than running it.
_OWNED = select(_runs.c.id).where(
    _runs.c.id.in_(bindparam("ids", expanding=True)), _runs.c.owner_host == bindparam("host"),
    _runs.c.owner_pid == bindparam("pid")).order_by(_runs.c.id)
_OWNED_LOCKED = _OWNED.with_for_update()


def _owned(db: Any, ids: set[int], lock: bool = True) -> set[int]:
    """Which of `ids` this process owns (their rows locked, unless `lock` is False)."""
    statement = _OWNED_LOCKED if lock else _OWNED
    return set(db.scalars(statement, {"ids": list(ids), "host": HOST, "pid": os.getpid()}))


def _task_params(tr: TaskRunLike) -> dict[str, Any]:
    return dict(b_tid=tr.run_id, b_life=tr.life.value,
                b_result=tr.result.value if tr.result else None, b_message=tr.message,
                b_cluster_key=tr.cluster_key, b_spark_context_id=tr.spark_context_id,
                b_exit_value=tr.exit_value, b_error=tr.error,
                b_usage_json=json.dumps(tr.usage) if tr.usage else None)


def _attempt_params(tr: TaskRunLike, attempt: Any, repair: int) -> dict[str, Any]:
    return dict(b_tid=tr.run_id, b_number=attempt.number, b_start_ms=attempt.start_ms,
                b_end_ms=attempt.end_ms,
                b_result=attempt.result.value if attempt.result else None,
                b_error=attempt.error, b_log_path=str(attempt.log_path), b_repair=repair)


class RunStore:
    """Run history on one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, reader: Engine | None = None):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        # Sessions that only read: on SQLite they take no lock and never wait for a write.
        self.reads = sessionmaker(reader or engine, expire_on_commit=False)
        self._upsert_attempt = _upsert_attempt(engine.dialect.name)
        # Job versions are never changed nor deleted, so their ids can be remembered.
        self._versions: dict[tuple[str, str, str, str], int] = {}

    # ---- jobs ------------------------------------------------------------------------

    def record_job(self, key: str, name: str, bundle_name: str, bundle_root: str, target: str,
                   spec: dict[str, Any]) -> int:
        """The id of this exact job version, stored on first sight."""
        spec_json = json.dumps(spec, sort_keys=True, default=str)
        digest = hashlib.sha256(spec_json.encode()).hexdigest()
        version = (bundle_root, target, key, digest)
        if version in self._versions:
            return self._versions[version]
        same = select(JobRow.id).where(JobRow.bundle_root == bundle_root,
                                       JobRow.target == target, JobRow.key == key,
                                       JobRow.spec_hash == digest)
        with self.reads.begin() as db:  # nearly always there: no write lock needed
            found = db.scalar(same)
        if found is None:
            with self.sessions.begin() as db:
                found = db.scalar(same)
                if found is None:
                    found = db.execute(JobRow.__table__.insert().values(
                        key=key, name=name, bundle_name=bundle_name, bundle_root=bundle_root,
                        target=target, spec_json=spec_json, spec_hash=digest,
                        created_ms=now_ms())).inserted_primary_key[0]
        self._versions[version] = int(found)
        return int(found)

    def job_spec(self, job_id: int) -> tuple[JobRow, dict[str, Any]]:
        """A stored job version and its spec."""
        with self.reads.begin() as db:
            row = db.get(JobRow, job_id)
            db.expunge(row)
        return row, json.loads(row.spec_json)

    # ---- runs ------------------------------------------------------------------------

    def create_run(self, run: RunLike, job_id: int) -> None:
        """Insert a run and its task runs; their database ids become the run's ids."""
        with self.engine.begin() as db:
            self.insert_runs(db, [(run, job_id, run.life.value, run.message)])

    @staticmethod
    def insert_runs(db: Any, runs: list[tuple[RunLike, int, str, str]]) -> None:
        """Insert runs, each `(run, job_id, life, message)`, with their task runs, in the
        caller's transaction and in order (two statements for them all); the database ids
        become the runs' and task runs' ids. A run admitted to start (PENDING) has started
        now, so `runs/list` never shows it without a start time; a queued one starts when
        it leaves the queue."""
        stamp = now_ms()
        first = take_run_ids(db, sum(1 + len(run.task_runs) for run, _, _, _ in runs))
        run_rows, task_rows = [], []
        for run, job_id, life, message in runs:
            parent = getattr(run, "parent", None)
            if life == "PENDING":
                run.start_ms = getattr(run, "start_ms", None) or stamp
            run_rows.append(dict(
                id=first, job_id=job_id, job_key=run.job_key,
                run_name=run.job.name or run.job_key, params_json=json.dumps(run.params),
                trigger=run.trigger, life=life, message=message, owner_host=HOST,
                owner_pid=os.getpid(), heartbeat_ms=stamp, cancel_requested=False,
                repair_count=0, created_ms=stamp, start_ms=getattr(run, "start_ms", None),
                parent_run_id=parent[0] if parent else None,
                parent_task_key=parent[1] if parent else None,
                workspace_job_id=getattr(run, "workspace_job_id", None),
                idempotency_token=getattr(run, "idempotency_token", None),
                creator_user_name=getattr(run, "creator", None) or getpass.getuser()))
            run.run_id, run.job_id, run.message = first, job_id, message
            for position, tr in enumerate(run.task_runs.values(), start=1):
                task_rows.append(dict(id=first + position, run_id=run.run_id,
                                      task_key=tr.key, position=position - 1,
                                      life=tr.life.value, message=tr.message))
                tr.run_id = first + position
            first += 1 + len(run.task_runs)
        db.execute(_runs.insert(), run_rows)
        if task_rows:  # one statement for them all: a for_each of thousands is one run
            db.execute(_tasks.insert(), task_rows)

    def save_batch(self, runs: list[RunLike],
                   tasks: list[tuple[RunLike, TaskRunLike, set[int]]],
                   iterations: list[tuple[RunLike, TaskRunLike]]) -> set[int]:
        """Write the changes of one loop turn in one transaction: runs, task runs (with
        the attempts numbered in each set) and for_each iterations. Only the runs this
        process owns are written (their rows are locked first); the ids of the others,
        taken over by another process, are returned and nothing of them is written.
        Core statements with bound parameters: this runs on every turn that changed
        something."""
        ids = {run.run_id for run in runs} | {run.run_id for run, _, _ in tasks} \
            | {run.run_id for run, _ in iterations}
        with self.engine.begin() as db:
            owned = _owned(db, ids)
            for run in runs:
                if run.run_id in owned:
                    db.execute(SAVE_RUN, dict(
                        b_id=run.run_id, b_life=run.life.value,
                        b_result=run.result.value if run.result else None,
                        b_message=run.message, b_start_ms=run.start_ms, b_end_ms=run.end_ms,
                        b_params_json=json.dumps(run.params), b_heartbeat_ms=now_ms()))
            tasks = [t for t in tasks if t[0].run_id in owned]
            if tasks:
                db.execute(SAVE_TASK, [_task_params(tr) for _, tr, _ in tasks])
                attempts = [_attempt_params(tr, a, getattr(run, "repair_count", 0))
                            for run, tr, numbers in tasks for a in tr.attempts
                            if a.number in numbers]
                if attempts:
                    db.execute(self._upsert_attempt, attempts)
            for run, tr, _ in tasks:
                if tr.final:
                    self._write_outcome(db, run, tr)
            for run, it in iterations:
                if run.run_id in owned:
                    self._write_iteration(db, it)
        return ids - owned

    def _write_outcome(self, db: Any, run: RunLike, tr: TaskRunLike) -> None:
        """What a final task produced: its task values (on success), child notebooks."""
        if tr.result is not None and tr.result.value == "SUCCESS":
            values = TaskValueRow.__table__
            for key, value in run.values.values.get(tr.key, {}).items():
                db.execute(values.delete().where(
                    values.c.run_id == run.run_id, values.c.task_key == tr.key,
                    values.c.key == key))
                db.execute(values.insert().values(run_id=run.run_id, task_key=tr.key,
                                                  key=key, value_json=json.dumps(value)))
        if tr.ctx is not None and tr.ctx.children:
            self._save_children(db, tr)

    @staticmethod
    def _write_iteration(db: Any, it: TaskRunLike) -> None:
        attempt = it.attempts[-1] if it.attempts else None
        values = dict(b_tid=it.parent.run_id, b_idx=it.index, b_life=it.life.value,
                      b_result=it.result.value if it.result else None,
                      b_start_ms=it.attempts[0].start_ms if it.attempts else None,
                      b_end_ms=attempt.end_ms if attempt else None, b_error=it.error,
                      b_log_path=str(attempt.log_path) if attempt else None)
        if not db.execute(SAVE_ITERATION, values).rowcount:
            db.execute(NEW_ITERATION, {
                **values, "b_input_json": json.dumps(it.input_value, default=str)})

    @staticmethod
    def _save_children(db: Any, tr: TaskRunLike) -> None:
        ctx = tr.ctx
        db.execute(delete(NotebookRunRow).where(NotebookRunRow.task_run_id == tr.run_id,
                                                NotebookRunRow.attempt == ctx.attempt))
        for number, child in enumerate(ctx.children, start=1):
            db.execute(NotebookRunRow.__table__.insert().values(
                task_run_id=tr.run_id, attempt=ctx.attempt, number=number, path=child.path,
                arguments_json=json.dumps(child.arguments),
                start_ms=int(child.start_time * 1000),
                end_ms=int(child.end_time * 1000) if child.end_time else None,
                result=child.result, exit_value=child.exit_value, error=child.error,
                log_path=str(child.log_path)))

    # ---- many processes --------------------------------------------------------------

    def heartbeat(self, run_ids: Iterable[int]) -> set[int]:
        """Say that this process is still running these runs; return those another
        process has taken over meanwhile (this one must no longer run them)."""
        ids = set(run_ids)
        if not ids:
            return set()
        with self.sessions.begin() as db:
            owned = _owned(db, ids)
            if owned:
                db.execute(update(RunRow).where(RunRow.id.in_(owned)).values(
                    heartbeat_ms=now_ms()))
        return ids - owned

    def owned(self, run_ids: Iterable[int]) -> set[int]:
        """Which of these runs this process owns."""
        with self.reads.begin() as db:
            return _owned(db, set(run_ids), lock=False)

    def set_owner(self, run_ids: Iterable[int], pid: int) -> None:
        """Hand runs to another process of this host (`podium run --no-wait`)."""
        ids = list(run_ids)
        if ids:
            with self.sessions.begin() as db:
                db.execute(update(RunRow).where(RunRow.id.in_(ids)).values(
                    owner_host=HOST, owner_pid=pid, heartbeat_ms=now_ms()))

    def cancel_requests(self, run_ids: Iterable[int]) -> list[int]:
        """Which of these runs someone asked to cancel."""
        ids = list(run_ids)
        if not ids:
            return []
        with self.sessions.begin() as db:
            return list(db.scalars(select(RunRow.id).where(RunRow.id.in_(ids),
                                                           RunRow.cancel_requested)))

    def request_cancel(self, run_id: int) -> None:
        """Ask the owning process to cancel a run (it sees it within a second)."""
        with self.sessions.begin() as db:
            if not db.execute(update(RunRow).where(RunRow.id == run_id).values(
                    cancel_requested=True)).rowcount:
                raise RunNotFound(run_id)

    def active_run_ids(self, job_key: str | None = None) -> list[int]:
        """Runs not yet ended, optionally of one job."""
        query = select(RunRow.id).where(RunRow.life.in_(ACTIVE))
        if job_key:
            query = query.where(RunRow.job_key == job_key)
        with self.sessions.begin() as db:
            return list(db.scalars(query.order_by(RunRow.id)))

    # ---- reading ---------------------------------------------------------------------

    def rows(self, query: Any) -> list[Any]:
        """The rows a query selects, detached so they outlive the session."""
        with self.reads.begin() as db:
            rows = list(db.scalars(query))
            db.expunge_all()
            return rows

    def run_row(self, run_id: int) -> RunRow:
        """One run's row, or RunNotFound."""
        with self.reads.begin() as db:
            row = db.get(RunRow, run_id)
            if row is None:
                raise RunNotFound(run_id)
            db.expunge(row)
            return row

    def runs(self, job_key: str | None = None, active: bool = False,
             limit: int = 25) -> list[RunRow]:
        """Newest runs first."""
        query = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
        if job_key:
            query = query.where(RunRow.job_key == job_key)
        if active:
            query = query.where(RunRow.life.in_(ACTIVE))
        return self.rows(query)

    def task_rows(self, run_id: int) -> list[tuple[TaskRunRow, list[AttemptRow],
                                                   list[NotebookRunRow]]]:
        """A run's task runs in job order, each with its attempts and child notebooks."""
        with self.reads.begin() as db:
            tasks = list(db.scalars(select(TaskRunRow).where(TaskRunRow.run_id == run_id)
                                    .order_by(TaskRunRow.position)))
            out = []
            for task in tasks:
                attempts = list(db.scalars(select(AttemptRow).where(
                    AttemptRow.task_run_id == task.id).order_by(AttemptRow.number)))
                children = list(db.scalars(select(NotebookRunRow).where(
                    NotebookRunRow.task_run_id == task.id).order_by(NotebookRunRow.attempt,
                                                                    NotebookRunRow.number)))
                out.append((task, attempts, children))
            db.expunge_all()
            return out

    def task_run(self, task_run_id: int) -> tuple[TaskRunRow, list[AttemptRow]]:
        """One task run by its own id, with its attempts; RunNotFound if there is none."""
        with self.reads.begin() as db:
            task = db.get(TaskRunRow, task_run_id)
            if task is None:
                raise RunNotFound(task_run_id)
            attempts = list(db.scalars(select(AttemptRow).where(
                AttemptRow.task_run_id == task.id).order_by(AttemptRow.number)))
            db.expunge_all()
            return task, attempts

    def run_page(self, *, workspace_job_id: int | None = None, active_only: bool = False,
                 completed_only: bool = False, start_from: int | None = None,
                 start_to: int | None = None, submit_only: bool | None = None,
                 before_id: int | None = None, offset: int = 0, limit: int = 25,
                 trigger: str | None = None) -> tuple[list[RunRow], bool]:
        """Newest runs first with the Jobs API's filters (and the web UI's `trigger`),
        keyset-paged by id (`before_id`); and whether more follow."""
        query = select(RunRow).order_by(RunRow.id.desc())
        if workspace_job_id is not None:
            query = query.where(RunRow.workspace_job_id == workspace_job_id)
        if active_only:
            query = query.where(RunRow.life.in_(ACTIVE))
        if completed_only:
            query = query.where(RunRow.life.not_in(ACTIVE))
        if start_from is not None:
            query = query.where(RunRow.start_ms >= start_from)
        if start_to is not None:
            query = query.where(RunRow.start_ms <= start_to)
        if submit_only is not None:
            submitted = RunRow.job_key.startswith("submit-")
            query = query.where(submitted if submit_only else ~submitted)
        if trigger:
            query = query.where(RunRow.trigger == trigger)
        if before_id is not None:
            query = query.where(RunRow.id < before_id)
        rows = self.rows(query.offset(offset).limit(limit + 1))
        return rows[:limit], len(rows) > limit

    def iterations(self, task_run_id: int) -> list[Any]:
        """A for_each task's iterations in index order."""
        return self.rows(select(ForEachIterationRow).where(
            ForEachIterationRow.task_run_id == task_run_id).order_by(ForEachIterationRow.idx))

    def children(self, run_id: int) -> list[RunRow]:
        """Runs started by run_job_tasks of this run."""
        return self.rows(select(RunRow).where(RunRow.parent_run_id == run_id)
                         .order_by(RunRow.id))

    def task_values(self, run_id: int) -> dict[str, dict[str, Any]]:
        """Every stored task value of a run: `{task_key: {key: value}}`."""
        with self.reads.begin() as db:
            rows = db.scalars(select(TaskValueRow).where(TaskValueRow.run_id == run_id))
            values: dict[str, dict[str, Any]] = {}
            for row in rows:
                values.setdefault(row.task_key, {})[row.key] = json.loads(row.value_json)
            return values

    def repairs(self, run_id: int) -> list[RepairRow]:
        """A run's repair history, oldest first."""
        return self.rows(select(RepairRow).where(RepairRow.run_id == run_id)
                         .order_by(RepairRow.number))


ACTIVE = ("PENDING", "QUEUED", "BLOCKED", "RUNNING", "WAITING_FOR_RETRY", "TERMINATING")
