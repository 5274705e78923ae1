"""A run in memory: the run, its task runs and their attempts, as the executor sees them."""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.engine.states import FINAL, LifeCycle, Result
from podium.runtime.context import TaskContext, TaskValues
from podium.spec.models import ClusterSpec, Job, Task

_ids = itertools.count(int(time.time() * 1000) % 10**12 * 100)


def new_id() -> int:
    """A run or task-run id, unique in this process and increasing."""
    return next(_ids)


@dataclass
class Attempt:
    """One try of a task run."""

    number: int
    start_ms: int
    log_path: Path
    end_ms: int | None = None
    result: Result | None = None
    error: str | None = None


@dataclass
class TaskRun:
    """One task of a run: its state, attempts and what it produced."""

    task: Task
    run_id: int = field(default_factory=new_id)
    life: LifeCycle = LifeCycle.PENDING
    result: Result | None = None
    message: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    cluster_key: str | None = None
    spark_context_id: str | None = None
    usage: dict[str, int] | None = None  # Spark work of all its attempts (spark_status)
    tags: list[str] = field(default_factory=list)  # each attempt's Spark tag
    exit_value: str | None = None
    error: str | None = None
    deadline: float | None = None
    retry_at: float | None = None
    ctx: TaskContext | None = None
    # Its own Python environment's build (engine/environments.py), once it asked for one;
    # False: it asks for no packages and runs in podium's process.
    build: Any = None
    attempt_base: int = 0  # attempts made before the current repair
    # A for_each iteration knows its container, index and input.
    parent: TaskRun | None = None
    index: int = 0
    input_value: Any = None
    # A for_each container's iterations and bookkeeping (O(1) per event).
    iterations: list[TaskRun] = field(default_factory=list)
    waiting: deque[int] = field(default_factory=deque)  # not started yet
    active: set[int] = field(default_factory=set)  # started, not yet final
    done: int = 0
    failed: int = 0
    # A run_job container's child run.
    child_run: Run | None = None

    @property
    def key(self) -> str:
        """The task key; an iteration is `container[index]`."""
        if self.parent is not None:
            return f"{self.parent.key}[{self.index}]"
        return self.task.task_key

    @property
    def tries(self) -> int:
        """Attempts made in the current repair (or the original run)."""
        return len(self.attempts) - self.attempt_base

    @property
    def final(self) -> bool:
        """Whether this task run will not change again."""
        return self.life in FINAL

    def add_usage(self, usage: dict[str, int]) -> None:
        """Count another attempt's Spark work (a retried task cost every attempt)."""
        total = dict(self.usage or {})
        for name, value in usage.items():
            total[name] = max(total.get(name, 0), value) if name == "cluster_cores" else \
                total.get(name, 0) + value
        self.usage = total

    @property
    def attempt_number(self) -> int:
        """The current attempt, counted from 0 as the Jobs API does."""
        return max(0, len(self.attempts) - 1)


@dataclass
class ChildJob:
    """The job a run_job_task names, found for its child run: in the parent's bundle, or
    (on a server) in the workspace's registry by `job_id`."""

    key: str
    job: Job
    bundle_root: Path
    jobs: dict[str, Job]  # the jobs the child's own run_job_tasks may name
    workspace_job_id: int | None = None


def bundle_child_job(run: Run, name: str) -> ChildJob | None:
    """A job of the parent run's bundle, by key or by name."""
    job = run.jobs.get(name) or next((j for j in run.jobs.values() if j.name == name), None)
    if job is None:
        return None
    key = next(k for k, j in run.jobs.items() if j is job)
    return ChildJob(key, job, run.bundle_root, run.jobs)


@dataclass
class Run:
    """One execution of a job with its parameters."""

    job_key: str
    job: Job
    bundle_root: Path
    params: dict[str, str]
    clusters: dict[str, ClusterSpec]
    run_id: int = field(default_factory=new_id)
    job_id: int | None = None  # set when the run is stored
    workspace_job_id: int | None = None  # the registry job it runs, if any
    idempotency_token: str | None = None
    creator: str | None = None  # who started it (the OS user when not said)
    trigger: str = "ONE_TIME"
    life: LifeCycle = LifeCycle.PENDING
    result: Result | None = None
    message: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    deadline: float | None = None
    stop_reason: Result | None = None  # CANCELED or TIMEDOUT once asked to stop
    repair_count: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)  # the bundle's jobs, for run_job_task
    parent: tuple[int, str] | None = None  # (run id, task key) of a run_job_task parent
    values: TaskValues = field(default_factory=TaskValues)
    task_runs: dict[str, TaskRun] = field(default_factory=dict)
    usage_read: set[str] = field(default_factory=set)  # clusters whose usage was asked for
    usage_pending: set[str] = field(default_factory=set)  # clusters still being read

    def __post_init__(self) -> None:
        if not self.task_runs:
            self.task_runs = {t.task_key: TaskRun(t) for t in self.job.tasks}

    @property
    def final(self) -> bool:
        """Whether the run has ended."""
        return self.life in FINAL

    def find(self, key: str) -> TaskRun | None:
        """A task run by key, iterations (`task[3]`) included."""
        if key in self.task_runs:
            return self.task_runs[key]
        name, _, rest = key.partition("[")
        container = self.task_runs.get(name)
        if container is None or not rest.endswith("]"):
            return None
        index = int(rest[:-1])
        return container.iterations[index] if index < len(container.iterations) else None
