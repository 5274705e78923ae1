"""`podium deploy`: register a bundle's jobs and pipelines in the workspace, as
`databricks bundle deploy` does, so the API and the server run them by `job_id` and
`pipeline_id`."""

from __future__ import annotations

from pathlib import Path

from podium.cli.common import (
    BundleOpt,
    JsonOpt,
    TargetOpt,
    VarOpt,
    fail,
    load,
    open_history,
    out,
    print_json,
)


def deploy(
    bundle: BundleOpt = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the bundle's jobs and pipelines with stable ids: the same bundle, target
    and key keep their job_id (pipeline_id) across deploys, changed settings are updated,
    and those removed from the bundle are deleted. Prints `key -> id`."""
    from podium.engine.restore import job_snapshot
    from podium.runtime.notebook_context import user_name
    from podium.spec.pipelines import pipeline_spec, settings_of
    from podium.store import pipelines, registry

    loaded = load(bundle, target, var, as_json)
    failing = [p for job in loaded.jobs.values() for p in loaded.lookups_failing(job)]
    if failing:  # nothing is deployed when a job names what the workspace lacks
        fail(list(dict.fromkeys(failing)), as_json)
    from podium.engine import catalog_resources

    catalog_resources.create(loaded)
    store = open_history()
    origin = registry.BundleJob(loaded.name, str(loaded.root), loaded.target, "")
    ids, gone = registry.deploy(store, {k: job_snapshot(j) for k, j in loaded.jobs.items()},
                                origin, user_name())
    pipeline_ids, pipelines_gone = pipelines.deploy(
        store, {k: (settings_of(p), pipeline_spec(k, p)) for k, p in loaded.pipelines.items()},
        pipelines.BundlePipeline(loaded.name, str(loaded.root), loaded.target, ""),
        user_name())
    if as_json:
        print_json({"bundle": loaded.name, "target": loaded.target, "jobs": ids,
                    "deleted": gone, "pipelines": pipeline_ids,
                    "deleted_pipelines": pipelines_gone})
        return
    for key, some_id in [*ids.items(), *pipeline_ids.items()]:
        out.print(f"{key} -> {some_id}", markup=False)
    for job_id in gone:
        out.print(f"deleted job {job_id} (no longer in the bundle)", markup=False)
    for pipeline_id in pipelines_gone:
        out.print(f"deleted pipeline {pipeline_id} (no longer in the bundle)", markup=False)
