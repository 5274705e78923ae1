"""`podium runs …`: the run history from any process — list, get, logs, cancel, repair,
prune."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from podium.cli.common import (
    JsonOpt,
    fail_at,
    job_params,
    out,
    parse_pairs,
    print_json,
    swept_history,
)
from podium.cli.drive import drive
from podium.defaults import INT64_MAX

runs_app = typer.Typer(help="Runs in the workspace's history (any bundle, any process).",
                       no_args_is_help=True)

RunId = Annotated[int, typer.Argument(max=INT64_MAX,
                                      help="The run id (from `podium runs list`).")]


def _row(store, run_id: int):
    from podium.store import RunNotFound

    try:
        return store.run_row(run_id)
    except RunNotFound:
        fail_at("RUN_ID", f"no run {run_id} in this workspace (PODIUM_HOME); list runs with "
                "`podium runs list`")


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else "-"


@runs_app.command("list")
def runs_list(
    job: Annotated[str | None, typer.Option("--job", help="Only runs of this job key.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only runs not yet ended.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=INT64_MAX,
                                        help="At most this many.")] = 25,
    as_json: JsonOpt = False,
) -> None:
    """Newest runs first, from every bundle of the workspace."""
    from podium.store.views import run_summary

    store = swept_history()
    rows = store.runs(job, active, limit)
    if as_json:
        print_json({"runs": [run_summary(r) for r in rows]})
        return
    table = Table("run", "job", "state", "result", "started", "duration", "trigger")
    for r in rows:
        seconds = ((r.end_ms or int(time.time() * 1000)) - r.start_ms) / 1000 if r.start_ms \
            else 0
        table.add_row(str(r.id), escape(r.job_key), r.life, r.result or "", _when(r.start_ms),
                      f"{seconds:.1f}s", r.trigger)
    out.print(table)


@runs_app.command("get")
def runs_get(run_id: RunId, as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON (the default; accepted for symmetry).")] = True) -> None:
    """One run as JSON in the Jobs API runs/get shape (what `podium run --json` prints)."""
    from podium.store.views import run_view

    store = swept_history()
    _row(store, run_id)
    print_json(run_view(store, run_id))


@runs_app.command("cost")
def runs_cost(run_id: RunId, as_json: JsonOpt = False) -> None:
    """What each task of a run used of its cluster: executor and CPU time, rows and bytes,
    its share of the cluster, and the core-seconds that share is worth."""
    from podium.report.cost import print_cost
    from podium.store.views import run_view

    store = swept_history()
    _row(store, run_id)
    cost = run_view(store, run_id)["podium"]["cost"]
    if as_json:
        print_json(cost)
    else:
        print_cost(cost, out)


@runs_app.command("logs")
def runs_logs(
    run_id: RunId,
    task: Annotated[str | None, typer.Option("--task", help="Only this task.")] = None,
    attempt: Annotated[int | None, typer.Option(
        "--attempt", max=INT64_MAX, help="This attempt (default: the last).")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the "
                                         "run ends.")] = False,
) -> None:
    """Print task logs of a run (each task's last attempt unless --attempt)."""
    store = swept_history()
    _row(store, run_id)
    rows = store.task_rows(run_id)
    if task is not None and task not in [t.task_key for t, _, _ in rows]:
        fail_at("--task", f"run {run_id} has no task '{task}' (tasks: "
                f"{', '.join(t.task_key for t, _, _ in rows)})")
    printed: dict[str, int] = {}
    while True:
        for t, attempts, _children in store.task_rows(run_id):
            if task is not None and t.task_key != task:
                continue
            chosen = [a for a in attempts if attempt is None or a.number == attempt]
            if not chosen:
                continue
            path = Path(chosen[-1].log_path)
            text = path.read_text(errors="replace") if path.exists() else ""
            done = printed.get(str(path), 0)
            if done == 0 and (text or not follow):
                typer.echo(f"==> {t.task_key} attempt {chosen[-1].number} ({path}) <==")
            if len(text) > done:
                typer.echo(text[done:], nl=False)
                printed[str(path)] = len(text)
        if not follow or store.run_row(run_id).life not in _active():
            return
        time.sleep(0.5)


def _active() -> tuple[str, ...]:
    from podium.store.runs import ACTIVE

    return ACTIVE


@runs_app.command("cancel")
def runs_cancel(
    run_id: Annotated[int | None, typer.Argument(max=INT64_MAX, help="The run to cancel.")] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Cancel every active run of --job."
                                           )] = False,
    job: Annotated[str | None, typer.Option("--job", help="With --all: the job key.")] = None,
) -> None:
    """Cancel a run (or all active runs of a job); the owning process stops it within a
    second: Spark jobs interrupted, tasks CANCELED."""
    store = swept_history()
    if all_runs:
        if not job:
            fail_at("--all", "--all needs --job KEY")
        ids = store.active_run_ids(job)
    elif run_id is None:
        fail_at("RUN_ID", "give a run id, or --all --job KEY")
    else:
        row = _row(store, run_id)
        if row.life not in _active():
            typer.echo(f"run {run_id} has already ended ({row.result or row.life})")
            return
        ids = [run_id]
    for one in ids:
        store.request_cancel(one)
        typer.echo(f"cancel requested for run {one}")


