"""`notebook_task`: a Databricks notebook with widgets from its parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.runtime.dbutils import run_notebook
from podium.spec.models import Task


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Run the notebook; its `dbutils.notebook.exit` value is the task's exit value."""
    return run_notebook(Path(task.notebook_task.notebook_path), ctx)
