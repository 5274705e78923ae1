"""Dynamic value references (`{{job.parameters.x}}`, `{{tasks.a.values.b}}`, ...).

They are kept in the spec as written, checked at load time and filled in at run time
by `render`, with Databricks' names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
BRACKETS = re.compile(r"\.\[([^\[\]]+)\]")

JOB_FIELDS = {"id", "name", "run_id", "repair_count", "trigger.type", "trigger.time",
              "start_time.iso_date", "start_time.iso_datetime", "start_time.timestamp_ms",
              "start_time.year", "start_time.month", "start_time.day", "start_time.hour",
              "start_time.minute", "start_time.second", "start_time.is_weekday"}
TASK_FIELDS = {"name", "run_id", "execution_count", "notebook_path"}
UPSTREAM_FIELDS = {"result_state", "run_id", "execution_count", "error_code"}
LEGACY = {"job_id": "job.id", "run_id": "task.run_id", "parent_run_id": "job.run_id",
          "start_date": "job.start_time.iso_date", "start_time": "job.start_time.timestamp_ms",
          "task_key": "task.name"}


class ReferenceError_(ValueError):
    """A `{{...}}` reference podium does not know; the message says what is allowed."""


def find(text: str) -> Iterator[str]:
    """Every reference expression inside `text`, without the braces."""
    for match in REFERENCE.finditer(text):
        yield match.group(1)


def classify(expr: str) -> tuple[str, ...]:
    """Split a reference into its kind and arguments, or raise ReferenceError_.

    Kinds: ("job", field), ("job.parameters", name), ("task", field),
    ("tasks.values", key, name), ("tasks", key, field), ("input",), ("input", field),
    ("workspace", field).
    """
    expr = BRACKETS.sub(r".\1", expr.replace(" ", ""))  # job.parameters.[x] is job.parameters.x
    expr = LEGACY.get(expr, expr)
    parts = expr.split(".")
    head = parts[0]
    if head == "job":
        rest = ".".join(parts[1:])
        if len(parts) >= 3 and parts[1] == "parameters":
            return ("job.parameters", ".".join(parts[2:]))
        if rest in JOB_FIELDS:
            return ("job", rest)
    elif head == "task" and len(parts) == 2 and parts[1] in TASK_FIELDS:
        return ("task", parts[1])
    elif head == "tasks" and len(parts) >= 3:
        if parts[2] == "values" and len(parts) >= 4:
            return ("tasks.values", parts[1], ".".join(parts[3:]))
        if len(parts) == 3 and parts[2] in UPSTREAM_FIELDS:
            return ("tasks", parts[1], parts[2])
    elif head == "input":
        return ("input",) if len(parts) == 1 else ("input", ".".join(parts[1:]))
    elif head == "workspace" and len(parts) == 2 and parts[1] in ("id", "url"):
        return ("workspace", parts[1])
    raise ReferenceError_(
        f"unknown reference '{{{{{expr}}}}}'; use one of job.parameters.<name>, job.id, "
        "job.run_id, job.start_time.iso_date, task.name, tasks.<key>.values.<name>, "
        "tasks.<key>.result_state, input, input.<field>"
    )


def as_text(value: Any) -> str:
    """How a value appears when substituted into a string (JSON for lists and dicts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def render(text: str, lookup: Callable[[tuple[str, ...]], Any]) -> str:
    """Replace every reference in `text` with `lookup(classify(expr))` as text."""
    if "{{" not in text:
        return text
    return REFERENCE.sub(lambda m: as_text(lookup(classify(m.group(1)))), text)
