"""Shared clusters that outlive runs: start, supervise, find, stop.

`podium cluster start NAME` records the cluster as PENDING and hands it to a detached
`podium cluster serve NAME` process, which starts the Spark Connect server, records its
address, and stays beside it: it stops the server on `podium cluster stop`, on SIGTERM, or
after `autotermination_minutes` without a task, and restarts it (RESTARTING) when it
dies. Any process of the workspace finds the address in the store and attaches; tasks
on it touch `last_used_ms`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from podium.compute.connect import ConnectCluster, not_answering, shown
from podium.compute.errors import ClusterError
from podium.compute.sizing import cluster_log_path
from podium.spec.models import ClusterSpec
from podium.store import RunStore
from podium.store import clusters as registry
from podium.store.maintenance import pid_alive
from podium.store.runs import HOST, now_ms

START_TIMEOUT_SECONDS = 240
STOP_TIMEOUT_SECONDS = 60
WATCH_SECONDS = 1.0
MOVE_TIMEOUT_SECONDS = 15  # how long a run waits for a dead server's supervisor to act
MAX_RESTARTS = 3  # restarts of a dying server within RESTART_WINDOW_SECONDS
RESTART_WINDOW_SECONDS = 600
IDLE_SECONDS_CONF = "spark.podium.autoterminationSeconds"  # finer than minutes, for tests


def idle_limit_seconds(spec: ClusterSpec) -> float | None:
    """How long the cluster may sit without a task before it stops (None: never)."""
    seconds = spec.spark_conf.get(IDLE_SECONDS_CONF)
    if seconds is not None:
        return float(seconds) or None
    return (spec.autotermination_minutes or 0) * 60.0 or None


def is_alive(row: Any) -> bool:
    """Whether a shared cluster's supervising process still runs (same host only)."""
    if row.pid is None or row.host != HOST:
        return row.host != HOST  # another machine's cluster: trust its state
    return pid_alive(row.pid)


def current(store: RunStore, name: str) -> Any | None:
    """The registry row of `name` (key or cluster_name), with a dead supervisor's cluster
    marked TERMINATED first."""
    row = registry.find(store, name)
    if row is not None and row.state in registry.LIVE and row.pid is not None and \
            not is_alive(row):
        registry.set_state(store, row.key, "TERMINATED", "Its podium process is gone")
        row = registry.find(store, name)
    return row


def start(store: RunStore, key: str, spec: ClusterSpec) -> Any:
    """Start shared cluster `key` in a detached supervisor and wait until it runs; an
    already running cluster is returned as it is. Raises ClusterError on failure."""
    row = current(store, key)
    if row is not None and row.state == "RUNNING":
        return row
    launch(store, key, spec)
    return wait_running(store, key)


