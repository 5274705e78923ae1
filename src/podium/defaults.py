"""Every default in one place: the workspace, slots, timeouts, polling."""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

LOOP_TICK_SECONDS = 0.05          # how often the control loop wakes without events
LATE_JOBS_SECONDS = 60.0          # how long a stopped task's late Spark jobs are cancelled
DEFAULT_MASTER = "local[*]"
MAX_CONCURRENT_TASKS_CONF = "spark.podium.maxConcurrentTasks"
CONCURRENCY_CONF = "spark.podium.concurrency"  # "adaptive" (default) or "fixed"
# The largest integer the history's databases hold (SQLite's INTEGER, PostgreSQL's BIGINT):
# a larger id or count, from a client or the command line, is bad input, not a crash.
INT64_MAX = 2**63 - 1
# The longest lifetime a token can ask for (a century): its expiry must fit the store's
# 64-bit milliseconds, and no workspace means more by a larger number.
MAX_TOKEN_LIFETIME_SECONDS = 100 * 365 * 24 * 3600
LOG_TAIL_LINES = 15               # lines of a failed task's log shown in the summary
# Python packages podium gives every task environment from its own: a task's own copy
# would replace the Spark client that talks to its cluster.
PROVIDED_PYTHON_PACKAGES = ("pyspark", "pyspark-connect", "pyspark-client", "py4j",
                            "databricks-connect", "delta-spark")


class SettingError(ValueError):
    """A `PODIUM_*` environment setting that podium cannot use; the message names it."""


@dataclass(frozen=True)
class Number:
    """What a numeric setting holds: its type, least value and default, and how to say so."""

    kind: type
    least: float
    default: float
    says: str


# The numeric settings: every `podium` command checks them before it starts.
NUMBER_SETTINGS = {
    # clusters a process starts at once: JVMs started side by side slow every one
    "PODIUM_CLUSTER_STARTS": Number(int, 1, 1, "a whole number of clusters, 1 or more"),
    # no heartbeat (every 2 s) for this long: a run's owner is gone, another takes it over
    "PODIUM_RUN_LEASE_SECONDS": Number(float, 1, 30, "a number of seconds, 1 or more"),
    # how long a write waits for SQLite's lock before the store counts as unreachable
    "PODIUM_SQLITE_BUSY_MS": Number(int, 0, 60_000,
                                    "a whole number of milliseconds, 0 or more"),
}


def number_setting(name: str) -> float:
    """A numeric `PODIUM_*` setting from the environment, else its default; a value that
    is not what `NUMBER_SETTINGS` says is a `SettingError` naming the variable."""
    number = NUMBER_SETTINGS[name]
    given = os.environ.get(name, "").strip()
    if not given:
        return number.default
    try:
        value = number.kind(given)
    except ValueError:
        value = None
    if value is None or not (math.isfinite(value) and value >= number.least):
        raise SettingError(f"environment variable {name}={given!r}: expected {number.says}; "
                           f"correct it, or unset it for the default ({number.default:g})")
    return value


def check_settings() -> None:
    """Read every numeric setting once, so a bad one stops a command before it starts."""
    for name in NUMBER_SETTINGS:
        number_setting(name)


def cluster_starts() -> int:
    """How many clusters a process may start at once: `PODIUM_CLUSTER_STARTS`, default 1
    (starting JVMs side by side on a small machine slows every one of them)."""
    return int(number_setting("PODIUM_CLUSTER_STARTS"))


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
    return _homes(os.environ.get("PODIUM_HOME") or "")[0]


@functools.cache
def _homes(setting: str) -> tuple[Path, Path]:
    """The workspace a `PODIUM_HOME` value names, made once, and its logs folder: per-task
    profiles showed a mkdir, then the path arithmetic, on every call."""
    path = Path(setting or Path.home() / ".podium").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path, path / "logs"


def logs_dir() -> Path:
    """Where task logs go: `<home>/logs/<run_id>/<task_key>/<attempt>.log`."""
    return _homes(os.environ.get("PODIUM_HOME") or "")[1]


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
