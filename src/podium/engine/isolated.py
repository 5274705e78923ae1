"""Tasks that run in their own Python environment, in their own process, on shared compute.

The task's worker thread hands the task to a process started from the environment's
interpreter (`engine/child_process.py`), which attaches to the task's cluster through
Spark Connect, so it shares the cluster's application, cache and tables with the tasks
that run in podium's process. One process is kept started ahead for each environment
this process has used: a task takes it and a new one starts for the next task, so a task
does not wait for Python and PySpark to import.

A cancel or timeout raises in the worker thread as for any task: the task's Spark work is
interrupted through its Connect session, then its process is stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from podium.compute.connect import interrupt_session, with_session
from podium.compute.python_envs import PythonEnv
from podium.engine.environments import Build
from podium.runtime.context import ChildRun, TaskContext
from podium.runtime.errors import TaskFailed
from podium.spec.models import Task

STOP_GRACE_SECONDS = 5.0
SPARES_KEPT = 8  # environments with a process started ahead (the most recently used)

_spares: dict[Path, subprocess.Popen[bytes]] = {}  # in order of last use
_lock = threading.Lock()


def _spawn(env: PythonEnv) -> subprocess.Popen[bytes]:
    """Start a process that imports what tasks need, then waits for one."""
    log = (env.path / "processes.log").open("ab")
    with log:
        return subprocess.Popen(
            [str(env.python), "-m", "podium.engine.child_process"],
            stdin=subprocess.PIPE, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _take(env: PythonEnv) -> subprocess.Popen[bytes]:
    """The environment's started process (or a new one), and start the next one."""
    with _lock:
        process = _spares.pop(env.path, None)
        if process is None or process.poll() is not None:
            process = _spawn(env)
        _spares[env.path] = _spawn(env)
        while len(_spares) > SPARES_KEPT:
            _close(_spares.pop(next(iter(_spares))))
    return process


def _close(process: subprocess.Popen[bytes]) -> None:
    """End a process started ahead: closing its stdin says there is no task for it."""
    with contextlib.suppress(OSError):
        process.stdin.close()  # type: ignore[union-attr]


@atexit.register
def close_spares() -> None:
    """End the processes started ahead (they hold no task; closing stdin ends them)."""
    with _lock:
        spares = list(_spares.values())
        _spares.clear()
    for process in spares:
        _close(process)
    for process in spares:
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()


def execute(task: Task, ctx: TaskContext, render: Any, build: Build, cluster: Any) -> Any:
    """Run `task` in a process of its built environment attached to `cluster`; its exit
    value. Its task values and child notebook runs are added to `ctx` as if it had run
    here."""
    env = build.env
    assert env is not None
    url = getattr(cluster, "connect_url", None)
    if cluster is not None and not url:
        raise RuntimeError(f"cluster '{ctx.cluster_id or 'default'}' cannot serve tasks with "
                           "their own Python environment (it has no Spark Connect endpoint)")
    session_id = str(uuid.uuid4())
    result_path = ctx.log_path.with_suffix(".outcome.json")
    spec = _spec(task, ctx, render, cluster, url and with_session(url, session_id),
                 result_path)
    notes, build.notes = build.notes, []  # how it was built: told by the first task only
    for note in notes:
        print(f"[podium] {note}", flush=True)
    print(f"[podium] running in Python environment {env.key} ({env.path})", flush=True)
    process = _take(env)
    try:
        assert process.stdin is not None
        try:
            process.stdin.write((json.dumps(spec) + "\n").encode())
            process.stdin.close()
        except BrokenPipeError:
            raise TaskFailed("the task's Python process ended before it got the task: "
                             f"{_last_line(env.path / 'processes.log')}") from None
        while True:
            try:
                process.wait(0.5)
                break
            except subprocess.TimeoutExpired:
                continue
    except BaseException:  # cancel or timeout (TaskInterrupted) lands here
        stop(process, url, session_id)
        raise
    if not result_path.is_file():
        raise TaskFailed(f"the task's Python process exited with code {process.returncode} "
                         "before reporting; see the task's log")
    outcome = json.loads(result_path.read_text())
    result_path.unlink()
    for key, value in outcome["values"].items():
        ctx.values.set(ctx.task_key, key, value)
    ctx.children += [ChildRun(**{**c, "log_path": Path(c["log_path"])})
                     for c in outcome["children"]]
    if outcome["error"]:
        raise TaskFailed(outcome["error"])
    return outcome["exit_value"]


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no output"
    return lines[-1].strip() if lines else "no output"


def stop(process: subprocess.Popen[bytes], url: str | None, session_id: str) -> None:
    """End a task's process and its Spark work: interrupt its session first (its Spark
    jobs outlive the process otherwise), then SIGTERM, then SIGKILL."""
    if url:
        interrupt_session(url, session_id)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _spec(task: Task, ctx: TaskContext, render: Any, cluster: Any, url: str | None,
          result_path: Path) -> dict[str, Any]:
    """What the task's process needs to know, as JSON: the task with its references
    filled in, its context and where its cluster is."""
    with ctx.values.lock:
        values = {k: dict(v) for k, v in ctx.values.values.items()
                  if k in ctx.upstream or k == ctx.task_key}
    return {
        "task": _rendered(task, render).model_dump(mode="json", exclude_none=True),
        "run_id": ctx.run_id, "job_key": ctx.job_key, "job_name": ctx.job_name,
        "task_key": ctx.task_key, "attempt": ctx.attempt, "task_run_id": ctx.task_run_id,
        "params": ctx.params, "log_path": str(ctx.log_path),
        "bundle_root": str(ctx.bundle_root), "values": values,
        "upstream": sorted(ctx.upstream), "tag": ctx.tag, "parent_tags": list(ctx.parent_tags),
        "secrets": list(ctx.secret_values), "job_id": ctx.job_id,
        "cluster_id": ctx.cluster_id, "cluster_key": getattr(cluster, "key", "default"),
        "connect_url": url, "application_id": getattr(cluster, "application_id", None),
        "writer": getattr(getattr(cluster, "catalog", None), "writer", None),
        "udf_python": _workers_here(cluster),
        "result_path": str(result_path), "started": time.time(),
    }


def _workers_here(cluster: Any) -> bool:
    """Whether the cluster's Python workers run on this machine, so they can use the
    task's environment for its UDFs (a remote cluster's workers use their own Python)."""
    if cluster is None or not getattr(cluster, "spec_known", True):
        return False
    master = cluster.spec.master
    if getattr(cluster, "attached", False) and cluster.address is None:
        return False  # an sc:// server podium did not start: where it runs is unknown
    return master.startswith("local") or \
        master.split("//")[-1].split(":")[0] in ("127.0.0.1", "localhost")


def _rendered(task: Task, render: Any) -> Task:
    """The task with `{{...}}` references of its parameters filled in (the task's process
    has no run to fill them from)."""
    spec = getattr(task, task.task_type)
    update: dict[str, Any] = {}
    for field in ("parameters", "named_parameters"):
        value = getattr(spec, field, None)
        if isinstance(value, list):
            update[field] = [render(v) for v in value]
        elif isinstance(value, dict):
            update[field] = {k: render(v) for k, v in value.items()}
    return task.model_copy(update={task.task_type: spec.model_copy(update=update)})
