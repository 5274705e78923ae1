"""Jobs given as Jobs API `JobSettings` JSON (`jobs/create`, `jobs/reset`, `runs/submit`)
instead of bundle YAML: checked by the same models and checks, each problem located by its
JSON path (`settings.tasks[0].notebook_task.notebook_path`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from podium.spec import checks
from podium.spec.errors import BundleError, Location, Problem
from podium.spec.models import Job
from podium.spec.pydantic_errors import problems_from
from podium.spec.yaml_source import YList, YMap


def located(value: Any, path: str) -> Any:
    """JSON data as YMap/YList whose locations are JSON paths, so every message says where
    in the request the problem is."""
    if isinstance(value, dict):
        out = YMap(loc=Location(path))
        for key, item in value.items():
            key = str(key)
            out[key] = located(item, f"{path}.{key}")
            out.key_locs[key] = Location(f"{path}.{key}")
        return out
    if isinstance(value, list):
        items = YList(loc=Location(path))
        for index, item in enumerate(value):
            items.append(located(item, f"{path}[{index}]"))
            items.item_locs.append(Location(f"{path}[{index}]"))
        return items
    return value


def job_from_settings(settings: Any, where: str = "settings",
                      shared_clusters: set[str] | None = None,
                      policies: checks.Policies | None = None) -> Job:
    """A validated Job from JobSettings JSON; BundleError with every problem otherwise.
    File paths must be absolute (there is no YAML file to be relative to)."""
    if not isinstance(settings, dict):
        raise BundleError([Problem(Location(where), f"{where} must be a JSON object")])
    raw = located(settings, where)
    try:
        job = Job.model_validate(raw)
    except ValidationError as exc:
        raise BundleError(problems_from(exc, raw, where)) from None
    job.name = job.name or "Untitled"
    # The Jobs API refuses fields it does not know (a bundle only warns about them).
    problems = checks.check_job(job.name, job, shared_clusters or set(), policies,
                                unknown="error")
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise BundleError(errors)
    return job


def settings_of(job: Job) -> dict[str, Any]:
    """A job as JobSettings JSON (what the registry keeps and `jobs/get` returns)."""
    return job.model_dump(mode="json", exclude_none=True)
