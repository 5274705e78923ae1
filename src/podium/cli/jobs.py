"""`podium jobs …`: the jobs of a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podium.cli.common import JsonOpt, TargetOpt, VarOpt, load, open_history, out, print_json

jobs_app = typer.Typer(help="Jobs of the workspace (deployed or created through the API), "
                       "or of a bundle.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    bundle: Annotated[Path | None, typer.Option(
        "--bundle", "-b", help="List this bundle's jobs instead of the workspace's.")] = None,
    target: TargetOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the workspace's registered jobs with their job ids (deployed from bundles or
    created through the API); with --bundle, a bundle's jobs with their task counts and
    clusters."""
    if bundle is None:
        _registered(as_json)
        return
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


def _registered(as_json: bool) -> None:
    from podium.store import registry

    store = open_history()
    views, after = [], None
    while True:
        rows, more = registry.page(store, 500, after)
        views += [registry.job_view(r, expand_tasks=False) for r in rows]
        if not more:
            break
        after = rows[-1].job_id
    if as_json:
        print_json({"jobs": views})
        return
    from rich.table import Table

    table = Table("job_id", "name", "source", "bundle key", "creator")
    for view in views:
        origin = view["podium"]
        where = f"{origin['bundle']}:{origin['key']}" if origin["source"] == "BUNDLE" else "-"
        table.add_row(str(view["job_id"]), view["settings"].get("name", ""), origin["source"],
                      where, view["creator_user_name"])
    out.print(table)
