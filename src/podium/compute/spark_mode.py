"""Classic or Spark Connect, decided per thread instead of per process.

PySpark decides whether `pyspark.sql.functions` and `SparkSession.builder` act for a
classic or a Spark Connect session from an environment variable (`is_remote()` in
`pyspark.sql.utils`), so once any Connect session exists every classic session of the
process breaks, and the other way round. podium runs both kinds in one process (its
classic cluster plus Connect servers for other clusters), so each task thread states the
kind of its session (`set_thread`), threads a task starts inherit it, and `is_remote`
answers from that. Threads that never state one keep PySpark's own rule.

PySpark imports `is_remote` by name into many modules, so the function's code is replaced
in place (same globals, no closure) rather than rebinding the name.

`SparkSession.builder.getOrCreate()` in task code returns the task's own session, as it
returns the notebook's session on Databricks; PySpark's would return the process's first
session, shared by every task and stale after another session dropped and rewrote a table.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from podium import threads

_lock = threading.Lock()


def _thread_mode() -> bool | None:
    return threads.get("spark_remote")


def _is_remote() -> bool:  # runs with pyspark.sql.utils' globals once installed
    mode = _podium_thread_mode()  # type: ignore[name-defined]  # noqa: F821
    if mode is not None:
        return mode
    return ("SPARK_CONNECT_MODE_ENABLED" in os.environ) or is_remote_only()  # type: ignore[name-defined]  # noqa: F821


def install() -> None:
    """Make `pyspark.sql.utils.is_remote` consult the calling thread's kind (idempotent)."""
    import pyspark.sql.utils as utils

    with _lock:
        if getattr(utils, "_podium_thread_mode", None) is not None:
            return
        utils._podium_thread_mode = _thread_mode  # type: ignore[attr-defined]
        utils.is_remote.__code__ = _is_remote.__code__
        threads.install()
        _route_get_or_create()


def _route_get_or_create() -> None:
    from pyspark.sql.session import SparkSession

    original = SparkSession.Builder.getOrCreate

    def get_or_create(self: Any) -> Any:
        session = getattr(threads.get("context"), "spark", None)
        if session is not None:  # task code: its own session, whatever the builder says
            for key, value in getattr(self, "_options", {}).items():
                if not key.startswith(("spark.master", "spark.remote", "spark.app.name")):
                    # a static setting cannot change; as on Databricks, it stays
                    with contextlib.suppress(Exception):
                        session.conf.set(key, value)
            return session
        return original(self)

    SparkSession.Builder.getOrCreate = get_or_create  # type: ignore[method-assign]


def set_thread(remote: bool) -> None:
    """Say that the calling thread (and threads it starts) uses a Connect or a classic
    session."""
    install()
    threads.put("spark_remote", remote)
