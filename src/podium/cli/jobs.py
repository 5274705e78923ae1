"""`podium jobs …`: the workspace's jobs (list, pause, resume, next, ticks) or a
bundle's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.common import (
    JsonOpt,
    TargetOpt,
    VarOpt,
    fail_at,
    load,
    open_history,
    out,
    print_json,
)
from podium.defaults import INT64_MAX

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

    table = Table("job_id", "name", "source", "bundle key", "starts", "creator")
    for view in views:
        origin = view["podium"]
        where = f"{origin['bundle']}:{origin['key']}" if origin["source"] == "BUNDLE" else "-"
        table.add_row(str(view["job_id"]), view["settings"].get("name", ""), origin["source"],
                      where, starts_of(view["settings"]), view["creator_user_name"])
    out.print(table)


def starts_of(settings: dict[str, Any]) -> str:
    """What starts a job, in a few words: its schedule, trigger or continuous, paused or
    not; `-` when only runs asked for."""
    from podium.store import registry

    text = registry.start_text(settings)
    if text is None:
        return "-"
    return f"{text}, paused" if registry.paused(settings) else text


JobArg = Annotated[str, typer.Argument(
    metavar="JOB", help="A registered job: its job_id, bundle key or name.")]


def _job_row(store: Any, text: str) -> Any:
    """The registry job `text` names (id, bundle key or name); exit 2 when none or many."""
    from podium.store import registry
    from podium.store.errors import JobNotFound

    if text.isdigit():
        try:
            return registry.get(store, int(text))
        except JobNotFound:
            fail_at("JOB", f"no job {text} in this workspace; list them with "
                    "`podium jobs list`")
    rows, after = [], None
    while True:
        page, more = registry.page(store, 500, after)
        rows += [r for r in page if text in (r.key, r.name)]
        if not more:
            break
        after = page[-1].job_id
    if len(rows) != 1:
        ids = ", ".join(str(r.job_id) for r in rows)
        what = f"{len(rows)} jobs ({ids})" if rows else "no job"
        fail_at("JOB", f"{what} named '{text}' in this workspace; give a job_id from "
                "`podium jobs list`")
    return rows[0]


def _set_pause(text: str, status: str) -> None:
    from podium.store import registry

    store = open_history()
    row = _job_row(store, text)
    settings = registry.settings_of(row)
    changed = registry.pause_changes(settings, status)
    if not changed:
        fail_at("JOB", f"job {row.job_id} has no schedule, trigger or continuous to "
                f"{'pause' if status == 'PAUSED' else 'resume'}")
    registry.replace(store, row.job_id, {**settings, **changed})
    typer.echo(f"job {row.job_id} ({row.name}): {next(iter(changed))} {status}")


@jobs_app.command("pause")
def pause(job: JobArg) -> None:
    """Pause a job's schedule, trigger or continuous runs (a running `podium serve` sees
    it on its next loop turn; a redeploy sets what the bundle says)."""
    _set_pause(job, "PAUSED")


@jobs_app.command("resume")
def resume(job: JobArg) -> None:
    """Resume a paused schedule, trigger or continuous job; ticks that fell in the pause
    are not replayed."""
    _set_pause(job, "UNPAUSED")


@jobs_app.command("next")
def next_times(
    job: JobArg,
    count: Annotated[int, typer.Option("-n", min=1, max=1000,
                                       help="How many fire times.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """The next fire times of a job's schedule, in the schedule's time zone."""
    from datetime import UTC, datetime

    from podium.spec.models import Job
    from podium.store import registry
    from podium.triggers.loop import next_times as upcoming

    row = _job_row(open_history(), job)
    spec = Job.model_validate(registry.settings_of(row))
    if spec.schedule is None:
        fail_at("JOB", f"job {row.job_id} has no schedule")
    times = [t.isoformat() for t in upcoming(spec, count, datetime.now(UTC))]
    if as_json:
        print_json({"job_id": row.job_id, "timezone_id": spec.schedule.timezone_id,
                    "pause_status": spec.schedule.pause_status, "next": times})
        return
    paused = " (PAUSED: none of these fire until it is resumed)" \
        if spec.schedule.pause_status == "PAUSED" else ""
    typer.echo(f"job {row.job_id}: {spec.schedule.quartz_cron_expression} in "
               f"{spec.schedule.timezone_id}{paused}")
    for moment in times:
        typer.echo(f"  {moment}")


@jobs_app.command("ticks")
def ticks_list(
    job: JobArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=INT64_MAX,
                                        help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """What the job's schedule or trigger did, newest first: each due time, whether it
    ran (and its run id) or was skipped, and why."""
    from datetime import UTC, datetime

    from podium.store import triggers

    row = _job_row(open_history(), job)
    rows = [{"due_time": t.due_ms, "kind": t.kind, "state": t.state, "run_id": t.run_id,
             "reason": t.reason} for t in triggers.ticks(open_history(), row.job_id, limit)]
    if as_json:
        print_json({"job_id": row.job_id, "ticks": rows})
        return
    from rich.table import Table

    table = Table("due (UTC)", "kind", "state", "run", "reason")
    for t in rows:
        due = datetime.fromtimestamp(t["due_time"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(due, t["kind"], t["state"], str(t["run_id"] or "-"), t["reason"])
    out.print(table)
