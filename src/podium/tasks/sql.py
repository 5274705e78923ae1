"""`sql_task`: a `.sql` file or inline query, statements split on `;`, `:name` params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.runtime.dbutils import display
from podium.runtime.notebooks import run_sql
from podium.spec.models import Task
from podium.spec.paths import find_file


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Run every statement in this task's session; the last result goes to the log."""
    spec = task.sql_task
    if spec.file is not None:  # a local or a workspace path
        text = (find_file(Path(spec.file.path)) or Path(spec.file.path)).read_text()
    else:
        text = spec.query.text
    spark = ctx.start_spark()
    params = {k: render(v) for k, v in spec.parameters.items()}
    run_sql(spark, text, params, display)
    return None
