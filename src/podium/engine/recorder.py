"""The executor's link to the run history: writes every change before it is acted on,
keeps the heartbeat of this process's runs, and turns stored cancel requests into
cancels."""

from __future__ import annotations

import time

from podium.engine.executor import Executor
from podium.engine.model import Run, TaskRun
from podium.store import RunStore

HEARTBEAT_SECONDS = 2.0
CANCEL_POLL_SECONDS = 0.5


class Recorder:
    """Listener and tick hook for one executor and one store."""

    def __init__(self, store: RunStore, executor: Executor):
        self.store, self.executor = store, executor
        self._beat = self._poll = 0.0
        executor.listeners.insert(0, self.record)  # before the progress view

    def record(self, run: Run, tr: TaskRun | None) -> None:
        """Write one change (the executor calls this before acting on it)."""
        if tr is None:
            self.store.save_run(run)
        else:
            self.store.save_task(run, tr)

    def tick(self) -> None:
        """Heartbeat and cancel requests, at their own pace (called every loop turn)."""
        now = time.monotonic()
        active = [r.run_id for r in self.executor.runs.values() if not r.final]
        if now - self._poll >= CANCEL_POLL_SECONDS:
            self._poll = now
            for run_id in self.store.cancel_requests(active):
                self.executor.cancel(run_id)
        if now - self._beat >= HEARTBEAT_SECONDS:
            self._beat = now
            self.store.heartbeat(active)
