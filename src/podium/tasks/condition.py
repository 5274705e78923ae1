"""`condition_task`: compare two values; the outcome steers `depends_on.outcome`.

`EQUAL_TO`/`NOT_EQUAL` compare strings; the others compare numbers, as Databricks does.
"""

from __future__ import annotations

import operator
from typing import Any

from podium.runtime.context import TaskContext
from podium.spec.models import ConditionOp, Task

NUMERIC = {
    ConditionOp.GREATER_THAN: operator.gt,
    ConditionOp.GREATER_THAN_OR_EQUAL: operator.ge,
    ConditionOp.LESS_THAN: operator.lt,
    ConditionOp.LESS_THAN_OR_EQUAL: operator.le,
}


def evaluate(op: ConditionOp, left: Any, right: Any) -> bool:
    """The condition's outcome."""
    if op is ConditionOp.EQUAL_TO:
        return str(left) == str(right)
    if op is ConditionOp.NOT_EQUAL:
        return str(left) != str(right)
    try:
        return NUMERIC[op](float(left), float(right))
    except ValueError:
        raise ValueError(f"{op.value} compares numbers, but got '{left}' and '{right}'") from None


def execute(task: Task, ctx: TaskContext, render: Any) -> str:
    """'true' or 'false', which becomes the task's outcome."""
    spec = task.condition_task
    return "true" if evaluate(spec.op, render(spec.left), render(spec.right)) else "false"
