"""Every default in one place: the workspace, slots, timeouts, polling."""

from __future__ import annotations

import os
from pathlib import Path

LOOP_TICK_SECONDS = 0.05          # how often the control loop wakes without events
CANCEL_GRACE_SECONDS = 2.0        # how long a cancelled thread may take to unwind
LATE_JOBS_SECONDS = 60.0          # how long a stopped pipeline's late Spark jobs are cancelled
DEFAULT_MASTER = "local[*]"
MAX_CONCURRENT_TASKS_CONF = "spark.podium.maxConcurrentTasks"
CONCURRENCY_CONF = "spark.podium.concurrency"  # "adaptive" (default) or "fixed"
LOG_TAIL_LINES = 15               # lines of a failed task's log shown in the summary
# Python packages podium gives every task environment from its own: a task's own copy
# would replace the Spark client that talks to its cluster.
PROVIDED_PYTHON_PACKAGES = ("pyspark", "pyspark-connect", "pyspark-client", "py4j",
                            "databricks-connect", "delta-spark")


def cluster_starts() -> int:
    """How many clusters a process may start at once: `PODIUM_CLUSTER_STARTS`, default 1
    (starting JVMs side by side on a small machine slows every one of them)."""
    return max(1, int(os.environ.get("PODIUM_CLUSTER_STARTS", "1")))


SAMPLES_VERSION = "v2"  # bump when the sample data `samples.py` makes changes


def jvm_cache_dir() -> Path:
    """Where resolved jars and manifests live, for every workspace of this user:
    `PODIUM_JVM_CACHE`, default `~/.cache/podium/jvm` (`XDG_CACHE_HOME` is honoured)."""
    configured = os.environ.get("PODIUM_JVM_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "podium" / "jvm"


def samples_dir() -> Path:
    """Where Databricks' sample tables and `/databricks-datasets` files are made, once per
    machine: beside the JVM cache."""
    return jvm_cache_dir().parent / "samples" / SAMPLES_VERSION


def datasets_dir() -> Path:
    """The folder that `/databricks-datasets` stands for, among the sample data."""
    return samples_dir() / "databricks-datasets"


def home() -> Path:
    """The workspace: `PODIUM_HOME`, default `~/.podium`; created on first use."""
    path = Path(os.environ.get("PODIUM_HOME") or Path.home() / ".podium").expanduser()
    if path not in _made:  # a mkdir per call showed in per-task profiles
        path.mkdir(parents=True, exist_ok=True)
        _made.add(path)
    return path


_made: set[Path] = set()


def logs_dir() -> Path:
    """Where task logs go: `<home>/logs/<run_id>/<task_key>/<attempt>.log`."""
    return home() / "logs"


def pipeline_events_path(log_path: Path | str) -> Path:
    """Where a pipeline task's attempt keeps its update's events (JSON lines), beside its
    log: written by the task, read by `runs get`, the UI and the Pipelines API."""
    log = Path(log_path)
    return log.with_name(log.stem + ".events.jsonl")


def dbfs_root() -> Path:
    """Where `dbfs:/` paths live locally."""
    return home() / "dbfs"


def warehouse_dir() -> Path:
    """Spark's warehouse for tables written with `saveAsTable`."""
    return home() / "warehouse"
