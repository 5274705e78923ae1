"""Per-thread values that threads started by task code inherit (log, task context), and
an exception raised in another thread (how a task's code is interrupted)."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from typing import Any

_original_start = threading.Thread.start
_installed = False
# Held while a thread starts and while an exception is raised in another thread. CPython
# 3.11 gives a new thread's state its starter's id until the new thread runs, and raising
# in "the starter" then picks the new thread: it dies before saying it started, and its
# starter (a task's thread, inside PySpark's release pool, holding that pool's lock) waits
# for ever. Re-entrant: a signal handler that starts a thread can run in the main thread
# while that thread holds it. A forked child, where no other thread runs, gets a new one.
_starting = threading.RLock()


def _renew_after_fork() -> None:
    global _starting
    _starting = threading.RLock()


os.register_at_fork(after_in_child=_renew_after_fork)


def get(name: str) -> Any:
    """This thread's value for `name`, or the one it inherited from its starter."""
    return getattr(threading.current_thread(), f"_podium_{name}", None)


def put(name: str, value: Any) -> Any:
    """Set this thread's value for `name`; returns the previous one to restore later."""
    thread = threading.current_thread()
    previous = getattr(thread, f"_podium_{name}", None)
    setattr(thread, f"_podium_{name}", value)
    return previous


def raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise `exc` in thread `thread_id` at its next bytecode (None: drop a pending one),
    never while a thread is being started (`_starting`)."""
    with _starting:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)


def _start_inheriting(self: threading.Thread) -> None:
    parent = threading.current_thread()
    for attr, value in vars(parent).items():
        if attr.startswith("_podium_") and not hasattr(self, attr):
            setattr(self, attr, value)
    with _starting:  # until the new thread runs with its own id (see `_starting`)
        _original_start(self)


def install() -> None:
    """Make new threads inherit their starter's podium values (idempotent)."""
    global _installed
    if not _installed:
        threading.Thread.start = _start_inheriting  # type: ignore[method-assign]
        _installed = True


class Ticker:
    """A daemon thread that calls `tick()` every `period` seconds while `needed()` holds
    and ends when it does not; `wake()` starts it again. Its last look and `wake` share a
    lock, so work that becomes needed just as it ends is never left without a thread."""

    def __init__(self, name: str, period: float, needed: Callable[[], bool],
                 tick: Callable[[], None]) -> None:
        self.name, self.period, self.needed, self.tick = name, period, needed, tick
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Make sure the thread runs (cheap when it already does)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                time.sleep(self.period)
                with self._lock:
                    if not self.needed():
                        self._thread = None
                        return
                self.tick()
        finally:  # a tick that raised ended the thread: the next wake starts another
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
