"""Worker threads that run task code, reused from task to task.

Starting a thread costs about a quarter of a millisecond (`Thread.start` waits for the new
thread to run), most of podium's own cost per small task. Workers are kept instead:
a task is handed to an idle worker, or to a new one when all are busy; a worker idle for
a minute ends. After each task a worker drops every per-thread podium value, so nothing
of one task reaches the next. An interrupt meant for a task (an asynchronous
`TaskInterrupted`) that arrives after the task's code ended is raised in the worker before
it takes the next task, and swallowed there.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from podium.runtime.errors import TaskInterrupted

IDLE_SECONDS = 60.0


class Workers:
    """A growing set of daemon threads for task code; `run` never blocks."""

    def __init__(self, name: str = "podium-worker") -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._count = 0

    @property
    def idle(self) -> int:
        """Workers waiting for a task now."""
        return self._idle

    def run(self, job: Callable[[], None]) -> None:
        """Run `job` on an idle worker, or on a new one when none is idle."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                spawn = False
            else:
                self._count += 1
                spawn = True
        self._jobs.put(job)
        if spawn:
            threading.Thread(target=self._loop, name=f"{self.name}-{self._count}",
                             daemon=True).start()

    def _loop(self) -> None:
        _forget_thread_values()  # what it inherited from the thread that started it
        while True:
            try:
                try:
                    job = self._jobs.get(timeout=IDLE_SECONDS)
                except queue.Empty:
                    with self._lock:
                        if self._idle:  # nobody was promised this worker: end it
                            self._idle -= 1
                            self._count -= 1
                            return
                    continue  # a job is on its way to this worker
                job()
            except TaskInterrupted:
                pass  # a late interrupt for a task that already ended
            finally:
                _forget_thread_values()
            with self._lock:
                self._idle += 1


def _forget_thread_values() -> None:
    thread = threading.current_thread()
    for attr in [a for a in vars(thread) if a.startswith("_podium_")]:
        delattr(thread, attr)
