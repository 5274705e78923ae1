"""A bundle's pipelines (`resources.pipelines`) as podium runs them: the spec a
`pipeline_task` carries (its sources as absolute paths, catalog, schema, configuration),
and the one-task job that runs an update of a pipeline directly (`podium run <pipeline>`,
the Pipelines API's `start-update`), with the update's options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from podium.spec import checks, workspace
from podium.spec.errors import Location, Problem
from podium.spec.models import Job, PipelineResource, PipelineTask, Task


def attach_pipelines(key: str, job: Job, pipelines: dict[str, PipelineResource]
                     ) -> list[Problem]:
    """Put the pipeline each `pipeline_task` names (by key, as `${resources.pipelines.<key>.id}`
    resolves) into the task, its library paths made absolute, so the task runs it."""
    problems: list[Problem] = []
    for task in checks.all_tasks(job):
        spec = task.pipeline_task
        if spec is None:
            continue
        pipeline = pipelines.get(spec.pipeline_id) or next(
            (p for p in pipelines.values() if p.name == spec.pipeline_id), None)
        if pipeline is None:
            problems.append(Problem(spec.loc_of("pipeline_id"), f"resources.jobs.{key} task "
                                    f"'{task.task_key}': pipeline '{spec.pipeline_id}' is not a "
                                    "pipeline of this bundle; the task will fail"
                                    + checks.suggest(spec.pipeline_id, list(pipelines)),
                                    "warning"))
            continue
        pipeline_key = next(k for k, p in pipelines.items() if p is pipeline)
        spec.podium_pipeline = pipeline_spec(pipeline_key, pipeline)
    return problems


def pipeline_spec(key: str, pipeline: PipelineResource) -> dict[str, Any]:
    """What a `pipeline_task` needs of a pipeline: its sources as absolute paths (each
    relative to the YAML file that names it; a workspace path, as the Pipelines API gives
    them, in the workspace folder), catalog, schema and configuration."""
    def absolute(text: str, loc: Location) -> str:
        if workspace.is_workspace_path(text):
            try:
                return str(workspace.local(text))
            except workspace.WorkspacePathError:
                return text  # the update fails saying the source is not found
        path = Path(text)
        if not path.is_absolute():
            path = loc.folder() / path
        return os.path.normpath(path)  # `dir/**` stays `dir/**`

    sources: list[dict[str, str]] = []
    for library in pipeline.libraries:
        for kind, field_name in (("glob", "include"), ("file", "path"), ("notebook", "path")):
            entry = getattr(library, kind)
            if entry and entry.get(field_name):
                sources.append({"kind": kind, "path": absolute(entry[field_name],
                                                               library.loc)})
    return {"key": key, "name": pipeline.name or key, "catalog": pipeline.catalog,
            "schema": pipeline.schema_ or pipeline.target, "sources": sources,
            "configuration": {k: str(v) for k, v in pipeline.configuration.items()},
            "root_path": absolute(pipeline.root_path, pipeline.loc_of("root_path"))
            if pipeline.root_path else None}


def pipeline_job(key: str, pipeline: PipelineResource | dict[str, Any], *,
                 full_refresh_all: bool = False, full_refresh: list[str] | None = None,
                 refresh: list[str] | None = None, validate_only: bool = False) -> Job:
    """The job of one update of pipeline `key`: a task of that name running it on the
    default cluster, as `databricks bundle run <pipeline>` starts one (`--full-refresh-all`,
    `--full-refresh t1,t2`, `--refresh t1,t2`, `--validate-only`). `pipeline` is the
    bundle's resource, or a spec already made (a pipeline of the workspace registry)."""
    spec = dict(pipeline) if isinstance(pipeline, dict) else pipeline_spec(key, pipeline)
    spec.update(full_refresh_selection=list(full_refresh or []),
                refresh_selection=list(refresh or []), validate_only=validate_only)
    task = Task(task_key=key, pipeline_task=PipelineTask(
        pipeline_id=key, full_refresh=full_refresh_all, podium_pipeline=spec))
    return Job(name=spec["name"], tasks=[task])


def settings_of(pipeline: PipelineResource) -> dict[str, Any]:
    """A pipeline as the Pipelines API shows it (PipelineSpec)."""
    return pipeline.model_dump(mode="json", by_alias=True, exclude_none=True,
                               exclude_defaults=True)
