"""The processes tasks with their own Python environment run in.

`<env>/bin/python -m podium.engine.child_process` is the environment's server: it imports
PySpark's Connect client and podium's runtime once (most of a second), then forks one
process per task it is sent (a JSON line from `podium.engine.isolated`), so a task starts
in milliseconds with everything imported and no import competing with running tasks for
CPU. The task's process attaches to its cluster through Spark Connect with the session id
the parent chose (so the parent can interrupt its work), runs the task with the same task
modules, `dbutils` and log routing as in-process tasks, writes its outcome as JSON to the
path it was given and exits: one process per task attempt.
"""

from __future__ import annotations

import contextlib
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
from podium.runtime import databricks_process, output
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
    os.environ.update(spec.get("env") or {})  # the process is the task's own
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


def _reap(signum: int, frame: Any) -> None:
    """Collect ended task processes, so none stays a zombie."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def serve() -> None:
    """The environment's server: for each task line on stdin, fork a process that runs
    it and answer that process's pid on stdout; end when stdin closes."""
    databricks_process.install()  # what task code expects of its process
    signal.signal(signal.SIGCHLD, _reap)
    while line := sys.stdin.readline():
        if not line.strip():
            continue
        pid = os.fork()
        if pid == 0:
            try:
                task_process(json.loads(line))
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


def task_process(spec: dict[str, Any]) -> None:
    """The forked process of one task: its own session and log, then its outcome."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own subprocesses are its own
    os.setsid()  # a group of its own: a stop ends what it started too
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # forked processes would otherwise share one random sequence
        numpy.random.seed()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(spec["log_path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)  # native output and anything written before the routers
    signal.signal(signal.SIGTERM, _on_terminate)
    outcome = run(spec)
    result = Path(spec["result_path"])
    temporary = result.with_suffix(".tmp")
    temporary.write_text(json.dumps(outcome, default=str))
    temporary.replace(result)
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    serve()
