"""`podium cluster …`: shared clusters that outlive runs — start, list, stop."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podium.cli.common import JsonOpt, err, fail_at, load, open_history, out, print_json

cluster_app = typer.Typer(help="Shared clusters (resources.clusters): Spark Connect servers "
                          "that outlive runs and serve every bundle of the workspace.",
                          no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="The cluster's key in resources.clusters, or its "
                                     "cluster_name.")]


def _as_dict(row) -> dict:
    return {"cluster_id": row.key, "cluster_name": row.cluster_name, "state": row.state,
            "state_message": row.message, "spark_remote": row.url,
            "spark_context_id": row.application_id, "autotermination_minutes":
            row.autotermination_minutes, "start_time": row.start_ms,
            "last_activity_time": row.last_used_ms, "terminated_time": row.end_ms}


@cluster_app.command("start")
def cluster_start(
    name: Name,
    bundle: Annotated[Path, typer.Option("--bundle", "-b", help="The bundle that defines "
                                         "the cluster.")] = Path("."),
    target: Annotated[str | None, typer.Option("--target", "-t")] = None,
    var: Annotated[list[str] | None, typer.Option("--var")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a shared cluster from a bundle's `resources.clusters` and return once it runs;
    it keeps running for every job of the workspace until stopped or idle."""
    from podium.compute.connect import shown
    from podium.compute.errors import ClusterError
    from podium.engine import shared_clusters
    from podium.spec.models import shared_spec

    loaded = load(bundle, target, var)
    spec = shared_spec(loaded.clusters, name)
    if spec is None:
        known = ", ".join(loaded.clusters) or "none"
        fail_at(str(loaded.root / "databricks.yml"), f"no shared cluster '{name}' in "
                f"resources.clusters (clusters: {known}); add it there")
    key = next(k for k, s in loaded.clusters.items() if s is spec)
    store = open_history()
    try:
        row = shared_clusters.start(store, key, spec)
    except ClusterError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        print_json(_as_dict(row))
    else:
        out.print(f"cluster {row.key}: RUNNING at {shown(row.url)} ({row.application_id})",
                      markup=False)


@cluster_app.command("list")
def cluster_list(as_json: JsonOpt = False) -> None:
    """Shared clusters of this workspace and their states."""
    from podium.compute.connect import shown
    from podium.engine import shared_clusters
    from podium.store import clusters

    store = open_history()
    rows = [shared_clusters.current(store, r.key) for r in clusters.all_clusters(store)]
    if as_json:
        print_json({"clusters": [_as_dict(r) for r in rows]})
        return
    table = Table("cluster", "name", "state", "address", "spark_context_id", "last used")
    for row in rows:
        used = datetime.fromtimestamp(row.last_used_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
        address = shown(row.url) if row.url else "-"
        table.add_row(row.key, row.cluster_name or "-", row.state, address,
                      row.application_id or "-", used)
    out.print(table)


@cluster_app.command("stop")
def cluster_stop(name: Name) -> None:
    """Stop a shared cluster; tasks running on it fail as on a terminated cluster."""
    from podium.engine import shared_clusters

    row = shared_clusters.stop(open_history(), name)
    if row is None:
        fail_at("cluster", f"no shared cluster '{name}' in this workspace; see podium cluster "
                "list")
    out.print(f"cluster {row.key}: {row.state}", markup=False)


@cluster_app.command("serve", hidden=True)
def cluster_serve(name: Name) -> None:
    """Supervise one shared cluster (started detached by `podium cluster start`)."""
    from podium.engine import shared_clusters

    shared_clusters.serve(open_history(), name)
