"""Small task functions the engine tests run as `python_task`s."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from podium.runtime import dbutils


def ok(**kwargs: str) -> str:
    """Succeed, printing the parameters; returns them joined."""
    print("ok", kwargs)
    return ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))


def fail(**kwargs: str) -> None:
    """Always fail."""
    raise RuntimeError("failing on purpose")


def publish(key: str, value: str) -> None:
    """Set a task value for downstream tasks."""
    dbutils.jobs.taskValues.set(key=key, value=value)


def flaky(marker: str, failures: str) -> str:
    """Fail the first `failures` times (counted in the file `marker`), then succeed."""
    path = Path(marker)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < int(failures):
        raise RuntimeError(f"flaky failure {count + 1}")
    return f"succeeded after {count} failures"


def sleep(seconds: str) -> None:
    """Sleep in small steps (cancellable by the asynchronous interrupt)."""
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        time.sleep(0.05)


def mark_and_sleep(marker: str, run: str, seconds: str) -> None:
    """Note in the file `marker` that this host started run `run`, then sleep."""
    with open(marker, "a") as out:
        out.write(f"{run} {socket.gethostname()}\n")
    sleep(seconds)


def chatter(kilobytes: str) -> None:
    """Print this many lines of a kilobyte each (a task whose log fills a disk)."""
    line = "x" * 1023
    for _ in range(int(kilobytes)):
        print(line)


def wait_for(marker: str, seconds: str = "120") -> str:
    """Wait until the file `marker` exists (a test creates it to let the task finish);
    says so in its log first, which tests read as "the task has started"."""
    print(f"waiting for {marker}", flush=True)
    end = time.monotonic() + float(seconds)
    while not Path(marker).exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{marker} never appeared")
        time.sleep(0.05)
    return "released"


def nap(v: str, seconds: str = "0.1") -> str:
    """Sleep a little and echo the input (for-each iterations that overlap)."""
    print(f"iteration {v}")
    time.sleep(float(seconds))
    if v == "fail-me":
        raise ValueError("this input fails")
    return f"done {v}"


def noop(**kwargs: str) -> None:
    """Do nothing (overhead and scale benchmarks)."""


def own_state(url: str) -> str:
    """The life-cycle state the store holds for the calling task, read from its code."""
    from podium.runtime.context import current
    from podium.store import open_store

    ctx = current()
    rows = open_store(url).task_rows(ctx.run_id)
    return next(t.life for t, _, _ in rows if t.task_key == ctx.task_key)


def interpreter() -> str:
    """The interpreter running the task."""
    import sys

    return sys.executable


def spark_style_log() -> None:
    """Write what a Spark 4 driver logs with structured logging on (one JSON record per
    line, an exception with its stack) between plain lines, then fail."""
    import json
    import sys

    print("plain output before")
    print(json.dumps({"ts": "2026-12-03T10:00:00.000Z", "level": "WARN",
                      "logger": "SparkSession", "msg": "a warning from Spark"}),
          file=sys.stderr)
    print(json.dumps({"ts": "2026-12-03T10:00:01.000Z", "level": "ERROR",
                      "logger": "DataFrameQueryContextLogger", "msg": "[DIVIDE_BY_ZERO] oops",
                      "exception": {"class": "org.apache.spark.SparkArithmeticException",
                                    "msg": "Division by zero",
                                    "stacktrace": [{"class": "org.apache.spark.X",
                                                    "method": "run", "file": "X.scala",
                                                    "line": 12}]}}), file=sys.stderr)
    print("plain output after")
