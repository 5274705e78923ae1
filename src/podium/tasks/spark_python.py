"""`spark_python_task`: a Python file run as `__main__` with `parameters` as sys.argv."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.runtime.dbutils import display, for_context
from podium.spec.models import Task
from podium.spec.paths import find_file
from podium.tasks.argv import thread_argv


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Run the file; `SystemExit(0)` is success, any other exit code fails the task."""
    spec = task.spark_python_task
    path = find_file(Path(spec.python_file)) or Path(spec.python_file)  # workspace paths
    if path.is_file():  # as Databricks runs a file: from its folder, which imports see
        ctx.notebook_dir = ctx.workdir = path.resolve().parent
    spark = ctx.start_spark()
    argv = [str(path), *(str(render(p)) for p in spec.parameters)]
    init = {"spark": spark, "dbutils": for_context(ctx), "display": display}
    with thread_argv(argv):
        try:
            runpy.run_path(str(path), init_globals=init, run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"{path.name} exited with code {exc.code}") from None
    return None
