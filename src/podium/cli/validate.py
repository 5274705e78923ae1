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
    python, problems = python_packages(loaded)
    if [p for p in problems if p.severity == "error"]:
        fail([p for p in problems if p.severity == "error"], as_json)
    warnings = [w for w in [*loaded.warnings, *problems] if w.severity == "warning"]
    if strict and warnings:
        fail([replace(w, severity="error") for w in warnings], as_json)
    jvm = cluster_libraries(loaded)
    if as_json:
        described = describe_bundle(loaded)
        described["warnings"] += [p.as_dict() for p in problems]
        out.print_json(json.dumps({**described, "libraries": jvm, "python": python},
                                  default=str))
        return
    from podium.report.plan import print_bundle

    print_bundle(loaded, out)
    for problem in problems:
        out.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    for task, row in python.items():
        state = f"environment {row['environment']}, {'built' if row['built'] else 'not built'}" \
            if row["environment"] else "not resolved yet"
        out.print(f"python packages of task {task}: {', '.join(row['packages'])} ({state})",
                  markup=False, highlight=False, soft_wrap=True)
    for cluster, rows in jvm.items():
        shown = ", ".join(f"{r['library']} ({'cached' if r['cached'] else 'not cached'})"
                          for r in rows)
        out.print(f"libraries of cluster {cluster}: {shown or 'none'}", markup=False,
                  highlight=False, soft_wrap=True)


def python_packages(loaded: Any) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """Each task (`job.task`) that asks for Python packages, and the problems of every
    job's sets: resolved with uv (cached per set), located at the entry that asked."""
    from podium.engine.environments import survey

    rows: dict[str, dict[str, Any]] = {}
    problems: list[Any] = []
    for key, job in loaded.jobs.items():
        found, bad = survey(job, loaded.clusters)
        rows.update({f"{key}.{task}": row for task, row in found.items()})
        problems += bad
    return rows, problems


def cluster_libraries(loaded: Any) -> dict[str, list[dict[str, Any]]]:
    """Each cluster the bundle starts (job clusters as `job:key`, the default one as
    `job:default`, shared ones as `shared:key`) with its JVM libraries and their cache
    state."""
    from podium.jvm import jars
    from podium.spec.checks import all_tasks

    found: dict[str, list[dict[str, Any]]] = {}
    for key, job in loaded.jobs.items():
        used = {t.job_cluster_key for t in all_tasks(job)
                if not t.existing_cluster_id and (t.job_cluster_key or t.uses_spark)}
        for cluster_key in sorted(used, key=lambda k: k or ""):
            found[f"{key}:{cluster_key or 'default'}"] = jars.listing(
                job.cluster_as_started(cluster_key))
    for key, spec in loaded.clusters.items():
        found[f"shared:{key}"] = jars.listing(spec)
    return found
