"""The `podium` command: validate bundles, list jobs, run them, inspect runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from podium import __version__
from podium.spec import BundleError, Location, Problem, load_bundle
from podium.spec.describe import describe_bundle

EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="podium",
    help="Run Databricks bundle jobs on reused Spark compute.\n\n"
         "Examples:\n\n  podium validate examples/seed001_many_tables\n\n"
         "  podium jobs list --bundle examples/seed001_many_tables\n\n"
         "  podium run many_tables --bundle examples/seed001_many_tables --var table_count=4",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
jobs_app = typer.Typer(help="Jobs defined in a bundle.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")

out = Console()
err = Console(stderr=True, highlight=False)

BundleOpt = Annotated[Path, typer.Option("--bundle", "-b", help="Bundle folder (or a file in "
                                         "it); parents are searched for databricks.yml.")]
TargetOpt = Annotated[str | None, typer.Option("--target", "-t", help="Bundle target.")]
VarOpt = Annotated[list[str] | None, typer.Option("--var", help="Set a bundle variable: "
                                                  "name=value (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(problems: list[Problem], as_json: bool = False) -> NoReturn:
    """Print located problems (or their JSON) and exit 2: bad input, never a traceback."""
    if as_json:
        out.print_json(json.dumps({"valid": False, "errors": [p.as_dict() for p in problems]}))
    else:
        for problem in problems:
            err.print(str(problem), markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """`name=value` options as a dict; a pair without '=' is bad input."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail([Problem(Location(option), f"'{pair}' is not name=value; write "
                          f"{option} name=value")])
        result[name.strip()] = value
    return result


def load(bundle: Path, target: str | None, var: list[str] | None, as_json: bool = False):
    """Load the bundle for a command, turning every problem into exit code 2."""
    try:
        return load_bundle(bundle, target, parse_pairs(var, "--var"))
    except BundleError as exc:
        fail(exc.problems, as_json)


