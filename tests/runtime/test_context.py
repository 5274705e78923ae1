"""How a task's thread is interrupted: only while it runs the task's code, at most once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from podium.runtime.context import TaskContext, TaskValues
from podium.runtime.errors import TaskInterrupted


def make_ctx(tmp_path: Path) -> TaskContext:
    return TaskContext(run_id=1, job_key="j", job_name="j", task_key="t", attempt=0,
                       task_run_id=2, params={}, log_path=tmp_path / "t.log",
                       bundle_root=tmp_path, values=TaskValues())


def spin(seconds: float) -> None:
    """Python work that an asynchronous exception can land in (a loop of short sleeps)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)


def test_an_interrupt_reaches_the_running_thread_at_most_once(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    attached, caught = threading.Event(), []

    def task() -> None:
        ctx.attach()  # no detach: as if the interrupt landed before the code could say so
        attached.set()
        for _ in range(2):
            try:
                spin(0.6)
            except TaskInterrupted:
                caught.append(time.monotonic())

    thread = threading.Thread(target=task)
    thread.start()
    attached.wait()
    ctx.interrupt()
    time.sleep(0.2)
    ctx.interrupt()  # say a cancel after a timeout: the thread may be running other code
    thread.join()
    assert len(caught) == 1
    assert ctx.cancel_event.is_set()


def test_no_interrupt_reaches_a_thread_after_its_task_detached(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    detached, caught = threading.Event(), []

    def worker() -> None:
        ctx.attach()
        ctx.detach()  # the task's code ended; this thread goes on to other work
        detached.set()
        try:
            spin(0.5)
        except TaskInterrupted:
            caught.append("stray")

    thread = threading.Thread(target=worker)
    thread.start()
    detached.wait()
    ctx.interrupt()
    thread.join()
    assert caught == []


def test_halt_interrupts_without_marking_the_task_cancelled(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    attached, caught = threading.Event(), []

    def task() -> None:
        ctx.attach()
        attached.set()
        try:
            spin(5)
        except TaskInterrupted:
            caught.append("halted")
        finally:
            ctx.detach()

    thread = threading.Thread(target=task)
    thread.start()
    attached.wait()
    ctx.halt()
    thread.join()
    assert caught == ["halted"]
    assert not ctx.cancel_event.is_set()
