"""The executor's link to the run history: writes every change before it is acted on,
keeps the heartbeat of this process's runs, turns stored cancel requests into cancels,
starts queued runs when the store says their turn has come, records child runs, and
claims declared outputs through the store so processes see each other's. A run another
process took over (this one lost the database for longer than the lease) is handed back
to the executor to stop, and nothing more of it is written."""

from __future__ import annotations

import logging
import time

from podium.engine.executor import Executor
from podium.engine.model import Run, TaskRun
from podium.engine.restore import job_snapshot
from podium.store import RunStore, admission, clusters
from podium.store.errors import StoreUnavailable, unreachable

HEARTBEAT_SECONDS = 2.0
POLL_SECONDS = 0.5
RETRY_SECONDS = 1.0  # how long to wait before writing again after the database failed
log = logging.getLogger(__name__)


class Recorder:
    """Listener and tick hook for one executor and one store."""

    def __init__(self, store: RunStore, executor: Executor, bundle: tuple[str, str, str] = (
            "", "", "")):
        self.store, self.executor = store, executor
        self.bundle = bundle  # (name, root, target) for child runs' job records
        self.queued: list[Run] = []
        self._beat = self._poll = 0.0
        self._claimed: set[tuple[int, str]] = set()  # tasks that may hold outputs
        self._runs: dict[int, Run] = {}  # changes of this loop turn, not yet written
        self._tasks: dict[int, tuple[Run, TaskRun, set[int]]] = {}
        self._iterations: dict[int, tuple[Run, TaskRun]] = {}
        self._lost: set[int] = set()  # runs another process took over: never written again
        self._unreported: set[int] = set()  # of those, the ones the executor was not told of
        self._retry_at = 0.0  # no write tried before then, after one failed
        executor.listeners.insert(0, self.record)  # before the progress view
        executor.on_commit = self.commit
        executor.on_child_run = self.child_run
        executor.claim_output = self.claim_output

    def record(self, run: Run, tr: TaskRun | None) -> None:
        """Note one change; `flush` writes the turn's changes before the executor acts."""
        if run.run_id in self._lost:
            return
        if tr is None:
            self._runs[run.run_id] = run
        elif tr.parent is not None:
            self._iterations[id(tr)] = (run, tr)
        else:
            _, _, numbers = self._tasks.setdefault(id(tr), (run, tr, set()))
            if tr.attempts:
                numbers.add(tr.attempts[-1].number)

    def commit(self) -> set[int]:
        """Flush, and return the runs found taken over by another process since the last
        call: the executor stops them."""
        self.flush()
        reported, self._unreported = self._unreported, set()
        return reported

    def flush(self) -> None:
        """Write every change noted since the last flush in one transaction. While the
        database cannot be reached the changes are kept (the objects hold their latest
        state) and StoreUnavailable is raised, at most once a second a try: the executor
        then starts no task code until a later flush has written them."""
        if not (self._runs or self._tasks or self._iterations):
            return
        if time.monotonic() < self._retry_at:
            raise StoreUnavailable("the database is unreachable; retrying")
        runs, tasks = list(self._runs.values()), list(self._tasks.values())
        iterations = list(self._iterations.values())
        try:
            lost = self.store.save_batch(runs, tasks, iterations)
        except Exception as exc:
            if not unreachable(exc):
                raise
            self._retry_at = time.monotonic() + RETRY_SECONDS
            raise StoreUnavailable(f"the database is unreachable: {exc}") from exc
        self._runs, self._tasks, self._iterations = {}, {}, {}
        for run, tr, _ in tasks:
            if tr.final and run.run_id not in lost and (run.run_id, tr.key) in self._claimed:
                self._claimed.discard((run.run_id, tr.key))
                admission.release_outputs(self.store, run.run_id, tr.key)
        self._taken_over(lost)

    def _taken_over(self, run_ids: set[int]) -> None:
        """Note runs another process owns now: a queued one is dropped here, a started
        one is reported to the executor by the next flush."""
        for run_id in run_ids - self._lost:
            log.warning("run %s was taken over by another podium process while this one "
                        "could not reach the database; it is stopped here and nothing more "
                        "of it is written", run_id)
            self._lost.add(run_id)
            queued = [r for r in self.queued if r.run_id == run_id]
            if queued:
                self.queued.remove(queued[0])
            else:
                self._unreported.add(run_id)

    def child_run(self, child: Run, parent: Run, tr: TaskRun) -> None:
        """Give a run_job_task's child run its place in the history."""
        name, root, target = self.bundle
        job_id = self.store.record_job(child.job_key, child.job.name or child.job_key, name,
                                       root or str(child.bundle_root), target,
                                       job_snapshot(child.job))
        self.store.create_run(child, job_id)

    def claim_output(self, name: str, run: Run, tr: TaskRun) -> str | None:
        """Take a declared output through the store (shared by every process)."""
        owner = tr.parent or tr
        self._claimed.add((run.run_id, owner.key))
        return admission.claim_output(self.store, name, run.run_id, owner.key, run.job_key)

    def tick(self) -> None:
        """Heartbeat, cancel requests and queued runs, at their own pace."""
        now = time.monotonic()
        if now - self._poll >= POLL_SECONDS:
            self._poll = now
            active = [r.run_id for r in self.executor.runs.values() if not r.final]
            for run_id in self.store.cancel_requests(active + [r.run_id for r in self.queued]):
                if any(r.run_id == run_id for r in self.queued):
                    self._skip_cancelled(run_id)
                else:
                    self.executor.cancel(run_id)
            for run in list(self.queued):
                if admission.promote(self.store, run.run_id, run.job_key,
                                     run.job.max_concurrent_runs):
                    self.queued.remove(run)
                    self.executor.submit(run)
        if now - self._beat >= HEARTBEAT_SECONDS:
            self._beat = now
            self._taken_over(self.store.heartbeat(
                [r.run_id for r in self.executor.runs.values() if not r.final]
                + [r.run_id for r in self.queued]))
            clusters.touch(self.store, self.executor.clusters.shared_in_use())

    def _skip_cancelled(self, run_id: int) -> None:
        from podium.engine.states import LifeCycle, Result

        run = next(r for r in self.queued if r.run_id == run_id)
        self.queued.remove(run)
        for tr in run.task_runs.values():
            tr.life, tr.result, tr.message = LifeCycle.TERMINATED, Result.CANCELED, \
                "Run cancelled while queued"
            self.record(run, tr)
        run.life, run.result, run.message = LifeCycle.TERMINATED, Result.CANCELED, \
            "Run cancelled while queued"
        run.end_ms = int(time.time() * 1000)
        self.record(run, None)
        self.flush()