def _version(value: bool) -> None:
    if value:
        out.print(f"podium {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Run Databricks bundle jobs on reused Spark compute."""


@app.command()
def validate(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder.")] = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a bundle and show its jobs, task DAGs, clusters and ignored fields.

    Exits 0 when valid; prints `file:line:col: error: ...` for each problem and exits 2.
    """
    loaded = load(bundle, target, var, as_json)
    if as_json:
        out.print_json(json.dumps(describe_bundle(loaded), default=str))
        return
    from podium.report.plan import print_bundle

    print_bundle(loaded, out)


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
        out.print_json(json.dumps({"jobs": rows}))
        return
    from rich.table import Table

    table = Table("key", "name", "tasks", "job clusters", "max concurrent runs")
    for row in rows:
        table.add_row(row["key"], row["name"], str(row["tasks"]),
                      ", ".join(row["job_clusters"]) or "-", str(row["max_concurrent_runs"]))
    out.print(table)


ParamOpt = Annotated[list[str] | None, typer.Option("--param", "-p", help="Set a job "
                                                    "parameter: name=value (repeatable).")]


def job_params(job, given: dict[str, str]) -> dict[str, str]:
    """Job parameter values: defaults, then `--param`; an unknown name is bad input."""
    defined = {p.name: "" if p.default is None else str(p.default) for p in job.parameters}
    for name in given:
        if name not in defined:
            known = ", ".join(defined) or "none"
            fail([Problem(Location("--param"), f"job '{job.name}' has no parameter '{name}' "
                          f"(parameters: {known}); add it under the job's `parameters`")])
    return {**defined, **given}


@app.command()
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
    as_json: JsonOpt = False,
) -> None:
    """Run a job on reused Spark compute, recorded in the run history; several parameter
    sets start one run each, sharing the job's clusters.

    Exits 0 when every run succeeds, 1 otherwise, 2 on bad input, 130 when interrupted.
    """
    from podium.engine.model import Run
    from podium.engine.restore import job_snapshot
    from podium.engine.states import LifeCycle, Result
    from podium.spec.param_sets import ParamSetError, read_param_sets
    from podium.store.admission import admit
    from podium.store.maintenance import sweep_orphans

    loaded = load(bundle, target, var)
    try:
        job = loaded.job(job_key)
    except BundleError as exc:
        fail(exc.problems)
    key = next(k for k, j in loaded.jobs.items() if j is job)
    base = parse_pairs(param, "--param")
    try:
        sets = read_param_sets(params_file, param_set or [])
    except ParamSetError as exc:
        fail([exc.problem])
    all_params = [job_params(job, {**base, **one}) for one in sets or [{}]]
    store = open_history()
    sweep_orphans(store)
    job_id = store.record_job(key, job.name or key, loaded.name, str(loaded.root),
                              loaded.target, job_snapshot(job))
    runs = []
    for index, params in enumerate(all_params):
        one = Run(key, job, loaded.root, params, loaded.clusters, jobs=loaded.jobs)
        life = admit(store, one, job_id, job.max_concurrent_runs,
                     queue=bool(job.queue and job.queue.enabled), wait=index > 0)
        one.life = LifeCycle(life)
        if one.life is LifeCycle.SKIPPED:
            one.result = Result.MAXIMUM_CONCURRENT_RUNS_REACHED
            for tr in one.task_runs.values():
                tr.life, tr.message = LifeCycle.SKIPPED, "The run was skipped"
        runs.append(one)
    if no_wait:
        detach(store, runs, start_clusters)
    drive(store, runs, as_json, (loaded.name, str(loaded.root), loaded.target),
          start_clusters)


def detach(store, runs: list, start_clusters: bool = False) -> NoReturn:
    """Hand runs to a background `podium runs resume` and print their ids."""
    import subprocess

    from podium import defaults

    ids = [str(r.run_id) for r in runs if not r.final]
    if ids:
        log = defaults.logs_dir() / f"detached-{ids[0]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            command = [sys.executable, "-m", "podium", "runs", "resume", *ids]
            command += ["--start-clusters"] if start_clusters else []
            child = subprocess.Popen(command,
                                     stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        store.set_owner([int(i) for i in ids], child.pid)  # before this process exits
    out.print_json(json.dumps({"run_ids": [r.run_id for r in runs],
                               "states": [r.life.value for r in runs]}))
    raise typer.Exit(0)


def open_history():
    """The workspace's run store; an unreachable database is exit 2 with the reason."""
    from sqlalchemy.exc import SQLAlchemyError

    from podium.store import database_url, open_store

    try:
        return open_store()
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        fail([Problem(Location("PODIUM_DATABASE_URL"), f"cannot open the run history at "
                      f"{database_url()}: {reason}; check the URL and that the database "
                      "is running")])


def drive(store, runs: list, as_json: bool, bundle: tuple[str, str, str] = ("", "", ""),
          start_clusters: bool = False) -> NoReturn:
    """Run the given runs to the end with progress, history and Ctrl-C handling; exit
    with podium run's exit code. Queued runs start when the store admits them."""
    import signal

    from podium.engine import shared_clusters
    from podium.engine.executor import Executor
    from podium.engine.recorder import Recorder
    from podium.report.progress import Progress
    from podium.runtime import output
    from podium.store.views import run_view

    output.install()
    executor = Executor(shared_clusters=lambda name, spec: shared_clusters.address(
        store, name, spec, start_clusters))
    recorder = Recorder(store, executor, bundle)
    # The orchestrator's own view goes to the terminal, around the per-task routing.
    view = Console(file=output.original_stdout() if not as_json else output.original_stderr(),
                   highlight=False)
    progress = Progress(executor, list(runs), view)
    executor.listeners.append(progress.listener)
    record_child = executor.on_child_run

    def on_child_run(child, parent, tr) -> None:
        record_child(child, parent, tr)
        progress.runs.append(child)

    executor.on_child_run = on_child_run
    interrupted: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        interrupted.append(signum)
        executor.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    def tick() -> None:
        recorder.tick()
        progress.update()

    try:
        for one in runs:
            if one.life.value == "QUEUED":
                recorder.queued.append(one)
            elif not one.final:
                executor.submit(one)
        executor.run_until_done(runs, tick)
    finally:
        progress.close()
        executor.clusters.stop_all()
    if as_json:
        views = [run_view(store, one.run_id) for one in runs]
        out.print_json(json.dumps(views[0] if len(views) == 1 else {"runs": views},
                                  default=str))
    if interrupted:
        raise typer.Exit(130)
    ok = all(one.result is not None and one.result.value == "SUCCESS" for one in runs)
    raise typer.Exit(0 if ok else 1)


from podium import cli_runs  # noqa: E402  (registers the `runs` commands)

app.add_typer(cli_runs.runs_app, name="runs")

from podium import cli_clusters  # noqa: E402  (registers the `cluster` commands)

app.add_typer(cli_clusters.cluster_app, name="cluster")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
