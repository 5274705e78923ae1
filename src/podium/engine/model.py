"""A run in memory: the run, its task runs and their attempts, as the executor sees them."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    exit_value: str | None = None
    error: str | None = None
    deadline: float | None = None
    retry_at: float | None = None
    ctx: TaskContext | None = None
    attempt_base: int = 0  # attempts made before the current repair

    @property
    def tries(self) -> int:
        """Attempts made in the current repair (or the original run)."""
        return len(self.attempts) - self.attempt_base

    @property
    def key(self) -> str:
        """The task key."""
        return self.task.task_key

    @property
    def final(self) -> bool:
        """Whether this task run will not change again."""
        return self.life in FINAL

    @property
    def attempt_number(self) -> int:
        """The current attempt, counted from 0 as the Jobs API does."""
        return max(0, len(self.attempts) - 1)


@dataclass
class Run:
    """One execution of a job with its parameters."""

    job_key: str
    job: Job
    bundle_root: Path
    params: dict[str, str]
    clusters: dict[str, ClusterSpec]
    run_id: int = field(default_factory=new_id)
    trigger: str = "ONE_TIME"
    life: LifeCycle = LifeCycle.PENDING
    result: Result | None = None
    message: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    deadline: float | None = None
    stop_reason: Result | None = None  # CANCELED or TIMEDOUT once asked to stop
    repair_count: int = 0
    values: TaskValues = field(default_factory=TaskValues)
    task_runs: dict[str, TaskRun] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.task_runs:
            self.task_runs = {t.task_key: TaskRun(t) for t in self.job.tasks}

    @property
    def final(self) -> bool:
        """Whether the run has ended."""
        return self.life in FINAL
