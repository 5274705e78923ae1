"""`sql_task`: a `.sql` file or inline query, statements split on `;`, `:name` params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.runtime.dbutils import display
from podium.runtime.notebooks import run_sql
from podium.spec.models import Task


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Run every statement in this task's session; the last result goes to the log."""
    spec = task.sql_task
    text = Path(spec.file.path).read_text() if spec.file is not None else spec.query.text
    spark = ctx.start_spark()
    params = {k: render(v) for k, v in spec.parameters.items()}
    run_sql(spark, text, params, display)
    return None
