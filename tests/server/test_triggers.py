"""Schedules and triggers in a real `podium serve`: a per-second schedule on two servers
sharing one PostgreSQL, files dropped in a watched folder, a failing continuous job, and
schedules changed and paused through the API and the CLI."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from databricks.sdk.service import jobs

from tests.server.conftest import (
    PODIUM,
    Server,
    create_token,
    env_for,
    servers_on_one_database,
    start_server,
    stop_server,
)

QUICK = [{"task_key": "t", "python_task": {"function": "tests.engine.funcs:ok"}}]
FAILING = [{"task_key": "t", "python_task": {"function": "tests.engine.funcs:fail"}}]


def runs_of(server: Server, job_id: int) -> list[dict]:
    """Every run of a job, oldest first."""
    runs, page = [], None
    while True:
        answer = server.get("/api/2.2/jobs/runs/list", job_id=job_id, limit=25,
                            **({"page_token": page} if page else {})).json()
        runs += answer.get("runs", [])
        page = answer.get("next_page_token")
        if not answer.get("has_more"):
            return sorted(runs, key=lambda r: r["run_id"])


def database_of(server: Server) -> str:
    """The database URL a server was started with."""
    return server.env["PODIUM_DATABASE_URL"]


def podium(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PODIUM, *args], capture_output=True, text=True,
                          env=env_for(home, **env), timeout=120)


def test_a_per_second_schedule_on_two_servers_fires_each_tick_once(tmp_path: Path) -> None:
    with servers_on_one_database(tmp_path) as servers:
        job_id = servers[0].post("/api/2.1/jobs/create", {
            "name": "every-second", "max_concurrent_runs": 100, "tasks": QUICK,
            "schedule": {"quartz_cron_expression": "* * * * * ?", "timezone_id": "UTC"}}
        ).json()["job_id"]
        time.sleep(22)  # ticks ten seconds apart (the least Databricks allows): two or three
        servers[0].post("/api/2.1/jobs/update", {"job_id": job_id, "new_settings": {
            "schedule": {"quartz_cron_expression": "* * * * * ?", "timezone_id": "UTC",
                         "pause_status": "PAUSED"}}})
        time.sleep(2)  # a tick being fired as the pause lands finishes
        shown = podium(servers[0].home, "jobs", "ticks", str(job_id), "--limit", "1000",
                       "--json", PODIUM_DATABASE_URL=database_of(servers[0]))
        assert shown.returncode == 0, shown.stderr
        ticks = json.loads(shown.stdout)["ticks"]
        runs = runs_of(servers[1], job_id)
        owners = {servers[1].get("/api/2.1/jobs/runs/get", run_id=r["run_id"]).json()[
            "podium"]["owner"]["pid"] for r in runs}
        assert owners <= {s.proc.pid for s in servers}
    fired = sorted(t["due_time"] for t in ticks if t["state"] == "FIRED")
    assert len(fired) >= 2 and all(b - a >= 10_000 for a, b in pairwise(fired))
    assert sorted(t["run_id"] for t in ticks if t["state"] == "FIRED") == \
        [r["run_id"] for r in runs]  # one run per fired tick, no run without its tick
    assert {r["trigger"] for r in runs} == {"PERIODIC"}
    skipped = [t for t in ticks if t["state"] == "SKIPPED"]
    assert all("less than 10 s" in t["reason"] or "later tick" in t["reason"]
               for t in skipped)
    due = sorted(t["due_time"] for t in ticks)
    assert len(due) == len(set(due))  # every second decided once


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that looks at watched folders every 0.2 s and backs off continuous jobs
    from 1 s."""
    home = tmp_path_factory.mktemp("triggers_home")
    (home / "token").write_text(create_token(home))
    server = start_server(home, PODIUM_FILE_TRIGGER_SECONDS="0.2",
                          PODIUM_CONTINUOUS_BACKOFF_SECONDS="1")
    yield server
    stop_server(server)


def wait_for_runs(server: Server, job_id: int, count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(runs := runs_of(server, job_id)) < count:
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)
    return runs


def test_files_dropped_in_a_watched_folder_start_runs_spaced_by_the_minimum(
        quick_server: Server, tmp_path: Path) -> None:
    inbox = tmp_path / "landing"
    inbox.mkdir()
    (inbox / "already-there.csv").write_text("x")
    job_id = quick_server.post("/api/2.1/jobs/create", {
        "name": "on-arrival", "max_concurrent_runs": 10, "tasks": QUICK,
        "trigger": {"file_arrival": {"url": str(inbox),
                                     "min_time_between_triggers_seconds": 4}}}
    ).json()["job_id"]
    time.sleep(1.5)  # its first look records what is already there
    assert runs_of(quick_server, job_id) == []
    (inbox / "first.csv").write_text("1")
    first = wait_for_runs(quick_server, job_id, 1)[0]
    assert first["trigger"] == "FILE_ARRIVAL"
    (inbox / "second.csv").write_text("2")
    time.sleep(2)
    assert len(runs_of(quick_server, job_id)) == 1  # within the 4 s minimum
    second = wait_for_runs(quick_server, job_id, 2)[1]
    assert second["start_time"] - first["start_time"] >= 4000
    time.sleep(1.5)
    assert len(runs_of(quick_server, job_id)) == 2  # nothing new arrived


def test_a_failing_continuous_job_restarts_with_growing_delays_until_paused(
        quick_server: Server) -> None:
    job_id = quick_server.post("/api/2.1/jobs/create", {
        "name": "always-on", "tasks": FAILING, "continuous": {"pause_status": "UNPAUSED"}}
    ).json()["job_id"]
    runs = wait_for_runs(quick_server, job_id, 4, timeout=60)
    assert {r["trigger"] for r in runs} == {"CONTINUOUS"}
    gaps = [b["start_time"] - a["end_time"] for a, b in pairwise(runs)]
    assert gaps[0] >= 1000 and gaps[1] >= 2000 and gaps[2] >= 4000, gaps
    paused = podium(quick_server.home, "jobs", "pause", str(job_id))
    assert paused.returncode == 0 and "continuous PAUSED" in paused.stdout
    count = len(runs_of(quick_server, job_id))
    time.sleep(10)  # longer than the next back-off (8 s)
    assert len(runs_of(quick_server, job_id)) <= count + 1  # at most one already due


def test_a_schedule_set_through_the_sdk_shows_in_jobs_next(quick_server: Server) -> None:
    w = quick_server.sdk()
    job_id = w.jobs.create(name="nightly", tasks=[jobs.Task(
        task_key="t", condition_task=jobs.ConditionTask(op=jobs.ConditionTaskOp.EQUAL_TO,
                                                        left="1", right="1"))]).job_id
    w.jobs.update(job_id, new_settings=jobs.JobSettings(schedule=jobs.CronSchedule(
        quartz_cron_expression="0 30 2 ? * MON-FRI", timezone_id="Europe/Berlin")))
    shown = podium(quick_server.home, "jobs", "next", str(job_id), "-n", "6", "--json")
    assert shown.returncode == 0, shown.stderr
    upcoming = json.loads(shown.stdout)["next"]
    assert len(upcoming) == 6 and all(t[11:19] == "02:30:00" for t in upcoming)
    assert w.jobs.get(job_id).settings.schedule.pause_status == \
        jobs.PauseStatus.UNPAUSED
