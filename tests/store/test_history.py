"""Runs recorded through the executor, read back in the Jobs API shape; cancel requests,
orphaned runs, repair and pruning — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.engine.recorder import Recorder
from podium.engine.restore import job_snapshot, rerun_set, restore
from podium.engine.states import Result
from podium.spec import load_bundle
from podium.store import RunBusy, RunStore, admission
from podium.store.maintenance import prune, start_repair, sweep_orphans
from podium.store.runs import HOST, now_ms
from podium.store.schema import RunRow
from podium.store.views import run_view

JOB = """bundle: {name: h}
resources:
  jobs:
    j:
      parameters: [{name: day, default: "2026-01-01"}]
      tasks:
        - {task_key: make, python_task: {function: 'tests.engine.funcs:publish',
           parameters: {key: n, value: '{{job.parameters.day}}'}}}
        - {task_key: flaky, depends_on: [{task_key: make}], max_retries: 1,
           python_task: {function: 'tests.engine.funcs:flaky',
                         parameters: {marker: '%(marker)s', failures: '%(failures)s'}}}
        - {task_key: use, depends_on: [{task_key: flaky}],
           python_task: {function: 'tests.engine.funcs:ok',
                         parameters: {n: '{{tasks.make.values.n}}'}}}
"""


def start(store: RunStore, write_bundle, tmp_path: Path, failures: int = 1,
          params: dict[str, str] | None = None) -> tuple[Executor, Run]:
    root = write_bundle(JOB % {"marker": tmp_path / "count", "failures": failures})
    return submit_recorded(store, root, {"day": "2026-01-01", **(params or {})})


def submit_recorded(store: RunStore, root: Path, params: dict[str, str] | None = None
                    ) -> tuple[Executor, Run]:
    """Job `j` of the bundle at `root`, recorded in `store` and submitted to an executor
    whose changes the store records, as `podium run` does."""
    executor, _, run = recorded(store, root, params)
    return executor, run


def recorded(store: RunStore, root: Path, params: dict[str, str] | None = None
             ) -> tuple[Executor, Recorder, Run]:
    """As submit_recorded, with the recorder (whose tick heartbeats the run)."""
    bundle = load_bundle(root)
    job = bundle.jobs["j"]
    job_id = store.record_job("j", job.name, bundle.name, str(root), bundle.target,
                              job_snapshot(job))
    run = Run("j", job, root, params or {}, {})
    store.create_run(run, job_id)
    executor = Executor()
    recorder = Recorder(store, executor)
    executor.submit(run)
    return executor, recorder, run


def test_a_run_is_recorded_as_it_happens(store, write_bundle, tmp_path: Path) -> None:
    executor, run = start(store, write_bundle, tmp_path, failures=1, params={"day": "d2"})
    executor.run_until_done([run])
    view = run_view(store, run.run_id)
    assert view["state"] == {"life_cycle_state": "TERMINATED", "state_message": "",
                             "result_state": "SUCCESS"}
    assert view["job_parameters"] == [{"name": "day", "value": "d2"}]
    tasks = {t["task_key"]: t for t in view["tasks"]}
    assert [a["result_state"] for a in tasks["flaky"]["attempts"]] == ["FAILED", "SUCCESS"]
    assert tasks["flaky"]["attempt_number"] == 1
    assert tasks["use"]["podium_exit_value"] == "n=d2"
    assert tasks["use"]["depends_on"] == [{"task_key": "flaky"}]
    assert view["podium"]["task_values"]["make"] == {"n": "d2"}
    assert Path(tasks["use"]["log_path"]).read_text().startswith("ok {'n': 'd2'}")
    assert [r.id for r in store.runs("j")] == [run.run_id]
    assert store.active_run_ids() == []


def test_task_code_starts_only_after_its_running_row_is_committed(store, write_bundle
                                                                  ) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    tasks = "".join(f"        - {{task_key: t{i}, python_task: {{function: "
                    f"'tests.engine.funcs:own_state', parameters: {{url: '{url}'}}}}"
                    + (f", depends_on: [{{task_key: t{i - 1}}}]" if i else "") + "}\n"
                    for i in range(3))
    root = write_bundle("bundle: {name: w}\nresources:\n  jobs:\n    j:\n      tasks:\n"
                        "        - {task_key: wide, python_task: {function: "
                        f"'tests.engine.funcs:own_state', parameters: {{url: '{url}'}}}}}}\n"
                        + tasks)
    executor, run = submit_recorded(store, root)
    executor.run_until_done([run])
    assert {k: tr.exit_value for k, tr in run.task_runs.items()} == {
        "wide": "RUNNING", "t0": "RUNNING", "t1": "RUNNING", "t2": "RUNNING"}


def test_a_stored_cancel_request_stops_the_run(store, write_bundle, tmp_path: Path) -> None:
    root = write_bundle("bundle: {name: c}\nresources:\n  jobs:\n    j:\n      tasks:\n"
                        "        - {task_key: s, python_task: {function: "
                        "'tests.engine.funcs:sleep', parameters: {seconds: '60'}}}\n")
    job = load_bundle(root).jobs["j"]
    run = Run("j", job, root, {}, {})
    store.create_run(run, store.record_job("j", "j", "c", str(root), "default",
                                           job_snapshot(job)))
    executor = Executor()
    recorder = Recorder(store, executor)
    executor.submit(run)
    threading.Timer(1.0, store.request_cancel, args=(run.run_id,)).start()
    began = time.monotonic()
    executor.run_until_done([run], recorder.tick)
    assert time.monotonic() - began < 10
    assert run.result is Result.CANCELED
    assert store.run_row(run.run_id).result == "CANCELED"


def test_runs_of_a_dead_process_become_internal_error_and_can_be_repaired(
    store, write_bundle, tmp_path: Path
) -> None:
    executor, run = start(store, write_bundle, tmp_path, failures=5)
    executor.run_until_done([run])
    assert store.run_row(run.run_id).result == "FAILED"
    # Pretend the run is still active, owned by a process that no longer exists.
    with store.sessions.begin() as db:
        db.execute(update(RunRow).where(RunRow.id == run.run_id).values(
            life="RUNNING", result=None, owner_pid=2**22 + 12345))
    assert sweep_orphans(store) == [run.run_id]
    row = store.run_row(run.run_id)
    assert row.life == "INTERNAL_ERROR" and "without finishing it" in row.message
    assert (row.owner_host, row.owner_pid) == (HOST, os.getpid())  # the sweeper owns it now

    (tmp_path / "count").write_text("100")  # the flaky task will now succeed
    restored = restore(store, run.run_id)
    chosen = rerun_set(restored, [], all_failed=True, dependents=False)
    assert chosen == ["flaky", "use"]
    assert start_repair(store, run.run_id, chosen, {}) == 1
    with pytest.raises(RunBusy):  # a second repair (another server's) finds it taken
        start_repair(store, run.run_id, chosen, {})
    repaired = restore(store, run.run_id)
    executor = Executor()
    Recorder(store, executor)
    executor.submit(repaired)
    executor.run_until_done([repaired])
    view = run_view(store, run.run_id)
    tasks = {t["task_key"]: t for t in view["tasks"]}
    assert view["state"]["result_state"] == "SUCCESS"
    assert len(tasks["make"]["attempts"]) == 1
    assert [a["repair_number"] for a in tasks["flaky"]["attempts"]] == [0, 0, 1]
    assert tasks["use"]["podium_exit_value"] == "n=2026-01-01"  # task value kept
    assert [h["type"] for h in view["repair_history"]] == ["ORIGINAL", "REPAIR"]


SLEEPY = ("bundle: {name: c}\nresources:\n  jobs:\n    j:\n      tasks:\n"
          "        - {task_key: s, python_task: {function: "
          "'tests.engine.funcs:sleep', parameters: {seconds: '60'}}}\n")


def test_a_run_taken_over_elsewhere_is_stopped_here_and_never_written_again(
    store, write_bundle
) -> None:
    executor, recorder, run = recorded(store, write_bundle(SLEEPY))
    while run.task_runs["s"].attempts == []:
        executor.step(time.monotonic())
    # What another server's sweep writes once this process's heartbeats stopped for the
    # lease (its database link cut): the run ended and owned by the sweeper.
    with store.sessions.begin() as db:
        db.execute(update(RunRow).where(RunRow.id == run.run_id).values(
            life="INTERNAL_ERROR", result="FAILED", message="swept", owner_host="elsewhere"))
    began = time.monotonic()
    executor.run_until_done([run], recorder.tick)
    assert time.monotonic() - began < 10  # the next heartbeat finds it gone
    assert run.result is Result.CANCELED and "took this run over" in run.message
    row = store.run_row(run.run_id)
    assert (row.life, row.message, row.owner_host) == ("INTERNAL_ERROR", "swept", "elsewhere")
    assert store.task_rows(run.run_id)[0][0].life == "RUNNING"  # as the sweeper left it
    assert store.heartbeat([run.run_id]) == {run.run_id}


def test_a_sweep_takes_only_runs_whose_owner_is_silent_past_the_lease(store, write_bundle,
                                                                      monkeypatch) -> None:
    monkeypatch.setenv("PODIUM_RUN_LEASE_SECONDS", "5")
    executor, run = submit_recorded(store, write_bundle(SLEEPY))
    with store.sessions.begin() as db:  # owned by a server on another host
        db.execute(update(RunRow).where(RunRow.id == run.run_id).values(
            owner_host="elsewhere", heartbeat_ms=now_ms() - 2_000))
    assert sweep_orphans(store) == []
    with store.sessions.begin() as db:
        db.execute(update(RunRow).where(RunRow.id == run.run_id).values(
            heartbeat_ms=now_ms() - 6_000))
    assert sweep_orphans(store) == [run.run_id]
    assert store.run_row(run.run_id).life == "INTERNAL_ERROR"
    executor.cancel()
    executor.run_until_done([run])


def test_prune_deletes_old_runs_and_their_logs(store, write_bundle, tmp_path: Path) -> None:
    executor, run = start(store, write_bundle, tmp_path, failures=0)
    executor.run_until_done([run])
    logs = Path(run_view(store, run.run_id)["tasks"][0]["log_path"]).parent.parent
    assert logs.exists()
    assert prune(store, older_than_ms=60_000) == []
    with store.sessions.begin() as db:
        db.execute(update(RunRow).values(end_ms=1))
    assert prune(store, older_than_ms=60_000) == [run.run_id]
    assert store.runs() == [] and not logs.exists()


def test_many_threads_writing_at_once(store, write_bundle, tmp_path: Path) -> None:
    runs = [start(store, write_bundle, tmp_path / str(i), failures=0) for i in range(4)]
    for i in range(4):
        (tmp_path / str(i)).mkdir(exist_ok=True)
    threads = [threading.Thread(target=ex.run_until_done, args=([r],)) for ex, r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [store.run_row(r.run_id).result for _, r in runs] == ["SUCCESS"] * 4
    assert json.loads(store.run_row(runs[0][1].run_id).params_json) == {"day": "2026-01-01"}
    assert os.environ["PODIUM_DATABASE_URL"]


def test_job_runs_and_task_runs_share_one_id_space(store, write_bundle, tmp_path: Path
                                                   ) -> None:
    """As on Databricks, a run_id names one thing: a job run or one of its task runs."""
    root = write_bundle(JOB % {"marker": tmp_path / "count", "failures": 0})
    runs = [submit_recorded(store, root)[1] for _ in range(3)]
    ids = [r.run_id for r in runs] + [t.run_id for r in runs for t in r.task_runs.values()]
    assert len(set(ids)) == len(ids) == 12
    first = runs[0]
    assert [t.run_id for t in first.task_runs.values()] == [first.run_id + 1,
                                                            first.run_id + 2,
                                                            first.run_id + 3]


def test_a_run_admitted_to_start_has_its_start_time_at_once_and_a_queued_one_has_none(
        store, write_bundle, tmp_path: Path) -> None:
    """runs/list may read a run before its executor's first write: a PENDING run already
    shows when it started (a trigger's next run is spaced from it); a QUEUED one starts
    when it leaves the queue."""
    root = write_bundle(JOB % {"marker": tmp_path / "count", "failures": 0})
    job = load_bundle(root).jobs["j"]
    job_id = store.record_job("j", job.name, "h", str(root), "default", job_snapshot(job))
    before = now_ms()
    pending, queued = Run("j", job, root, {}, {}), Run("j", job, root, {}, {})
    assert admission.admit(store, pending, job_id, limit=1, queue=True) == "PENDING"
    assert admission.admit(store, queued, job_id, limit=1, queue=True) == "QUEUED"
    with store.reads.begin() as db:
        rows = {r.id: r for r in db.scalars(select(RunRow).where(
            RunRow.id.in_([pending.run_id, queued.run_id])))}
    assert before <= rows[pending.run_id].start_ms <= now_ms()
    assert pending.start_ms == rows[pending.run_id].start_ms  # its executor keeps it
    assert rows[queued.run_id].start_ms is None and queued.start_ms is None


def test_concurrent_writers_never_take_the_same_run_ids(store, write_bundle,
                                                        tmp_path: Path) -> None:
    root = write_bundle(JOB % {"marker": tmp_path / "count", "failures": 0})
    job = load_bundle(root).jobs["j"]
    job_id = store.record_job("j", job.name, "h", str(root), "default", job_snapshot(job))
    made: list[Run] = []

    def writer() -> None:
        for _ in range(5):
            run = Run("j", job, root, {}, {})
            store.create_run(run, job_id)
            made.append(run)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r.run_id for r in made] + [t.run_id for r in made for t in r.task_runs.values()]
    assert len(made) == 20 and len(set(ids)) == 80
