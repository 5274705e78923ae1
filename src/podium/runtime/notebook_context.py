"""The notebook context real notebooks read through
`dbutils.notebook.entry_point.getDbutils().notebook().getContext()`.

On Databricks these are Scala objects reached through Py4J, so notebook code calls
`tags().apply("jobId")`, `notebookPath().get()` and `currentRunId().isDefined()`; the small
`Option` and `ScalaMap` types here answer those calls with the task's own values.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from typing import Any

from podium.runtime.context import TaskContext


class NoSuchElementException(KeyError):
    """What Scala's `Map.apply` and `None.get` raise for a missing value."""


class Option:
    """A Scala `Option`: `Some(value)` or `None`."""

    def __init__(self, value: Any = None):
        self._value = value

    def isDefined(self) -> bool:
        """Whether there is a value."""
        return self._value is not None

    def isEmpty(self) -> bool:
        """Whether there is no value."""
        return self._value is None

    def nonEmpty(self) -> bool:
        """Whether there is a value."""
        return self._value is not None

    def get(self) -> Any:
        """The value; NoSuchElementException when there is none."""
        if self._value is None:
            raise NoSuchElementException("None.get")
        return self._value

    def getOrElse(self, default: Any) -> Any:
        """The value, or `default`."""
        return default if self._value is None else self._value

    def toString(self) -> str:
        """`Some(value)` or `None`, as Scala prints it."""
        return "None" if self._value is None else f"Some({self._value})"

    __str__ = __repr__ = toString

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Option) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class RunId:
    """Scala's `RunId(id)`, what `currentRunId()` and `rootRunId()` hold."""

    def __init__(self, value: int):
        self._id = value

    def id(self) -> int:
        """The run id."""
        return self._id

    def toString(self) -> str:
        """`RunId(123)`."""
        return f"RunId({self._id})"

    __str__ = __repr__ = toString


class ScalaMap:
    """A read-only Scala `Map[String, String]`."""

    def __init__(self, values: dict[str, str]):
        self._values = dict(values)

    def apply(self, key: str) -> str:
        """The value; NoSuchElementException naming the key when it is missing."""
        if key not in self._values:
            raise NoSuchElementException(f"key not found: {key}")
        return self._values[key]

    def get(self, key: str) -> Option:
        """The value as an Option."""
        return Option(self._values.get(key))

    def getOrElse(self, key: str, default: Any) -> Any:
        """The value, or `default`."""
        return self._values.get(key, default)

    def contains(self, key: str) -> bool:
        """Whether the key is present."""
        return key in self._values

    def keys(self) -> list[str]:
        """The keys."""
        return list(self._values)

    def size(self) -> int:
        """How many entries."""
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def as_dict(self) -> dict[str, str]:
        """A copy as a Python dict (podium's own helper)."""
        return dict(self._values)

    def toString(self) -> str:
        """`Map(k -> v, ...)`, as Scala prints it."""
        return "Map(" + ", ".join(f"{k} -> {v}" for k, v in self._values.items()) + ")"

    __str__ = __repr__ = toString


class NotebookContext:
    """`getContext()` of one task: its path, tags, run ids and API address."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    def _tags(self) -> dict[str, str]:
        ctx = self._ctx
        tags = {"user": user_name(), "taskKey": ctx.task_key, "jobName": ctx.job_name,
                "runId": str(ctx.task_run_id), "multitaskParentRunId": str(ctx.run_id),
                "jobRunAttempt": str(ctx.attempt), "jobTriggerType": "manual"}
        if ctx.job_id is not None:
            tags["jobId"] = str(ctx.job_id)
        if ctx.cluster_id:
            tags["clusterId"] = tags["jobClusterId"] = ctx.cluster_id
        if ctx.sessions is not None and ctx.sessions.application_id:
            tags["sparkContextId"] = str(ctx.sessions.application_id)
        return tags if ctx.in_job else {"user": user_name()}

    def tags(self) -> ScalaMap:
        """The context tags: jobId, runId, multitaskParentRunId, taskKey, jobClusterId,
        clusterId, user, ..."""
        return ScalaMap(self._tags())

    def notebookPath(self) -> Option:
        """The running notebook's path."""
        return Option(self._ctx.notebook_path)

    def currentRunId(self) -> Option:
        """The task run's id (None outside a job run)."""
        return Option(RunId(self._ctx.task_run_id) if self._ctx.in_job else None)

    def rootRunId(self) -> Option:
        """The job run's id (None outside a job run)."""
        return Option(RunId(self._ctx.run_id) if self._ctx.in_job else None)

    def clusterId(self) -> Option:
        """The cluster the task runs on."""
        return Option(self._ctx.cluster_id or None)

    def userName(self) -> Option:
        """Who runs it."""
        return Option(user_name())

    def apiUrl(self) -> Option:
        """The workspace's API address (`DATABRICKS_HOST`), when one is set."""
        return Option(os.environ.get("DATABRICKS_HOST"))

    def apiToken(self) -> Option:
        """The token for the workspace's API (`DATABRICKS_TOKEN`), when one is set."""
        return Option(os.environ.get("DATABRICKS_TOKEN"))

    def extraContext(self) -> ScalaMap:
        """notebook_path and api_url, as Databricks' extraContext."""
        extra = {"notebook_path": self._ctx.notebook_path or ""}
        if os.environ.get("DATABRICKS_HOST"):
            extra["api_url"] = os.environ["DATABRICKS_HOST"]
        return ScalaMap(extra)

    def toJson(self) -> str:
        """The context as the JSON Databricks prints: tags, extraContext, run ids."""
        current = self.currentRunId().getOrElse(None)
        root = self.rootRunId().getOrElse(None)
        return json.dumps({
            "rootRunId": {"id": root.id()} if root else None,
            "currentRunId": {"id": current.id()} if current else None,
            "jobGroup": self._ctx.tag or None,
            "tags": self._tags(),
            "extraContext": self.extraContext().as_dict(),
            "credentialKeys": [],
        })

    def safeToJson(self) -> str:
        """The same JSON (podium puts no credentials in it)."""
        return self.toJson()


class _NotebookHandle:
    """`getDbutils().notebook()` on the entry point."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    def getContext(self) -> NotebookContext:
        """The task's notebook context."""
        return NotebookContext(self._ctx)


class _DbutilsHandle:
    """`entry_point.getDbutils()`."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    def notebook(self) -> _NotebookHandle:
        """`.notebook()`."""
        return _NotebookHandle(self._ctx)


class EntryPoint:
    """`dbutils.notebook.entry_point`: the Py4J entry point, as far as notebooks use it."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    def getDbutils(self) -> _DbutilsHandle:
        """`.getDbutils()`."""
        return _DbutilsHandle(self._ctx)


def user_name() -> str:
    """The user podium runs as (the OS user), as tags()["user"] gives it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "podium"
