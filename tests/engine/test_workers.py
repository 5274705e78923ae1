"""Worker threads are reused from task to task without carrying anything across."""

from __future__ import annotations

import ctypes
import threading

from podium import threads
from podium.engine.workers import Workers
from podium.runtime.errors import TaskInterrupted


def run_and_wait(workers: Workers, job) -> None:
    done = threading.Event()

    def wrapped() -> None:
        try:
            job()
        finally:
            done.set()

    workers.run(wrapped)
    assert done.wait(10)
    while workers.idle == 0:  # until the worker is back among the idle ones
        threading.Event().wait(0.01)


def test_a_worker_is_reused_and_forgets_the_previous_tasks_values() -> None:
    workers, seen = Workers(), []

    def first() -> None:
        threads.put("context", "task one")
        seen.append(threading.get_ident())

    def second() -> None:
        seen.append(threading.get_ident())
        seen.append(threads.get("context"))

    run_and_wait(workers, first)
    run_and_wait(workers, second)
    assert seen[0] == seen[1] and seen[2] is None


def test_a_late_interrupt_is_swallowed_and_the_worker_goes_on() -> None:
    workers, seen = Workers(), []

    def interrupted_at_the_end() -> None:
        seen.append(threading.get_ident())
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threading.get_ident()),
                                                   ctypes.py_object(TaskInterrupted))

    run_and_wait(workers, interrupted_at_the_end)
    run_and_wait(workers, lambda: seen.append(threading.get_ident()))
    assert seen[0] == seen[1]


def test_busy_workers_make_room_for_more() -> None:
    workers, release, started = Workers(), threading.Event(), []
    for _ in range(3):
        workers.run(lambda: (started.append(threading.get_ident()), release.wait(10)))
    deadline = threading.Event()
    for _ in range(100):
        if len(started) == 3:
            break
        deadline.wait(0.05)
    release.set()
    assert len(set(started)) == 3  # none waited for another to finish
