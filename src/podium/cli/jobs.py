"""`podium jobs …`: the jobs of a bundle."""

from __future__ import annotations

from pathlib import Path

import typer

from podium.cli.common import BundleOpt, JsonOpt, TargetOpt, VarOpt, load, out, print_json

jobs_app = typer.Typer(help="Jobs defined in a bundle.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    bundle: BundleOpt = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the jobs of a bundle with their task counts and clusters."""
    loaded = load(bundle, target, var, as_json)
    rows = [{"key": k, "name": j.name, "tasks": len(j.tasks),
             "job_clusters": [c.job_cluster_key for c in j.job_clusters],
             "max_concurrent_runs": j.max_concurrent_runs} for k, j in loaded.jobs.items()]
    if as_json:
        print_json({"jobs": rows})
        return
    from rich.table import Table

    table = Table("key", "name", "tasks", "job clusters", "max concurrent runs")
    for row in rows:
        table.add_row(row["key"], row["name"], str(row["tasks"]),
                      ", ".join(row["job_clusters"]) or "-", str(row["max_concurrent_runs"]))
    out.print(table)
