"""The engine of a long-lived process (`podium serve`): one executor and its recorder,
driven by one loop thread that alone changes run state.

Callers in other threads (API handlers) never touch a run: they commit it to the store
first (`PENDING` or `QUEUED`), then `accept` it, which hands it to the loop; cancels are
stored requests the recorder turns into cancels. Clusters nobody needs stay warm for
`idle_cluster_seconds`, so the next run of an equal cluster starts without a Spark start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from podium import defaults
from podium.engine import launch, shared_clusters
from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.engine.recorder import Recorder
from podium.engine.restore import restore
from podium.engine.states import LifeCycle
from podium.runtime import output
from podium.store import RunStore
from podium.store.errors import unreachable
from podium.store.maintenance import adopt_unstarted, sweep_orphans

log = logging.getLogger("podium.service")

STOP_SECONDS = 10.0  # how long a drain waits for cancelled runs to be recorded
TAKEOVER_SECONDS = 5.0  # how often a server looks for runs a stopped server left behind


class Intake:
    """Runs that API handlers (other threads) commit to the store and hand in, taken by
    the loop that runs them: `podium serve`'s service, or a `podium run` serving the API
    to its tasks (`server/embedded.py`)."""

    def __init__(self, executor: Executor, recorder: Recorder):
        self.executor, self.recorder = executor, recorder
        self.inbox: queue.Queue[Run] = queue.Queue()

    def accept(self, run: Run) -> None:
        """Hand a run that is already committed to the store to the loop."""
        self.inbox.put(run)
        self.executor.events.put(None)  # wakes the loop; the executor ignores it

    def cancel(self, run_id: int) -> None:
        """Cancel a run now if this process runs it (the stored request, written by the
        caller, reaches it anyway; this only saves the poll)."""
        if run_id in self.executor.runs:
            self.executor.cancel(run_id)

    def run(self, run_id: int) -> Run | None:
        """A run this process holds."""
        return self.executor.runs.get(run_id)

    def take(self) -> list[Run]:
        """In the loop's thread: start (or queue) the runs handed in; those runs."""
        taken = []
        while True:
            try:
                run = self.inbox.get_nowait()
            except queue.Empty:
                return taken
            if run.life is LifeCycle.QUEUED:
                self.recorder.queued.append(run)
            elif not run.final:
                self.executor.submit(run)
            taken.append(run)

    def clusters_view(self) -> list[dict[str, Any]]:
        """The clusters this process holds, with their states."""
        return [{"key": key, "state": slot.state, "in_use": slot.in_use,
                 "kind": slot.cluster.kind, "limit": slot.limit,
                 "adaptive": slot.governor is not None,
                 "reason": slot.governor.reason if slot.governor is not None else "fixed",
                 "decisions": [d.text() for d in reversed(slot.decisions)],
                 "spark_context_id": getattr(slot.cluster, "application_id", None),
                 "spark_ui_url": getattr(slot.cluster, "ui_url", None)
                 if slot.state == "READY" else None}
                for key, slot in list(self.executor.clusters.slots.items())]


class Service(Intake):
    """Runs accepted by a server, on clusters shared by all of them."""

    def __init__(self, store: RunStore, idle_cluster_seconds: float = 600.0):
        self.store = store
        output.install()
        self.executor = Executor(
            # as on Databricks, a job on a terminated all-purpose cluster starts it
            shared_clusters=lambda name, spec: shared_clusters.address(store, name, spec,
                                                                       start_missing=True),
            idle_cluster_seconds=idle_cluster_seconds)
        self.executor.child_job = lambda run, name: launch.registry_child_job(store, run, name)
        self.executor.is_warehouse = lambda key: shared_clusters.is_warehouse(store, key)
        self.executor.clusters.on_decision.append(  # each change of a task limit is a line
            lambda key, decision: log.info("cluster %s: %s", key, decision.text()))
        super().__init__(self.executor, Recorder(store, self.executor))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="podium-service", daemon=True)
        self.on_turn: list[Callable[[], None]] = []  # more work per loop turn (triggers)
        self._last_takeover = 0.0
        self.draining = False

    def start(self) -> list[int]:
        """Take over runs accepted before a restart, mark the ones that were running as
        failed (repairable), and start the loop. Returns the ids taken over."""
        taken = self._take_over()
        self.thread.start()
        return taken

    def _take_over(self) -> list[int]:
        """Adopt the accepted, unstarted runs of processes that stopped (each is adopted
        by exactly one process) and mark their running ones failed. Done at start and
        every TAKEOVER_SECONDS, so servers sharing a database cover for each other."""
        self._last_takeover = time.monotonic()
        taken = adopt_unstarted(self.store)
        sweep_orphans(self.store)
        for run_id in taken:
            self.accept(restore(self.store, run_id))
        return taken

    def _turn(self) -> None:
        try:  # wait for something to do (an accepted run wakes it), at most one tick
            event = self.executor.events.get(timeout=defaults.LOOP_TICK_SECONDS)
            if event is not None:
                self.executor.events.put(event)
        except queue.Empty:
            pass
        self.take()
        now = time.monotonic()
        self.executor.step(now)
        self.recorder.tick()
        self.executor.clusters.reap_idle(now)
        if now - self._last_takeover >= TAKEOVER_SECONDS:
            self._take_over()
        self._forget_ended()
        if not self.draining:  # a draining server starts nothing new, triggers included
            for hook in self.on_turn:
                hook()

    def _forget_ended(self) -> None:
        """Drop ended runs from memory (the store has them) so a server stays small."""
        ended = [run_id for run_id, run in self.executor.runs.items()
                 if run.final and not run.usage_pending
                 and (run.parent is None or run.parent[0] not in self.executor.runs)]
        for run_id in ended:
            del self.executor.runs[run_id]

    def _loop(self) -> None:
        """Turn until stopped. A database that cannot be reached costs a turn, not the
        loop: tasks keep running, their changes wait in the recorder, and every part of a
        turn is tried again a second later (one log line per outage)."""
        away = False
        while not self.stopping.is_set():
            try:
                self._turn()
                if away:
                    log.warning("the database answers again")
                away = False
            except Exception as exc:
                if not unreachable(exc):
                    log.exception("the service loop's turn failed; going on")
                elif not away:
                    log.warning("the database cannot be reached or written (%s); "
                                "retrying every second", str(exc).splitlines()[0])
                away = True
                self.stopping.wait(1.0)

    def active_runs(self) -> list[Run]:
        """Runs this process is running or holding in its queue."""
        return [r for r in self.executor.runs.values() if not r.final] + \
            list(self.recorder.queued)

    def stop(self) -> None:
        """Drain: cancel every active run, wait (bounded) until that is recorded, stop
        the loop and every cluster this process started."""
        self.draining = True
        for run in list(self.recorder.queued):
            self.store.request_cancel(run.run_id)
        self.executor.cancel()
        deadline = time.monotonic() + STOP_SECONDS
        while self.thread.is_alive() and time.monotonic() < deadline and \
                (self.active_runs() or not self.inbox.empty()):
            self.executor.events.put(None)
            time.sleep(0.1)
        self.stopping.set()
        self.executor.events.put(None)
        self.thread.join(STOP_SECONDS)
        self.executor.clusters.stop_all()
