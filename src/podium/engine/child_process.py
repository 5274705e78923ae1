"""The process a task with its own Python environment runs in: `<env>/bin/python -m
podium.engine.child_process`.

It starts ahead of need (importing PySpark's Connect client and podium's runtime takes
most of a second), then waits for one task on stdin: a JSON object from
`podium.engine.isolated`. It attaches to the task's cluster through Spark Connect with the
session id the parent chose (so the parent can interrupt its work), runs the task with
the same task modules, `dbutils` and log routing as in-process tasks, and writes the
outcome as JSON to the path it was given. Then it exits: one process per task attempt.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

# Imported before a task arrives: this is what the process is started early for.
import pyspark.sql.connect.session  # noqa: F401

from podium.compute.connect import ConnectCluster
from podium.runtime import context as context_mod
from podium.runtime import delta_sql, output, sdk_runtime
from podium.runtime.context import ChildRun, TaskContext, TaskValues
from podium.runtime.errors import TaskInterrupted
from podium.spec.models import ClusterSpec, Task
from podium.tasks import REGISTRY

UDF_PYTHON = "spark.sql.execution.pyspark.python"


def attached_cluster(spec: dict[str, Any]) -> ConnectCluster | None:
    """The task's cluster as a Spark Connect client with the parent's session id (None
    for a task without Spark)."""
    if not spec["connect_url"]:
        return None
    cluster = ConnectCluster(spec["cluster_key"],
                             ClusterSpec(spark_conf={"spark.remote": spec["connect_url"]}))
    cluster.application_id = spec["application_id"]
    if spec["udf_python"]:  # the cluster's Python workers run this environment's Python
        cluster.session_conf[UDF_PYTHON] = sys.executable
    cluster.catalog.writer = spec["writer"] or cluster.catalog.writer
    return cluster


def context_of(spec: dict[str, Any], cluster: ConnectCluster | None) -> TaskContext:
    """The task's context, as the parent would have built it."""
    values = TaskValues({k: dict(v) for k, v in spec["values"].items()})
    return TaskContext(
        run_id=spec["run_id"], job_key=spec["job_key"], job_name=spec["job_name"],
        task_key=spec["task_key"], attempt=spec["attempt"], task_run_id=spec["task_run_id"],
        params=spec["params"], log_path=Path(spec["log_path"]),
        bundle_root=Path(spec["bundle_root"]), values=values,
        upstream=frozenset(spec["upstream"]), sessions=cluster, tag=spec["tag"],
        parent_tags=tuple(spec["parent_tags"]), secret_values=list(spec["secrets"]),
        job_id=spec["job_id"], cluster_id=spec["cluster_id"], in_job=True,
        claim_output=lambda name: None)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the task of `spec` in this process; its outcome as JSON-ready data."""
    cluster = attached_cluster(spec)
    ctx = context_of(spec, cluster)
    task = Task.model_validate(spec["task"])
    outcome: dict[str, Any] = {"exit_value": None, "error": None}
    context_mod.bind(ctx)
    with output.captured(ctx.log_path, ctx.secret_values):
        try:
            exit_value = REGISTRY[task.task_type](task, ctx, lambda value: value)
            outcome["exit_value"] = None if exit_value is None else str(exit_value)
        except TaskInterrupted:
            outcome["error"] = "interrupted"
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            if type(exc).__name__ != "CellError":
                traceback.print_exc()
        finally:
            ctx.close_spark()
    outcome["values"] = ctx.values.values.get(ctx.task_key, {})
    outcome["children"] = [_child_run(c) for c in ctx.children]
    return outcome


def _child_run(child: ChildRun) -> dict[str, Any]:
    return {"path": child.path, "arguments": child.arguments, "log_path": str(child.log_path),
            "start_time": child.start_time, "end_time": child.end_time,
            "result": child.result, "exit_value": child.exit_value, "error": child.error}


def _on_terminate(signum: int, frame: Any) -> None:
    raise TaskInterrupted("the task was stopped")


def main() -> None:
    """Wait for a task on stdin, run it, write its outcome, exit."""
    line = sys.stdin.readline()
    if not line.strip():
        return  # the parent closed us unused
    spec = json.loads(line)
    sdk_runtime.install()  # `from databricks.sdk.runtime import spark` in task code
    delta_sql.install()  # `DeltaTable` on this Spark Connect session
    log = os.open(spec["log_path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)  # native output and anything written before the routers
    signal.signal(signal.SIGTERM, _on_terminate)
    outcome = run(spec)
    result = Path(spec["result_path"])
    temporary = result.with_suffix(".tmp")
    temporary.write_text(json.dumps(outcome, default=str))
    temporary.replace(result)


if __name__ == "__main__":
    main()
