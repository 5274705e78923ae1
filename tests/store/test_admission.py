"""Admitting runs: `max_concurrent_runs` and `queue` hold when many threads ask at once,
and their asks share transactions (a group commit) without mixing up their answers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from podium.engine.model import Run
from podium.engine.restore import job_snapshot
from podium.spec import load_bundle
from podium.store import RunStore, admission
from podium.store.schema import RunRow, TaskRunRow

JOB = """bundle: {name: a}
resources:
  jobs:
    j:
      tasks:
        - {task_key: one, python_task: {function: 'tests.engine.funcs:ok'}}
        - {task_key: two, depends_on: [{task_key: one}],
           python_task: {function: 'tests.engine.funcs:ok'}}
"""


def admit_at_once(store: RunStore, root: Path, count: int, limit: int, queue: bool = False,
                  tokens: list[str | None] | None = None) -> list[tuple[Run, object]]:
    """`count` threads admit a run of job `j` each, released together; (run, state or
    the exception raised) per thread."""
    job = load_bundle(root).jobs["j"]
    job_id = store.record_job("j", job.name, "a", str(root), "default", job_snapshot(job))
    runs = [Run("j", job, root, {}, {}, idempotency_token=(tokens or [None] * count)[i])
            for i in range(count)]
    answers: list[object] = [None] * count
    go = threading.Barrier(count)

    def ask(i: int) -> None:
        go.wait()
        try:
            answers[i] = admission.admit(store, runs[i], job_id, limit, queue)
        except Exception as exc:  # what the caller would get, kept to check
            answers[i] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return list(zip(runs, answers, strict=True))


def transactions(store: RunStore) -> list[int]:
    """A counter of the write transactions `store` commits from now on."""
    seen = [0]
    event.listen(store.engine, "commit", lambda _connection: seen.__setitem__(0, seen[0] + 1))
    return seen


def test_a_burst_takes_exactly_the_free_slots_and_skips_the_rest(store, write_bundle) -> None:
    root = write_bundle(JOB)
    commits = transactions(store)
    answered = admit_at_once(store, root, count=24, limit=5)
    assert [life for _, life in answered].count("PENDING") == 5
    assert [life for _, life in answered].count("SKIPPED") == 19
    with store.engine.connect() as db:
        rows = {r.id: r for r in db.execute(select(RunRow))}
        tasks = list(db.execute(select(TaskRunRow)))
    for run, life in answered:  # each thread got its own run's state and ids back
        assert rows[run.run_id].life == life
        assert [t.run_id for t in run.task_runs.values()] == [run.run_id + 1, run.run_id + 2]
    skipped = [r for r in rows.values() if r.life == "SKIPPED"]
    assert {r.result for r in skipped} == {"MAXIMUM_CONCURRENT_RUNS_REACHED"}
    assert all(r.end_ms for r in skipped)
    assert {t.life for t in tasks if rows[t.run_id].life == "SKIPPED"} == {"SKIPPED"}
    assert commits[0] < 24  # some asks shared a transaction


def test_with_a_queue_the_runs_past_the_limit_wait(store, write_bundle) -> None:
    answered = admit_at_once(store, write_bundle(JOB), count=12, limit=3, queue=True)
    lives = [life for _, life in answered]
    assert lives.count("PENDING") == 3 and lives.count("QUEUED") == 9
    queued = [run for run, life in answered if life == "QUEUED"]
    assert all("max_concurrent_runs: 3" in run.message for run in queued)


def test_a_repeated_token_fails_alone_and_the_others_are_admitted(store,
                                                                 write_bundle) -> None:
    tokens: list[str | None] = [f"t{i}" for i in range(10)] + ["same", "same"]
    answered = admit_at_once(store, write_bundle(JOB), count=12, limit=100, tokens=tokens)
    failed = [life for _, life in answered if isinstance(life, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], IntegrityError)
    admitted = [run for run, life in answered if life == "PENDING"]
    assert len(admitted) == 11
    with store.engine.connect() as db:
        stored = set(db.scalars(select(RunRow.id)))
    assert {run.run_id for run in admitted} == stored


@pytest.mark.parametrize("limit", [1, 4])
def test_runs_past_the_limit_in_one_batch_count_the_earlier_ones(store, write_bundle,
                                                                 limit: int) -> None:
    answered = admit_at_once(store, write_bundle(JOB), count=8, limit=limit)
    assert [life for _, life in answered].count("PENDING") == limit
