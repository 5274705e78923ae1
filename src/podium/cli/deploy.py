"""`podium deploy`: register a bundle's jobs in the workspace, as `databricks bundle
deploy` does, so the API and the server run them by `job_id`."""

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
    """Register the bundle's jobs with stable job ids: the same bundle, target and key keep
    their job_id across deploys, changed settings are updated, and jobs removed from the
    bundle are deleted. Prints `key -> job_id`."""
    from podium.engine.restore import job_snapshot
    from podium.runtime.notebook_context import user_name
    from podium.store import registry

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
    if as_json:
        print_json({"bundle": loaded.name, "target": loaded.target, "jobs": ids,
                    "deleted": gone})
        return
    for key, job_id in ids.items():
        out.print(f"{key} -> {job_id}", markup=False)
    for job_id in gone:
        out.print(f"deleted job {job_id} (no longer in the bundle)", markup=False)
