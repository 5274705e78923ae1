"""Tasks that run in their own Python environment, in their own process, on shared compute.

The task's worker thread hands the task to its environment's server
(`engine/child_process.py`, started once per environment and kept for the environments
used last), which forks a process for it with everything imported. That process attaches
to the task's cluster through Spark Connect, so it shares the cluster's application,
cache and tables with the tasks that run in podium's process.

A cancel or timeout raises in the worker thread as for any task: the task's Spark work is
interrupted through its Connect session, then its process group is stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.compute.connect import interrupt_session, with_session
from podium.engine.environments import Build
from podium.python_envs import PythonEnv
from podium.runtime.context import ChildRun, TaskContext
from podium.runtime.errors import TaskFailed, TaskInterrupted
from podium.spec.models import Task

STOP_GRACE_SECONDS = 5.0
INTERRUPT_SECONDS = 5.0  # how long a stop waits for the task's Spark work to be interrupted
SERVED_ENVS = 4  # environments whose server is kept: the most recently used
POLL_SECONDS = 0.01


@dataclass
class _Server:
    """An environment's server process; one task handed to it at a time."""

    process: subprocess.Popen[bytes]
    lock: threading.Lock = field(default_factory=threading.Lock)


_servers: dict[Path, _Server] = {}  # in order of last use
_lock = threading.Lock()


def _spawn(env: PythonEnv) -> _Server:
    """Start an environment's server (it imports what tasks need, then waits)."""
    with (env.path / "processes.log").open("ab") as log:
        return _Server(subprocess.Popen(
            [str(env.python), "-m", "podium.engine.child_process"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}))


def prestart(env: PythonEnv) -> None:
    """Start the environment's server now (when its build ends), so its imports are done
    before its first task."""
    _server(env)


def _server(env: PythonEnv) -> _Server:
    with _lock:
        server = _servers.pop(env.path, None)
        if server is None or server.process.poll() is not None:
            server = _spawn(env)
        _servers[env.path] = server
        while len(_servers) > SERVED_ENVS:
            _close(_servers.pop(next(iter(_servers))))
    return server


def _fork(env: PythonEnv, spec: dict[str, Any]) -> int:
    """Hand a task to the environment's server; the pid of the process running it."""
    server = _server(env)
    with server.lock:
        try:
            assert server.process.stdin is not None and server.process.stdout is not None
            server.process.stdin.write((json.dumps(spec) + "\n").encode())
            server.process.stdin.flush()
            answer = server.process.stdout.readline()
        except (BrokenPipeError, OSError):
            answer = b""
    if not answer.strip():
        raise TaskFailed("the Python environment's server process ended: "
                         f"{_last_line(env.path / 'processes.log')}")
    return int(answer)


def _close(server: _Server) -> None:
    """End a server: closing its stdin says no task will come."""
    with contextlib.suppress(OSError):
        server.process.stdin.close()  # type: ignore[union-attr]


@atexit.register
def close_servers() -> None:
    """End every environment's server (running tasks' processes are not theirs to end)."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        _close(server)
    for server in servers:
        try:
            server.process.wait(2)
        except subprocess.TimeoutExpired:
            server.process.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
    with ctx.lock:  # no asynchronous interrupt while the task is handed over
        thread, ctx.thread_id = ctx.thread_id, None
    try:
        pid = _fork(env, spec)
    finally:
        with ctx.lock:
            ctx.thread_id = thread
    if ctx.cancel_event.is_set():  # stopped while being handed over
        stop(pid, url, session_id)
        raise TaskInterrupted(f"task '{ctx.task_key}' was cancelled")
    try:
        # Done when the outcome is written; the process's own exit comes after that.
        while _alive(pid) and not result_path.exists():
            time.sleep(POLL_SECONDS)
    except BaseException:  # cancel or timeout (TaskInterrupted) lands here
        stop(pid, url, session_id)
        raise
    if not result_path.is_file():
        raise TaskFailed("the task's Python process ended before reporting; see the "
                         "task's log")
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


def stop(pid: int, url: str | None, session_id: str) -> None:
    """End a task's process and its Spark work: interrupt its session first (its Spark
    jobs outlive the process otherwise), then SIGTERM to its process group, then SIGKILL.
    The interrupt gets a few seconds: a server that died would have its client retry for
    minutes, and the process must end anyway."""
    if url:
        asking = threading.Thread(target=interrupt_session, args=(url, session_id),
                                  name="podium-interrupt", daemon=True)
        asking.start()
        asking.join(INTERRUPT_SECONDS)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)  # before its setsid, it is not yet a group of its own
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            return


def _spec(task: Task, ctx: TaskContext, render: Any, cluster: Any, url: str | None,
          result_path: Path) -> dict[str, Any]:
    """What the task's process needs to know, as JSON: the task with its references
    filled in, its context and where its cluster is."""
    with ctx.values.lock:
        values = {k: dict(v) for k, v in ctx.values.values.items()
                  if k in ctx.upstream or k == ctx.task_key}
    env = dict(ctx.env.values()) if ctx.env is not None else {}
    secrets = [*ctx.secret_values, *(env[n] for n in (ctx.env.secret if ctx.env else ())
                                     if env.get(n))]
    return {
        "task": _rendered(task, render).model_dump(mode="json", exclude_none=True),
        "run_id": ctx.run_id, "job_key": ctx.job_key, "job_name": ctx.job_name,
        "task_key": ctx.task_key, "attempt": ctx.attempt, "task_run_id": ctx.task_run_id,
        "params": ctx.params, "log_path": str(ctx.log_path),
        "bundle_root": str(ctx.bundle_root), "values": values,
        "upstream": sorted(ctx.upstream), "tag": ctx.tag, "parent_tags": list(ctx.parent_tags),
        "secrets": secrets, "env": env, "job_id": ctx.job_id,
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
    for name in ("parameters", "named_parameters"):
        value = getattr(spec, name, None)
        if isinstance(value, list):
            update[name] = [render(v) for v in value]
        elif isinstance(value, dict):
            update[name] = {k: render(v) for k, v in value.items()}
    return task.model_copy(update={task.task_type: spec.model_copy(update=update)})
