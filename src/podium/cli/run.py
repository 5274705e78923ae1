"""`podium run`: run a bundle's job here, once or once per parameter set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podium.cli.common import (
    BundleOpt,
    JsonOpt,
    ParamOpt,
    TargetOpt,
    VarOpt,
    err,
    fail,
    fail_at,
    job_params,
    load,
    open_history,
    parse_pairs,
)
from podium.cli.drive import detach, drive
from podium.spec import BundleError


def run(
    job_key: Annotated[str, typer.Argument(help="The job's key (or name) in the bundle.")],
    bundle: BundleOpt = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    param: ParamOpt = None,
    params_file: Annotated[Path | None, typer.Option(
        "--params-file", help="One run per parameter set: a .jsonl file (one JSON object "
        "a line), a .json array of objects, or a .csv file with a header.")] = None,
    param_set: Annotated[list[str] | None, typer.Option(
        "--param-set", help="One run with these parameters, as a JSON object "
        "(repeatable).")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Submit, print the run id(s) "
                                          "and return; a background process runs them.")]
    = False,
    start_clusters: Annotated[bool, typer.Option(
        "--start-clusters", help="Start the shared clusters (existing_cluster_id) the job "
        "needs when they are not running; they keep running afterwards.")] = False,
    full_refresh_all: Annotated[bool, typer.Option(
        "--full-refresh-all", help="Pipeline: reset and recompute every dataset.")] = False,
    full_refresh: Annotated[str | None, typer.Option(
        "--full-refresh", help="Pipeline: reset and recompute these datasets (comma "
        "separated).")] = None,
    refresh: Annotated[str | None, typer.Option(
        "--refresh", help="Pipeline: update only these datasets (comma separated).")] = None,
    refresh_all: Annotated[bool, typer.Option(
        "--refresh-all", help="Pipeline: update every dataset (the default).")] = False,
    validate_only: Annotated[bool, typer.Option(
        "--validate-only", help="Pipeline: check the graph, run no flow.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a job (or an update of a pipeline) on reused Spark compute, recorded in the run
    history; several parameter sets start one run each, sharing the job's clusters.

    Exits 0 when every run succeeds, 1 otherwise, 2 on bad input, 130 when interrupted.
    """
    from podium.engine.launch import admit_run
    from podium.engine.model import Run
    from podium.engine.restore import job_snapshot
    from podium.spec.param_sets import ParamSetError, read_param_sets
    from podium.store.maintenance import sweep_orphans

    loaded = load(bundle, target, var)
    update = {"full_refresh_all": full_refresh_all, "full_refresh": _names(full_refresh),
              "refresh": _names(refresh), "validate_only": validate_only}
    pipeline = loaded.pipeline(job_key) if loaded.find_job(job_key) is None else None
    if pipeline is not None:
        from podium.spec.pipelines import pipeline_job

        key, job = pipeline[0], pipeline_job(*pipeline, **update)
    else:
        if any(update.values()) or refresh_all:
            fail_at("--refresh", f"'{job_key}' is a job; --full-refresh-all, --full-refresh, "
                    "--refresh, --refresh-all and --validate-only are for pipelines")
        try:
            job = loaded.job(job_key)
        except BundleError as exc:
            fail(exc.problems)
        key = next(k for k, j in loaded.jobs.items() if j is job)
    if loaded.lookups_failing(job):
        fail(loaded.lookups_failing(job))
    from podium.engine.artifacts import build_needed
    from podium.engine.environments import survey

    unbuilt = build_needed(loaded.root, loaded.artifacts, job, loaded.clusters,
                           say=lambda text: err.print(text, markup=False, highlight=False))
    if unbuilt:
        fail(unbuilt)
    from podium.engine import catalog_resources

    catalog_resources.create(loaded)
    _, python_problems = survey(job, loaded.clusters)  # unresolvable packages: exit 2 now
    if [p for p in python_problems if p.severity == "error"]:
        fail([p for p in python_problems if p.severity == "error"])
    for warning in loaded.warnings:  # what of this job will not be as written
        if warning.severity == "warning" and f"resources.jobs.{key}" in warning.message:
            err.print(str(warning), markup=False, soft_wrap=True, highlight=False)
    base = parse_pairs(param, "--param")
    try:
        sets = read_param_sets(params_file, param_set or [])
    except ParamSetError as exc:
        fail([exc.problem])
    all_params = [job_params(job, {**base, **one}) for one in sets or [{}]]
    if not no_wait:
        prelaunch_first_cluster(key, job)
    store = open_history()
    sweep_orphans(store)
    job_id = store.record_job(key, job.name or key, loaded.name, str(loaded.root),
                              loaded.target, job_snapshot(job))
    runs = [admit_run(store, Run(key, job, loaded.root, params, loaded.clusters,
                                 jobs=loaded.jobs), job_id, wait=index > 0)
            for index, params in enumerate(all_params)]
    if no_wait:
        detach(store, runs, start_clusters)
    drive(store, runs, as_json, (loaded.name, str(loaded.root), loaded.target),
          start_clusters)


def _names(given: str | None) -> list[str]:
    """A comma-separated list of dataset names from an option."""
    return [n.strip() for n in (given or "").split(",") if n.strip()]


def prelaunch_first_cluster(key: str, job) -> None:
    """Start the JVM of the cluster the job's first Spark task needs while the history is
    opened and the run admitted (a second or more of a cold run)."""
    from podium.compute import classic
    from podium.compute.manager import DEFAULT_KEY

    for task in job.tasks:
        if task.depends_on or task.existing_cluster_id or not task.uses_spark:
            continue
        cluster_key = task.job_cluster_key or DEFAULT_KEY
        # as the manager will ask for it (with its tasks' libraries), or it is not adopted
        spec = job.cluster_as_started(task.job_cluster_key) \
            if task.job_cluster_key is None or job.cluster(task.job_cluster_key) else None
        if spec is not None and not spec.remote:
            classic.prelaunch(f"{key}:{cluster_key}", spec)
        return
