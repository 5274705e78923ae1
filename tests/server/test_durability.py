"""Nothing accepted is lost: concurrent run-now requests, idempotency tokens, and a server
killed with SIGKILL and started again. Loopback only, bounded request counts."""

from __future__ import annotations

import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.server.conftest import (
    Server,
    start_server,
    stop_server,
    wait_run,
    wait_task_running,
)

SLEEPER = {"name": "sleeper", "max_concurrent_runs": 1, "queue": {"enabled": True},
           "parameters": [{"name": "seconds", "default": "0"}],
           "tasks": [{"task_key": "nap", "python_task": {
               "function": "tests.engine.funcs:sleep",
               "parameters": {"seconds": "{{job.parameters.seconds}}"}}}]}

QUICK = {"name": "quick", "max_concurrent_runs": 1000,
         "tasks": [{"task_key": "t", "python_task": {"function": "tests.engine.funcs:ok"}}]}


def stored_runs(home: Path) -> list[tuple[int, str | None]]:
    engine = create_engine(f"sqlite:///{home / 'podium.db'}")
    with engine.connect() as db:
        rows = db.execute(text("SELECT id, idempotency_token FROM runs")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_200_concurrent_run_now_make_200_runs_and_tokens_make_one(server: Server) -> None:
    job_id = server.post("/api/2.1/jobs/create", QUICK).json()["job_id"]
    session = requests.Session()

    def run_now(body: dict) -> int:
        answer = session.post(f"{server.url}/api/2.1/jobs/run-now", json=body,
                              headers=server.headers, timeout=60)
        assert answer.ok, answer.text
        return answer.json()["run_id"]

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(run_now, [{"job_id": job_id}] * 200))
        same = list(pool.map(run_now, [{"job_id": job_id, "idempotency_token": "once"}] * 40))
    assert len(set(ids)) == 200 and len(set(same)) == 1
    assert same[0] not in ids
    for run_id in [*ids[-5:], same[0]]:
        assert wait_run(server, run_id)["state"]["result_state"] == "SUCCESS"
    deadline = time.monotonic() + 120
    while server.get("/api/2.2/jobs/runs/list", job_id=job_id, active_only="true"
                     ).json()["runs"]:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    stored = [r for r in stored_runs(server.home) if r[0] in {*ids, same[0]}]
    assert sorted(r[0] for r in stored) == sorted({*ids, same[0]})
    assert [r for r in stored if r[1] == "once"] == [(same[0], "once")]
    runs, page = [], None
    while True:
        answer = server.get("/api/2.2/jobs/runs/list", job_id=job_id, limit=25,
                            **({"page_token": page} if page else {})).json()
        runs += answer["runs"]
        page = answer.get("next_page_token")
        if not answer["has_more"]:
            break
    assert len(runs) == 201
    assert all(r["state"]["result_state"] == "SUCCESS" for r in runs)


def test_sigkill_then_restart_loses_nothing_accepted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start_server(home)
    try:
        job_id = first.post("/api/2.1/jobs/create", SLEEPER).json()["job_id"]
        running = first.post("/api/2.1/jobs/run-now", {
            "job_id": job_id, "job_parameters": {"seconds": "60"}}).json()["run_id"]
        wait_task_running(first, running)
        queued = [first.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
                  for _ in range(2)]
        for run_id in queued:
            assert first.get("/api/2.1/jobs/runs/get", run_id=run_id).json()["state"][
                "life_cycle_state"] == "QUEUED"
    finally:
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
    second = start_server(home)
    try:
        crashed = wait_run(second, running, timeout=30)
        assert crashed["state"]["life_cycle_state"] == "INTERNAL_ERROR"
        for run_id in queued:
            assert wait_run(second, run_id)["state"]["result_state"] == "SUCCESS"
        second.post("/api/2.1/jobs/runs/repair", {"run_id": running,
                                                  "job_parameters": {"seconds": "0"}})
        assert wait_run(second, running)["state"]["result_state"] == "SUCCESS"
    finally:
        assert stop_server(second) == 0


def test_sigterm_cancels_and_records_running_runs_then_exits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(home)
    job_id = server.post("/api/2.1/jobs/create", SLEEPER).json()["job_id"]
    run_id = server.post("/api/2.1/jobs/run-now", {
        "job_id": job_id, "job_parameters": {"seconds": "120"}}).json()["run_id"]
    wait_task_running(server, run_id)
    began = time.monotonic()
    assert stop_server(server) == 0
    assert time.monotonic() - began < 30
    engine = create_engine(f"sqlite:///{home / 'podium.db'}")
    with engine.connect() as db:
        life, result = db.execute(text("SELECT life, result FROM runs WHERE id = :i"),
                                  {"i": run_id}).one()
    engine.dispose()
    assert (life, result) == ("TERMINATED", "CANCELED")


def test_beyond_the_request_limit_clients_get_429_and_the_sdk_waits_it_out(
        tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", PODIUM_MAX_CONCURRENT_REQUESTS="1")
    host, port = server.url.removeprefix("http://").split(":")
    pool = ThreadPoolExecutor(1)
    try:
        with socket.create_connection((host, int(port)), timeout=10) as slow:
            # one request in flight: its headers are in, its body never finishes
            slow.sendall((f"POST /api/2.1/jobs/create HTTP/1.1\r\nHost: {host}\r\n"
                          f"Authorization: Bearer {server.token}\r\n"
                          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                          ).encode())
            deadline = time.monotonic() + 10
            while (answer := server.get("/api/2.1/jobs/list")).status_code != 429:
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.05)
            assert answer.headers["Retry-After"] == "1"
            assert answer.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
            assert requests.get(f"{server.url}/health", timeout=5).ok  # not an API call
            listing = pool.submit(lambda: list(server.sdk().jobs.list()))
            time.sleep(1.5)
            assert not listing.done()  # the SDK is waiting out Retry-After
        assert listing.result(timeout=30) == []  # the slot came free: its retry got in
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_server(server)
