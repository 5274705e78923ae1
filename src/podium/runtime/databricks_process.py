"""What task code expects of the process it runs in, as a Databricks driver gives it: each
patch below is installed once, by every process that runs tasks (the executor's and a task
environment's server)."""

from __future__ import annotations

from podium.runtime import (
    autoloader,
    delta_sql,
    pyspark_logs,
    relative_imports,
    sdk_runtime,
    task_env,
    workdir,
)


def install() -> None:
    """Install every patch (each is idempotent)."""
    sdk_runtime.install()  # `from databricks.sdk.runtime import spark` in task code
    relative_imports.install()  # `sys.path.append("../src")` in a notebook
    workdir.install()  # a task's working directory is its notebook's folder
    task_env.install()  # DATABRICKS_HOST and a token of the run's own
    autoloader.install()  # readStream.format("cloudFiles")
    delta_sql.install()  # `DeltaTable` on Spark Connect sessions, as Delta SQL
    pyspark_logs.install()  # PySpark's error log lines as plain text, not JSON
