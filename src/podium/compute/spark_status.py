"""What a task's Spark work did, read from the application's jobs and stage attempts as
the monitoring API lists them (`/api/v1/applications/<id>/jobs` and `/stages`), the same
numbers the Spark UI shows: over HTTP, or from a classic driver's status store in the
same JSON (podium's `AppStatus`, which spares the driver the REST layer's start).

A task's jobs are those carrying its tag: the job tag itself on a classic driver, and
`…_Tag_<tag>` on Spark Connect (where the server prefixes session tags). One reading of
that JSON serves every kind of cluster, so progress and cost look the same on each. Usage
is read once per run and cluster, when the run is done with the cluster: two reads, not a
few per task.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

TIMEOUT_SECONDS = 3.0
SETTLE_SECONDS = 2.0  # how long to wait for the status store to see the last jobs end


@dataclass
class Usage:
    """What a task took from its cluster: summed over its Spark stages (all attempts)."""

    jobs: int = 0
    stages: int = 0
    tasks: int = 0
    executor_run_time_ms: int = 0
    executor_cpu_time_ms: int = 0
    input_rows: int = 0
    input_bytes: int = 0
    output_rows: int = 0
    output_bytes: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    cluster_cores: int = 0  # the cores its cluster had (not summed over attempts)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def fetch(ui_url: str, path: str) -> Any:
    """One GET of the monitoring API, as JSON."""
    with urllib.request.urlopen(f"{ui_url.rstrip('/')}/api/v1/{path}",
                                timeout=TIMEOUT_SECONDS) as response:
        return json.load(response)


# Reads "jobs" or "stages" of one application, as the monitoring API's JSON lists them:
# over HTTP (`rest`), or from a classic driver's status store (compute/classic.py).
Reader = Callable[[str], list[dict[str, Any]]]


def rest(ui_url: str | None, app_id: str | None) -> Reader | None:
    """A reader of the application's monitoring REST API; None without a UI."""
    if not ui_url or not app_id:
        return None
    paths = {"jobs": f"applications/{app_id}/jobs",
             "stages": f"applications/{app_id}/stages?details=false"}
    return lambda kind: fetch(ui_url, paths[kind])


def warm_up(read: Reader | None) -> None:
    """Make the monitoring API's first answer now, in the background: the first request
    to a new application takes seconds (the REST layer loads on first use), which would
    otherwise fall on the end of the first run, when its cost is read."""
    if read is not None:
        threading.Thread(target=all_jobs, args=(read,), daemon=True,
                         name="podium-status-warm-up").start()


def all_jobs(read: Reader | None) -> list[dict[str, Any]]:
    """Every job the application remembers; none when it has no UI or does not answer."""
    if read is None:
        return []
    try:
        return list(read("jobs"))
    except (OSError, ValueError, urllib.error.URLError):
        return []


def kill_running(ui_url: str, app_id: str, marker: str) -> int:
    """Kill the application's running jobs with a tag containing `marker`, through the
    Spark UI's kill endpoint (all a client of a Connect server can reach); how many."""
    try:
        running = fetch(ui_url, f"applications/{app_id}/jobs?status=running")
    except (OSError, ValueError, urllib.error.URLError):
        return 0
    killed = 0
    for job in running:
        if any(marker in tag for tag in job.get("jobTags", [])):
            request = urllib.request.Request(
                f"{ui_url.rstrip('/')}/jobs/job/kill/?id={job['jobId']}", data=b"",
                method="POST")
            try:
                urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS).close()
                killed += 1
            except (OSError, urllib.error.URLError):
                pass
    return killed


def progress(jobs: list[dict[str, Any]], tag: str) -> tuple[int, int, int, int]:
    """(jobs, active jobs, tasks done, tasks total) of a task, from `all_jobs`."""
    jobs = [j for j in jobs if tag_of(j, {tag}) is not None]
    return (len(jobs), sum(j["status"] == "RUNNING" for j in jobs),
            sum(j.get("numCompletedTasks", 0) for j in jobs),
            sum(j.get("numTasks", 0) - j.get("numSkippedTasks", 0) for j in jobs))


def tag_of(job: dict[str, Any], tags: set[str]) -> str | None:
    """Which of `tags` a job carries (classic: the tag; Connect: `…_Tag_<tag>`)."""
    for job_tag in job.get("jobTags", []):
        if job_tag in tags:
            return job_tag
        _, found, tail = job_tag.rpartition("_Tag_")
        if found and tail in tags:
            return tail
    return None


def usage(read: Reader | None, tags: set[str], cores: int) -> dict[str, dict[str, int]]:
    """What the Spark work of each tag used, from two reads (all jobs, all stages); tags
    without Spark work are left out, and everything when the cluster has no UI."""
    if read is None or not tags:
        return {}
    try:
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            jobs = [(j, tag) for j in read("jobs") if (tag := tag_of(j, tags)) is not None]
            if not any(j["status"] == "RUNNING" for j, _ in jobs) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        stages: dict[int, list[dict[str, Any]]] = {}
        if jobs:
            for attempt in read("stages"):
                stages.setdefault(attempt["stageId"], []).append(attempt)
    except (OSError, ValueError, urllib.error.URLError):
        return {}
    totals: dict[str, Usage] = {}
    counted: dict[str, set[int]] = {}
    for job, tag in jobs:
        total = totals.setdefault(tag, Usage(cluster_cores=cores))
        total.jobs += 1
        for stage_id in job.get("stageIds", []):
            if stage_id in counted.setdefault(tag, set()):
                continue
            counted[tag].add(stage_id)
            for attempt in stages.get(stage_id, []):
                if attempt.get("status") != "SKIPPED":
                    _add_stage(total, attempt)
    return {tag: total.as_dict() for tag, total in totals.items()}


def _add_stage(total: Usage, attempt: dict[str, Any]) -> None:
    total.stages += 1
    total.tasks += attempt.get("numCompleteTasks", 0) + attempt.get("numFailedTasks", 0)
    total.executor_run_time_ms += attempt.get("executorRunTime", 0)
    total.executor_cpu_time_ms += attempt.get("executorCpuTime", 0) // 1_000_000
    total.input_rows += attempt.get("inputRecords", 0)
    total.input_bytes += attempt.get("inputBytes", 0)
    total.output_rows += attempt.get("outputRecords", 0)
    total.output_bytes += attempt.get("outputBytes", 0)
    total.shuffle_read_bytes += attempt.get("shuffleReadBytes", 0)
    total.shuffle_write_bytes += attempt.get("shuffleWriteBytes", 0)
