"""A loaded bundle as plain data: what `podium validate --json` prints."""

from __future__ import annotations

from typing import Any

from podium.spec.errors import NOTE
from podium.spec.loader import Bundle
from podium.spec.models import Job, Task


def task_compute(task: Task) -> str | None:
    """The compute a task names: its job cluster key or existing cluster id."""
    return task.job_cluster_key or task.existing_cluster_id


def describe_task(task: Task) -> dict[str, Any]:
    """One task as JSON-friendly data."""
    out: dict[str, Any] = {
        "task_key": task.task_key,
        "type": task.task_type,
        "depends_on": [{"task_key": d.task_key, **({"outcome": d.outcome} if d.outcome else {})}
                       for d in task.depends_on],
        "run_if": task.run_if.value,
        "job_cluster_key": task.job_cluster_key,
        "existing_cluster_id": task.existing_cluster_id,
    }
    if task.for_each_task is not None:
        out["for_each_task"] = {"inputs": task.for_each_task.inputs,
                                "concurrency": task.for_each_task.concurrency,
                                "task": describe_task(task.for_each_task.task)}
    return out


def describe_job(key: str, job: Job) -> dict[str, Any]:
    """One job as JSON-friendly data."""
    return {
        "key": key,
        "name": job.name,
        "tasks": [describe_task(t) for t in job.tasks],
        "job_clusters": [{"job_cluster_key": c.job_cluster_key,
                          "spark_conf": c.new_cluster.spark_conf} for c in job.job_clusters],
        "parameters": [{"name": p.name, "default": p.default} for p in job.parameters],
        "max_concurrent_runs": job.max_concurrent_runs,
        "queue": bool(job.queue and job.queue.enabled),
        "timeout_seconds": job.timeout_seconds,
        "schedule": job.schedule.model_dump(exclude_none=True) if job.schedule else None,
        "tags": job.tags,
    }


def describe_bundle(bundle: Bundle) -> dict[str, Any]:
    """The whole bundle as JSON-friendly data, warnings included."""
    return {
        "valid": True,
        "bundle": {"name": bundle.name, "target": bundle.target, "root": str(bundle.root)},
        "files": bundle.files,
        "variables": bundle.variables,
        "jobs": [describe_job(k, j) for k, j in bundle.jobs.items()],
        "clusters": {k: {"spark_conf": c.spark_conf} for k, c in bundle.clusters.items()},
        "errors": [],
        "warnings": [w.as_dict() for w in bundle.warnings if w.severity != NOTE],
        "ignored_locally": [w.as_dict() for w in bundle.warnings if w.severity == NOTE],
    }
