"""`python_wheel_task`: call an installed package's entry point with its parameters."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

from podium.runtime.context import TaskContext
from podium.spec.models import Task
from podium.tasks.argv import thread_argv


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Find `entry_point` of `package_name` and call it with argv from the parameters."""
    spec = task.python_wheel_task
    ctx.start_spark()
    try:
        found = [ep for ep in distribution(spec.package_name).entry_points
                 if ep.name == spec.entry_point]
    except PackageNotFoundError:
        found = []
    if not found:
        raise LookupError(f"no entry point '{spec.entry_point}' in package "
                          f"'{spec.package_name}'; name the wheel in the task's libraries "
                          "(- whl: ./dist/*.whl)")
    args = [str(render(p)) for p in spec.parameters] + \
        [f"--{k}={render(v)}" for k, v in spec.named_parameters.items()]
    with thread_argv([spec.entry_point, *args]):
        try:
            result = found[0].load()()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"{spec.entry_point} exited with code {exc.code}") from None
            result = None
    return None if result is None else str(result)
