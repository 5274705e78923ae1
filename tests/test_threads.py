"""Threads a task starts inherit its values, and an interrupt raised in a task's thread
reaches that thread, even while it is starting a thread of its own (and the lock that
makes it so neither deadlocks a signal handler nor a forked child); a ticker thread that
runs only while it is needed."""

from __future__ import annotations

import subprocess
import sys
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


SIGNALLED = """
import os, signal, threading, time
from podium import threads
threads.install()
handling = []
def on_signal(signum, frame):  # as a cancel's handler does: it starts a thread
    if not handling:
        handling.append(1)
        helper = threading.Thread(target=lambda: None)
        helper.start()
        helper.join()
        handling.clear()
signal.signal(signal.SIGUSR1, on_signal)
done = threading.Event()
def poke():
    while not done.is_set():
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.001)
threading.Thread(target=poke, daemon=True).start()
for _ in range(2000):
    helper = threading.Thread(target=lambda: None)
    helper.start()
    helper.join()
done.set()
"""

FORKED = """
import os, threading
from podium import threads
threads.install()
held, release = threading.Event(), threading.Event()
def hold():  # a thread of the parent that is starting a thread as the process forks
    with threads._starting:
        held.set()
        release.wait()
threading.Thread(target=hold, daemon=True).start()
held.wait()
child = os.fork()
if child == 0:
    helper = threading.Thread(target=lambda: None)
    helper.start()
    helper.join()
    os._exit(0)
release.set()
assert os.waitpid(child, 0)[1] == 0
"""


def test_a_signal_handler_that_starts_a_thread_runs_while_the_main_thread_starts_one(
        ) -> None:
    """A handler runs in the main thread between any two of its bytecodes, so also while
    that thread holds the start lock: the lock is re-entrant."""
    done = subprocess.run([sys.executable, "-c", SIGNALLED], timeout=60, text=True,
                          capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_forked_child_starts_threads_though_a_parent_thread_held_the_lock() -> None:
    done = subprocess.run([sys.executable, "-c", FORKED], timeout=60, text=True,
                          capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_ticker_ticks_while_needed_ends_when_not_and_wakes_again() -> None:
    needed = threading.Event()
    ticks: list[float] = []
    ticker = threads.Ticker("podium-test-ticker", 0.01, needed.is_set,
                            lambda: ticks.append(time.monotonic()))

    def running() -> bool:
        return any(t.name == "podium-test-ticker" for t in threading.enumerate())

    needed.set()
    ticker.wake()
    ticker.wake()  # one thread, however often it is woken
    deadline = time.monotonic() + 5
    while len(ticks) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(ticks) >= 3
    assert sum(t.name == "podium-test-ticker" for t in threading.enumerate()) == 1
    needed.clear()
    while running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not running()
    count = len(ticks)
    time.sleep(0.05)
    assert len(ticks) == count  # ended: nothing ticks
    needed.set()
    ticker.wake()
    while len(ticks) == count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(ticks) > count
    needed.clear()


def test_a_ticker_whose_tick_raised_is_started_again_by_the_next_wake() -> None:
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 1:
            raise ConnectionError("the cluster went away under the tick")

    ticker = threads.Ticker("podium-test-raising", 0.01, lambda: True, tick)
    hook, threading.excepthook = threading.excepthook, lambda args: None  # expected
    try:
        ticker.wake()
        deadline = time.monotonic() + 5
        while any(t.name == "podium-test-raising" for t in threading.enumerate()) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ticks == [1]  # it died with its tick
        ticker.wake()
        while len(ticks) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(ticks) >= 3
    finally:
        threading.excepthook = hook
        ticker.needed = lambda: False
