"""Task types podium does not run (`spark_submit_task`, `dashboard_task`, ...):
the task fails with a message that says so, and the rest of the job runs (its
dependents follow their `run_if`), as a task that fails on Databricks would."""

from __future__ import annotations

from typing import Any

from podium.runtime.context import TaskContext
from podium.spec.models import Task


class UnsupportedTaskType(RuntimeError):
    """A task of a type podium cannot run."""


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Fail: podium does not run this task type."""
    raise UnsupportedTaskType(f"task '{task.task_key}' is a {task.task_type}, which podium "
                              "does not run; the job's other tasks run")
