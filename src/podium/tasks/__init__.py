"""What a task does: one module per task type, found through `REGISTRY`.

Every module has `execute(task, ctx, render) -> exit value or None`; `render` fills in
`{{...}}` references for this task run. A new task type is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.spec.models import UNSUPPORTED_TASK_TYPES
from podium.tasks import (
    condition,
    dbt,
    notebook,
    pipeline,
    python_callable,
    python_wheel,
    spark_jar,
    spark_python,
    sql,
    unsupported,
)

Execute = Callable[..., Any]

REGISTRY: dict[str, Execute] = {
    "notebook_task": notebook.execute,
    "spark_python_task": spark_python.execute,
    "python_wheel_task": python_wheel.execute,
    "spark_jar_task": spark_jar.execute,
    "python_task": python_callable.execute,
    "sql_task": sql.execute,
    "condition_task": condition.execute,
    "pipeline_task": pipeline.execute,
    "dbt_task": dbt.execute,
    **{name: unsupported.execute for name in UNSUPPORTED_TASK_TYPES},
}
