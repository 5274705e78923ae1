"""Several `podium serve` processes on one PostgreSQL: one registry, one id space, one
`max_concurrent_runs` per job, one run per idempotency token, cancels that reach the
server running the run, and runs a killed server accepted taken over by another."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest

from tests.server.conftest import Server, servers_on_one_database, wait_run

SLEEPER = {"name": "sleeper", "max_concurrent_runs": 1, "queue": {"enabled": True},
           "parameters": [{"name": "seconds", "default": "1"}],
           "tasks": [{"task_key": "nap", "python_task": {
               "function": "tests.engine.funcs:sleep",
               "parameters": {"seconds": "{{job.parameters.seconds}}"}}}]}


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Two servers, each with a workspace folder of its own, on one fresh database."""
    with servers_on_one_database(tmp_path) as servers:
        yield servers


def run_now(server: Server, job_id: int, **body: object) -> int:
    answer = server.post("/api/2.1/jobs/run-now", {"job_id": job_id, **body})
    assert answer.ok, answer.text
    return answer.json()["run_id"]


def test_two_servers_share_jobs_limits_tokens_and_cancels(two_servers) -> None:
    a, b = two_servers
    job_id = a.post("/api/2.1/jobs/create", SLEEPER).json()["job_id"]
    assert b.get("/api/2.1/jobs/get", job_id=job_id).json()["settings"]["name"] == "sleeper"

    ids = [run_now(server, job_id) for server in (a, b, a, b, a, b)]
    views = [wait_run(a, run_id) for run_id in ids]
    assert len(set(ids)) == 6
    assert [v["state"]["result_state"] for v in views] == ["SUCCESS"] * 6
    spans = sorted((v["start_time"], v["end_time"]) for v in views)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans)), \
        "max_concurrent_runs 1 held across both servers"

    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(lambda s: run_now(s, job_id, idempotency_token="both"),
                             [a, b] * 8))
    assert len(set(same)) == 1
    wait_run(b, same[0])

    long = run_now(a, job_id, job_parameters={"seconds": "120"})
    deadline = time.monotonic() + 60
    while b.get("/api/2.1/jobs/runs/get", run_id=long).json()["state"][
            "life_cycle_state"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    asked = time.monotonic()
    assert b.post("/api/2.1/jobs/runs/cancel", {"run_id": long}).ok
    view = wait_run(b, long, timeout=30)
    assert view["state"]["result_state"] == "CANCELED"
    assert time.monotonic() - asked < 15


def test_runs_a_killed_server_accepted_are_taken_over_by_another(two_servers) -> None:
    a, b = two_servers
    job_id = a.post("/api/2.1/jobs/create", SLEEPER).json()["job_id"]
    running = run_now(a, job_id, job_parameters={"seconds": "120"})
    waiting = [run_now(a, job_id) for _ in range(2)]
    assert [a.get("/api/2.1/jobs/runs/get", run_id=r).json()["state"]["life_cycle_state"]
            for r in waiting] == ["QUEUED", "QUEUED"]
    while a.get("/api/2.1/jobs/runs/get", run_id=running).json()["state"][
            "life_cycle_state"] != "RUNNING":
        time.sleep(0.1)

    os.killpg(a.proc.pid, signal.SIGKILL)
    a.proc.wait(10)

    lost = wait_run(b, running, timeout=60)
    assert lost["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    for run_id in waiting:
        assert wait_run(b, run_id, timeout=60)["state"]["result_state"] == "SUCCESS"
    assert b.post("/api/2.1/jobs/runs/repair", {"run_id": running, "rerun_all_failed_tasks":
                                                 True, "job_parameters": {"seconds": "0"}}).ok
    assert wait_run(b, running, timeout=60)["state"]["result_state"] == "SUCCESS"
