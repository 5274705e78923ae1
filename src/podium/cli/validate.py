"""`podium validate`: check a bundle and show what it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.common import JsonOpt, TargetOpt, VarOpt, fail, load, out


def validate(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder.")] = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Treat warnings (unknown fields, what will not run locally) as "
        "errors.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a bundle and show its jobs, task DAGs, clusters and ignored fields.

    Accepts what the Databricks CLI accepts: unknown fields and includes that match no
    file are warnings (with a did-you-mean). Exits 0 when valid; prints
    `file:line:col: error: ...` for each problem and exits 2. With --strict, warnings
    are errors too.
    """
    from dataclasses import replace

    from podium.spec.describe import describe_bundle

    loaded = load(bundle, target, var, as_json)
    if strict and loaded.warnings:
        fail([replace(w, severity="error") for w in loaded.warnings], as_json)
    jvm = cluster_libraries(loaded)
    if as_json:
        out.print_json(json.dumps({**describe_bundle(loaded), "libraries": jvm}, default=str))
        return
    from podium.report.plan import print_bundle

    print_bundle(loaded, out)
    for cluster, rows in jvm.items():
        shown = ", ".join(f"{r['library']} ({'cached' if r['cached'] else 'not cached'})"
                          for r in rows)
        out.print(f"libraries of cluster {cluster}: {shown or 'none'}", markup=False,
                  highlight=False, soft_wrap=True)


def cluster_libraries(loaded: Any) -> dict[str, list[dict[str, Any]]]:
    """Each cluster the bundle starts (job clusters as `job:key`, the default one as
    `job:default`, shared ones as `shared:key`) with its JVM libraries and their cache
    state."""
    from podium.compute import libraries
    from podium.spec.checks import all_tasks

    found: dict[str, list[dict[str, Any]]] = {}
    for key, job in loaded.jobs.items():
        used = {t.job_cluster_key for t in all_tasks(job)
                if not t.existing_cluster_id and (t.job_cluster_key or t.uses_spark)}
        for cluster_key in sorted(used, key=lambda k: k or ""):
            found[f"{key}:{cluster_key or 'default'}"] = libraries.listing(
                job.cluster_as_started(cluster_key))
    for key, spec in loaded.clusters.items():
        found[f"shared:{key}"] = libraries.listing(spec)
    return found
