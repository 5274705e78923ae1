"""`python_task` (podium's own): call `module:function` with keyword parameters.

No Spark is started for it. The module is looked up in the bundle root first. A return
value is the task's exit value and, if JSON-serialisable, its `returnValue` task value.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from podium.runtime.context import TaskContext
from podium.spec.models import Task


def load_callable(target: str, root: str) -> Any:
    """Import `module:function` (or `module.function`), looking in `root` first."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Call the function with rendered keyword parameters."""
    function = load_callable(task.python_task.function, str(ctx.bundle_root))
    kwargs = {k: render(v) for k, v in task.python_task.parameters.items()
              if not k.startswith("podium.")}
    result = function(**kwargs)
    if result is None:
        return None
    try:
        json.dumps(result)
        ctx.values.set(ctx.task_key, "returnValue", result)
    except (TypeError, ValueError):
        pass
    return result if isinstance(result, str) else json.dumps(result, default=str)
