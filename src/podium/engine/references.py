"""Filling in `{{...}}` references for one task run from the run's live state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from podium.engine.model import Run, TaskRun
from podium.spec import references


class UnresolvedReference(ValueError):
    """A reference whose value does not exist (yet) in this run."""


def renderer(run: Run, tr: TaskRun, input_value: Any = None):
    """A function rendering strings (and nested lists/dicts) for this task run."""

    def lookup(kind: tuple[str, ...]) -> Any:
        head = kind[0]
        if head == "job.parameters":
            if kind[1] not in run.params:
                raise UnresolvedReference(f"job parameter '{kind[1]}' has no value")
            return run.params[kind[1]]
        if head == "job":
            return _job_field(run, kind[1])
        if head == "task":
            return {"name": tr.key, "run_id": tr.run_id,
                    "execution_count": len(tr.attempts),
                    "notebook_path": getattr(tr.task.notebook_task, "notebook_path", "")}[kind[1]]
        if head == "tasks.values":
            try:
                return run.values.get(kind[1], kind[2])
            except KeyError:
                raise UnresolvedReference(f"task '{kind[1]}' set no value '{kind[2]}'") from None
        if head == "tasks":
            other = run.task_runs[kind[1]]
            return {"result_state": (other.result.value.lower() if other.result else ""),
                    "run_id": other.run_id, "execution_count": len(other.attempts),
                    "error_code": "" if other.error is None else "RunExecutionError"}[kind[2]]
        if head == "input":
            if len(kind) == 1:
                return input_value
            value = input_value
            for part in kind[1].split("."):
                value = value[part] if isinstance(value, dict) else None
            return value
        return {"id": "local", "url": "http://localhost"}[kind[1]]

    def render(value: Any) -> Any:
        if isinstance(value, str):
            return references.render(value, lookup)
        if isinstance(value, list):
            return [render(v) for v in value]
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        return value

    return render


def _job_field(run: Run, name: str) -> Any:
    start = dt.datetime.fromtimestamp((run.start_ms or 0) / 1000, tz=dt.timezone.utc)
    fields = {
        "id": run.job_key, "name": run.job.name, "run_id": run.run_id, "repair_count": 0,
        "trigger.type": run.trigger, "trigger.time": run.start_ms,
        "start_time.iso_date": start.date().isoformat(),
        "start_time.iso_datetime": start.isoformat(), "start_time.timestamp_ms": run.start_ms,
        "start_time.year": start.year, "start_time.month": start.month,
        "start_time.day": start.day, "start_time.hour": start.hour,
        "start_time.minute": start.minute, "start_time.second": start.second,
        "start_time.is_weekday": start.weekday() < 5,
    }
    return fields[name]
