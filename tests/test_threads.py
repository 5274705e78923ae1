"""Threads a task starts inherit its values, and an interrupt raised in a task's thread
reaches that thread, even while it is starting a thread of its own."""

from __future__ import annotations

import threading
import time

from podium import threads


class Stop(BaseException):
    """What a cancel raises in a task's thread (as `TaskInterrupted` does)."""


def test_a_started_thread_inherits_its_starters_values() -> None:
    threads.install()
    seen: list[object] = []
    previous = threads.put("context", "task-1")
    try:
        child = threading.Thread(target=lambda: seen.append(threads.get("context")))
        child.start()
        child.join()
    finally:
        threads.put("context", previous)
    assert seen == ["task-1"]


def test_an_interrupt_while_the_thread_starts_threads_stops_that_thread() -> None:
    """CPython 3.11 gives a new thread its starter's id until it runs; an exception raised
    in the starter then could land in the new thread, which died before saying it had
    started, and the starter waited for ever (12 % of such interrupts, measured)."""
    threads.install()
    for _ in range(200):
        stopped: list[bool] = []
        worker = threading.Thread(target=start_threads_until_stopped, args=(stopped,),
                                  daemon=True)
        worker.start()
        time.sleep(0.002)
        threads.raise_in(worker.ident, Stop)
        worker.join(5)
        assert not worker.is_alive() and stopped == [True]


def start_threads_until_stopped(stopped: list[bool]) -> None:
    """Start a thread, wait for it, again, as PySpark's release pool does, until `Stop`."""
    try:
        while True:
            helper = threading.Thread(target=lambda: None)
            helper.start()
            helper.join()
    except Stop:
        stopped.append(True)
