"""Running runs in this process with progress, history and Ctrl-C handling, or handing
them to a background process: what `podium run` and `podium runs repair/resume` share."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import NoReturn

import typer
from rich.console import Console

from podium.cli.common import out


def detach(store, runs: list, start_clusters: bool = False) -> NoReturn:
    """Hand runs to a background `podium runs resume` and print their ids."""
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


def drive(store, runs: list, as_json: bool, bundle: tuple[str, str, str] = ("", "", ""),
          start_clusters: bool = False) -> NoReturn:
    """Run the given runs to the end with progress, history and Ctrl-C handling; exit
    with podium run's exit code. Queued runs start when the store admits them."""
    import signal

    from podium.engine import shared_clusters
    from podium.engine.executor import Executor
    from podium.engine.recorder import Recorder
    from podium.engine.service import Intake
    from podium.engine.workspace_access import WorkspaceAccess
    from podium.report.progress import Progress
    from podium.runtime import output
    from podium.runtime.notebook_context import user_name
    from podium.server.embedded import EmbeddedApi
    from podium.store.views import run_view

    output.install()
    executor = Executor(shared_clusters=lambda name, spec: shared_clusters.address(
        store, name, spec, start_clusters))
    executor.is_warehouse = lambda key: shared_clusters.is_warehouse(store, key)
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
    # Task code reaches the workspace API as a notebook reaches its workspace: served on a
    # loopback port for this process once a task asks, with a token of its run's own.
    intake = Intake(executor, recorder)
    api = EmbeddedApi(store, intake)
    access = api.access = WorkspaceAccess(store, api.url, user_name())
    executor.task_env = access.env_for
    executor.listeners.append(access.listener)
    waited = list(runs)  # and the runs tasks start through the API
    interrupted: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        interrupted.append(signum)
        executor.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    def tick() -> None:
        recorder.tick()
        for accepted in intake.take():
            waited.append(accepted)
            progress.runs.append(accepted)
        progress.update()

    try:
        for one in runs:
            if one.life.value == "QUEUED":
                recorder.queued.append(one)
            elif not one.final:
                executor.submit(one)
        executor.run_until_done(waited, tick)
    finally:
        progress.close()
        executor.clusters.stop_all()
        access.close()
    if as_json:
        views = [run_view(store, one.run_id) for one in runs]
        out.print_json(json.dumps(views[0] if len(views) == 1 else {"runs": views},
                                  default=str))
    if interrupted:
        raise typer.Exit(130)
    ok = all(one.result is not None and one.result.value == "SUCCESS" for one in runs)
    raise typer.Exit(0 if ok else 1)
