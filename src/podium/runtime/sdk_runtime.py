"""`from databricks.sdk.runtime import spark, dbutils, display` in task code (Databricks'
templates write it) gets the running task's own objects.

databricks-sdk looks for `dbruntime.UserNamespaceInitializer`, which a Databricks cluster
provides; podium registers a `dbruntime` module in its own processes (never on disk, so
other programs are untouched). databricks-sdk reads the namespace once per process, and
one podium process runs many tasks, so each object is a stand-in that acts as the
calling thread's task's object.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from podium.runtime import context as context_mod


class TaskObject:
    """Stands in for a task's `spark`, `dbutils` or `sc`: attribute access and calls go
    to the current task's object."""

    def __init__(self, name: str, get: Callable[[], Any]):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_get", get)

    def _target(self) -> Any:
        return object.__getattribute__(self, "_get")()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._target(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<the current podium task's {object.__getattribute__(self, '_name')}>"


def _ctx() -> Any:
    ctx = context_mod.current()
    if ctx is None:
        raise RuntimeError("databricks.sdk.runtime's objects exist inside podium tasks only")
    return ctx


def _dbutils() -> Any:
    from podium.runtime.dbutils import for_context

    return for_context(_ctx())


def namespace() -> dict[str, Any]:
    """What a notebook's namespace holds, as stand-ins for the current task's."""
    from podium.runtime.dbutils import display

    spark = TaskObject("spark", lambda: _ctx().start_spark())
    dbutils = TaskObject("dbutils", _dbutils)
    return {
        "spark": spark, "dbutils": dbutils, "display": display, "displayHTML": print,
        "sc": TaskObject("sc", lambda: _ctx().start_spark().sparkContext),
        "sql": lambda query, *args, **kwargs: spark.sql(query, *args, **kwargs),
        "table": lambda name: spark.table(name),
        "getArgument": lambda name, default=None: dbutils.widgets.getArgument(name, default),
        "udf": _udf(),
    }


def _udf() -> Any:
    from pyspark.sql.functions import udf

    return udf


class UserNamespaceInitializer:
    """The entry point databricks-sdk's `databricks.sdk.runtime` asks for."""

    @classmethod
    def getOrCreate(cls) -> UserNamespaceInitializer:
        """The one initializer."""
        return cls()

    def get_namespace_globals(self) -> dict[str, Any]:
        """The namespace `databricks.sdk.runtime` copies its objects from."""
        return namespace()


def install() -> None:
    """Register `dbruntime` in this process (once)."""
    if "dbruntime" not in sys.modules:
        module = types.ModuleType("dbruntime", "podium's stand-in for Databricks' runtime")
        module.UserNamespaceInitializer = UserNamespaceInitializer  # type: ignore[attr-defined]
        sys.modules["dbruntime"] = module