def launch(store: RunStore, key: str, spec: ClusterSpec,
           extra: dict[str, Any] | None = None) -> bool:
    """Record shared cluster `key` as PENDING and start its detached supervisor, without
    waiting (the Clusters API answers at once); False when it is already live. `extra`
    is kept with the spec (who created it)."""
    current(store, key)  # a dead supervisor's cluster is TERMINATED first
    spec_dump = {**spec.model_dump(mode="json", exclude_none=True), **(extra or {})}
    if not registry.claim(store, key, spec.cluster_name, spec_dump,
                          spec.autotermination_minutes or 0):
        return False
    log = cluster_log_path(f"shared.{key}.supervisor")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        child = subprocess.Popen([sys.executable, "-m", "podium", "cluster", "serve", key],
                                 stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    registry.set_pid(store, key, child.pid)
    return True


def wait_running(store: RunStore, key: str) -> Any:
    """Wait for a starting shared cluster to run; its error as ClusterError."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        row = current(store, key)
        if row is None or row.state in ("ERROR", "TERMINATED"):
            reason = row.message if row is not None else "it was never recorded"
            raise ClusterError(f"shared cluster '{key}' did not start: {reason}")
        if row.state == "RUNNING":
            return row
        if time.monotonic() > deadline:
            raise ClusterError(f"shared cluster '{key}' did not start within "
                               f"{START_TIMEOUT_SECONDS}s; see podium cluster list")
        time.sleep(0.2)


def serve(store: RunStore, key: str) -> None:
    """Run shared cluster `key` until stopped or idle (the detached supervisor's body). A
    server that dies is restarted, as Databricks restarts a crashed driver; one that
    keeps dying (MAX_RESTARTS within RESTART_WINDOW_SECONDS) ends the cluster in ERROR."""
    row = registry.find(store, key)
    if row is None:
        raise ClusterError(f"shared cluster '{key}' is not recorded; use podium cluster start")
    spec = ClusterSpec.model_validate(json.loads(row.spec_json))
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    restarts: list[float] = []
    while True:
        server = ConnectCluster(f"shared.{key}", spec)
        try:
            server.start()
        except ClusterError as exc:
            registry.set_state(store, key, "ERROR", str(exc))
            return
        now = registry.find(store, key)
        if stopping or now is None or now.state == "TERMINATING":  # stopped while starting
            reason = "Stopped while starting"
            break
        registry.set_state(store, key, "RUNNING", f"Running at {shown(server.url)}",
                           url=server.url, application_id=server.application_id,
                           pid=os.getpid())
        reason, died = _watch(store, key, idle_limit_seconds(spec), stopping, server)
        if not died:
            break
        server.stop()
        restarts = [t for t in restarts if time.monotonic() - t < RESTART_WINDOW_SECONDS]
        if len(restarts) >= MAX_RESTARTS:
            registry.set_state(store, key, "ERROR", f"{reason}; it died {MAX_RESTARTS + 1} "
                               f"times within {RESTART_WINDOW_SECONDS // 60} minutes, so it "
                               "is not restarted", code="SPARK_ERROR")
            return
        restarts.append(time.monotonic())
        registry.set_state(store, key, "RESTARTING", f"{reason}; restarting it",
                           code="DRIVER_UNREACHABLE")
    registry.set_state(store, key, "TERMINATING", reason)
    server.stop()
    registry.set_state(store, key, "TERMINATED", reason)


def _watch(store: RunStore, key: str, idle_limit: float | None, stopping: list[int],
           server: ConnectCluster) -> tuple[str, bool]:
    """Sleep beside the server until something ends it; say what did, and whether the
    server died (rather than being stopped)."""
    while True:
        time.sleep(WATCH_SECONDS)
        if stopping:
            return "Stopped by a signal", False
        if (died := server.exit_reason()) is not None:
            return died[0].upper() + died[1:], True
        row = registry.find(store, key)
        if row is None or row.state == "TERMINATING":
            return "Stopped by podium cluster stop", False
        if idle_limit is not None and now_ms() - row.last_used_ms > idle_limit * 1000:
            return f"Auto-terminated after {idle_limit:g}s without a task", False


def _wait_moved(store: RunStore, key: str, url: str) -> Any:
    """The row of a cluster whose recorded server no longer answers, once its supervisor
    has noticed (it restarts or ends it within a second or two)."""
    deadline = time.monotonic() + MOVE_TIMEOUT_SECONDS
    while True:
        row = current(store, key)
        if row is None or row.state != "RUNNING" or row.url != url:
            return row
        if time.monotonic() > deadline:
            raise ClusterError(f"shared cluster '{key}' does not answer at {shown(url)}, and "
                               "its supervisor has not restarted it; see podium cluster list")
        time.sleep(0.2)


def stop(store: RunStore, name: str) -> Any:
    """Ask a shared cluster's supervisor to stop it and wait until it has."""
    row = current(store, name)
    if row is None or row.state not in registry.LIVE:
        return row
    registry.set_state(store, row.key, "TERMINATING", "Stopping")
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        now = current(store, row.key)
        if now is None or now.state not in registry.LIVE:
            return now
        time.sleep(0.2)
    if row.pid is not None and row.host == HOST:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(row.pid, signal.SIGKILL)
    registry.set_state(store, row.key, "TERMINATED", "Killed after it did not stop")
    return current(store, row.key)


def is_warehouse(store: RunStore, key: str) -> bool:
    """Whether `key` is the id of one of the workspace's SQL warehouses."""
    row = registry.find(store, key)
    return row is not None and row.key == key and registry.is_warehouse(row)


def address(store: RunStore, name: str, spec: ClusterSpec | None, start_missing: bool) -> str:
    """The Spark Connect address of shared cluster `name`, starting it when asked to;
    a cluster that is not running is a ClusterError that says how to start it."""
    row = current(store, name)
    if row is not None and row.state == "RUNNING" and row.url and not_answering(row.url):
        row = _wait_moved(store, row.key, row.url)
    if row is not None and row.state in ("PENDING", "RESTARTING"):
        row = wait_running(store, row.key)
    if row is not None and row.state == "RUNNING" and row.url:
        return row.url
    if start_missing and spec is None and row is not None:  # an API cluster: its own spec
        spec = ClusterSpec.model_validate(json.loads(row.spec_json))
    if start_missing and spec is not None:
        return start(store, row.key if row is not None else name, spec).url
    where = ("" if spec is not None else
             " (it is not in this bundle's resources.clusters; start it from the bundle "
             "that defines it)")
    raise ClusterError(f"shared cluster '{name}' is not running{where}; start it with "
                       f"`podium cluster start {name} --bundle DIR`, or run with "
                       "--start-clusters")