@runs_app.command("repair")
def runs_repair(
    run_id: RunId,
    task: Annotated[list[str] | None, typer.Option("--task", help="Rerun this task "
                                                   "(repeatable).")] = None,
    rerun_all_failed: Annotated[bool, typer.Option("--rerun-all-failed", help="Rerun every "
                                                   "task that did not succeed (the default "
                                                   "without --task).")] = False,
    rerun_dependents: Annotated[bool, typer.Option("--rerun-dependents", help="Also rerun "
                                                   "everything downstream.")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Change a job "
                                                    "parameter: name=value.")] = None,
    start_clusters: Annotated[bool, typer.Option(
        "--start-clusters", help="Start the shared clusters the tasks need when they are "
        "not running.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rerun chosen tasks of an ended run as a new repair of the same run; tasks that
    succeeded keep their results and task values."""
    from podium.engine.restore import rerun_set, restore
    from podium.store import RunBusy
    from podium.store.maintenance import start_repair

    store = swept_history()
    row = _row(store, run_id)
    if row.life in _active():
        fail_at("RUN_ID", f"run {run_id} is still {row.life}; cancel it or wait for it to end "
                "before repairing")
    run = restore(store, run_id)
    unknown = [t for t in task or [] if t not in run.task_runs]
    if unknown:
        fail_at("--task", f"run {run_id} has no task '{unknown[0]}' (tasks: "
                f"{', '.join(run.task_runs)})")
    params = parse_pairs(param, "--param")
    job_params(run.job, params)
    chosen = rerun_set(run, task or [], rerun_all_failed or not task, rerun_dependents)
    if not chosen:
        typer.echo(f"nothing to repair: every task of run {run_id} succeeded")
        raise typer.Exit(0)
    try:
        start_repair(store, run_id, chosen, params)
    except RunBusy as exc:
        fail_at(f"run {run_id}", str(exc))
    run = restore(store, run_id)
    typer.echo(f"repairing run {run_id}: rerunning {', '.join(chosen)}", err=as_json)
    drive(store, [run], as_json, start_clusters=start_clusters)


@runs_app.command("resume", hidden=True)
def runs_resume(run_ids: Annotated[list[int], typer.Argument()],
                start_clusters: Annotated[bool, typer.Option("--start-clusters")] = False
                ) -> None:
    """Run stored runs that no process runs yet (what `podium run --no-wait` starts)."""
    from podium.engine.restore import restore

    store = swept_history()
    deadline = time.monotonic() + HANDOFF_SECONDS
    while store.owned(run_ids) != set(run_ids):  # the parent hands them over after spawning
        if time.monotonic() > deadline:
            fail_at("podium runs resume", f"runs {run_ids} were not handed to this process")
        time.sleep(0.05)
    runs = [restore(store, run_id) for run_id in run_ids]
    row = store.job_spec(store.run_row(run_ids[0]).job_id)[0]
    drive(store, runs, False, (row.bundle_name, row.bundle_root, row.target), start_clusters)


HANDOFF_SECONDS = 30
DURATION = re.compile(r"^(\d+)([smhdw])$")


@runs_app.command("prune")
def runs_prune(
    older_than: Annotated[str, typer.Option("--older-than", help="Age such as 30d, 12h, "
                                            "90m.")] = "30d",
) -> None:
    """Delete ended runs older than the given age, and their logs."""
    from podium.store.maintenance import prune

    match = DURATION.match(older_than.strip())
    if not match:
        fail_at("--older-than", f"'{older_than}' is not an age; write a number and a unit "
                "such as 30d, 12h, 90m, 45s or 2w")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    removed = prune(swept_history(), int(match.group(1)) * unit * 1000)
    typer.echo(f"pruned {len(removed)} run(s)")
