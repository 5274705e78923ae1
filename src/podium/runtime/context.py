"""What a running task knows about itself: its run, parameters, Spark session, values."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from podium import threads
from podium.runtime.errors import TaskInterrupted


class Sessions(Protocol):
    """Where a task gets Spark from: the cluster it runs on (see podium.compute)."""

    application_id: str | None

    def new_session(self) -> Any:
        """A new isolated SparkSession on the cluster's application."""

    def bind_thread(self, session: Any, group: str, tags: list[str]) -> None:
        """Tag Spark work started by the calling thread, for progress and cancel."""

    def cancel(self, tag: str) -> None:
        """Stop every Spark job carrying `tag` now."""

    def release(self, session: Any) -> None:
        """The task is done with `session`."""


@dataclass
class TaskValues:
    """Task values of one run: `values[task_key][key]`, shared by all its tasks."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    claim_output: Any = None  # (name) -> None when taken, else who holds it

    def set(self, task_key: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable value (checked now, as Databricks does)."""
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"task value '{key}' must be JSON-serialisable: {exc}") from None
        with self.lock:
            self.values.setdefault(task_key, {})[key] = value

    def get(self, task_key: str, key: str) -> Any:
        """The value, or KeyError."""
        with self.lock:
            return self.values[task_key][key]


@dataclass
class ChildRun:
    """A notebook started by `dbutils.notebook.run`, recorded under its parent task."""

    path: str
    arguments: dict[str, str]
    log_path: Path
    start_time: float
    end_time: float | None = None
    result: str | None = None
    exit_value: str | None = None
    error: str | None = None


@dataclass
class TaskContext:
    """Everything task code can see about the task run it belongs to."""

    run_id: int
    job_key: str
    job_name: str
    task_key: str
    attempt: int
    task_run_id: int
    params: dict[str, str]
    log_path: Path
    bundle_root: Path
    values: TaskValues
    upstream: frozenset[str] = frozenset()
    sessions: Sessions | None = None
    tag: str = ""
    parent_tags: tuple[str, ...] = ()
    cancel_event: threading.Event = field(default_factory=threading.Event)
    secret_values: list[str] = field(default_factory=list)
    children: list[ChildRun] = field(default_factory=list)
    notebook_dir: Path | None = None  # the notebook's or Python file's folder
    workdir: Path | None = None  # its working directory (`runtime/workdir.py`)
    env: Any = None  # its own environment variables (`runtime/task_env.TaskEnv`)
    exit_value: str | None = None
    spark: Any = None
    thread_id: int | None = None
    in_job: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    claim_output: Any = None  # (name) -> None when taken, else who holds it
    job_id: int | None = None
    cluster_id: str = ""  # the cluster's name as jobs refer to it (existing_cluster_id)
    notebook_path: str | None = None
    running_children: list[TaskContext] = field(default_factory=list)  # notebook.run's

    def start_spark(self) -> Any:
        """Open this task's own session and tag the calling thread's Spark work."""
        if self.sessions is None:
            return None
        if self.spark is None:
            self.spark = self.sessions.new_session()
        self.sessions.bind_thread(self.spark, self.tag, [*self.parent_tags, self.tag])
        return self.spark

    def close_spark(self) -> None:
        """Give this task's session back to its cluster (called when the task ends)."""
        if self.spark is not None and self.sessions is not None:
            self.sessions.release(self.spark)
            self.spark = None

    def check_cancelled(self) -> None:
        """Cooperative cancel point, called from dbutils: raise if the task was stopped."""
        if self.cancel_event.is_set():
            raise TaskInterrupted(f"task '{self.task_key}' was cancelled")

    def interrupt(self, spark: bool = True) -> None:
        """Stop this task: Spark jobs first (unless `spark` is False: its cluster is
        gone), then its Python thread and those of its running child notebooks."""
        self.cancel_event.set()
        self.halt(spark)

    def halt(self, spark: bool = True) -> None:
        """Interrupt the code under way (Spark jobs, then the thread) without marking
        the task cancelled: how a child notebook's timeout stops only that child."""
        if spark and self.sessions is not None and self.tag:
            self.sessions.cancel(self.tag)
        with self.lock:
            children = list(self.running_children)
            if self.thread_id is not None:
                threads.raise_in(self.thread_id, TaskInterrupted)
                self.thread_id = None  # at most once: after it the thread may run other work
        for child in children:
            child.halt(spark)

    def attach(self) -> None:
        """The calling thread starts running this context's code: `halt` reaches it."""
        with self.lock:
            self.thread_id = threading.get_ident()

    def detach(self) -> None:
        """The calling thread is done with this context's code: no interrupt reaches it
        after this, and one on its way that has not been raised yet is dropped."""
        with self.lock:
            if self.thread_id is None:  # halted: its TaskInterrupted may still be pending
                threads.raise_in(threading.get_ident(), None)
            self.thread_id = None


def current() -> TaskContext | None:
    """The task context of the calling thread (inherited by threads a task starts)."""
    return threads.get("context")


def bind(ctx: TaskContext | None) -> TaskContext | None:
    """Make `ctx` the calling thread's context; returns the previous one."""
    threads.install()
    return threads.put("context", ctx)


def now_ms() -> int:
    """Wall-clock epoch milliseconds, as the Jobs API reports times."""
    return int(time.time() * 1000)
