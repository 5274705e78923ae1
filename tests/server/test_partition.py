"""Two servers on two hosts (network namespaces) and a PostgreSQL on a third: one
server's link is cut, not stopped. The other takes over what it had accepted once the
run lease ran out, a schedule's ticks fire once each throughout, and when the link comes
back the first server finds its runs taken and runs none of them (fencing by the store)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.hosts import Network, network, postgres_on
from tests.server.conftest import Server, create_token, start_server, stop_server, wait_run

LEASE_SECONDS = 8
TAKEOVER_SECONDS = 5  # how often a server looks for runs to take over (engine/service.py)


def job(name: str, marker: Path, **settings: object) -> dict:
    return {"name": name, "max_concurrent_runs": 1, "queue": {"enabled": True},
            "parameters": [{"name": "seconds", "default": "1"}],
            "tasks": [{"task_key": "work", "python_task": {
                "function": "tests.engine.funcs:mark_and_sleep",
                "parameters": {"marker": str(marker), "run": "{{job.run_id}}",
                               "seconds": "{{job.parameters.seconds}}"}}}], **settings}


@contextmanager
def servers_on_hosts(folder: Path, net: Network, url: str) -> Iterator[list[Server]]:
    """A server on each of hosts `a` and `b`, listening on its host's address."""
    token = create_token(folder / "a", PODIUM_DATABASE_URL=url)
    servers = []
    try:
        for name in ("a", "b"):
            home = folder / name
            home.mkdir(exist_ok=True)
            (home / "token").write_text(token)
            servers.append(start_server(
                home, 0, "--host", net[name].address, launch=net[name].command,
                PODIUM_DATABASE_URL=url, PODIUM_RUN_LEASE_SECONDS=str(LEASE_SECONDS)))
        yield servers
    finally:
        for server in servers:
            stop_server(server)


def fired_ticks(url: str, job_id: int) -> list[tuple]:
    """The ticks of a job's schedule as stored: due time, state, run, reason."""
    engine = create_engine(url)
    with engine.connect() as db:
        ticks = db.execute(text(
            "SELECT due_ms, state, run_id, reason FROM trigger_ticks WHERE job_id = :j "
            "ORDER BY due_ms"), {"j": job_id}).all()
    engine.dispose()
    return list(ticks)


def life(server: Server, run_id: int) -> str:
    return server.get("/api/2.1/jobs/runs/get", run_id=run_id).json()["state"][
        "life_cycle_state"]


def test_a_server_cut_off_loses_its_runs_to_the_other_and_is_fenced(tmp_path: Path) -> None:
    marker, ticks_marker = tmp_path / "started", tmp_path / "ticks"
    with network("a", "b") as net, postgres_on(net.gateway) as url, \
            servers_on_hosts(tmp_path, net, url) as (a, b):
        work = a.post("/api/2.1/jobs/create", job("work", marker)).json()["job_id"]
        ticking = a.post("/api/2.1/jobs/create", job("tick", ticks_marker, schedule={
            "quartz_cron_expression": "*/10 * * * * ?", "timezone_id": "UTC"})).json()["job_id"]
        running = a.post("/api/2.1/jobs/run-now", {
            "job_id": work, "job_parameters": {"seconds": "20"}}).json()["run_id"]
        waiting = [a.post("/api/2.1/jobs/run-now", {"job_id": work}).json()["run_id"]
                   for _ in range(2)]
        while life(a, running) != "RUNNING":
            time.sleep(0.1)
        assert [life(a, r) for r in waiting] == ["QUEUED", "QUEUED"]

        net["a"].cut()
        cut_at = time.monotonic()
        for run_id in waiting:  # b takes them over once a's lease ran out, and runs them
            assert wait_run(b, run_id, timeout=90)["state"]["result_state"] == "SUCCESS"
        taken_after = time.monotonic() - cut_at
        swept = wait_run(b, running, timeout=30)
        assert swept["state"]["life_cycle_state"] == "INTERNAL_ERROR"
        assert "(pid" in swept["state"]["state_message"] and " on a)" in \
            swept["state"]["state_message"]

        net["a"].mend()
        deadline = time.monotonic() + 60
        while "was taken over by another podium process" not in a.log.read_text():
            assert time.monotonic() < deadline, a.log.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(4)  # room for a to do what it must not: write or start those runs
        assert b.get("/api/2.1/jobs/runs/get", run_id=running).json()["state"] == \
            swept["state"], "a wrote a run b had taken"
        started = marker.read_text().split("\n")
        assert sorted(line for line in started if line) == sorted(
            [f"{running} a"] + [f"{r} b" for r in waiting]), "a run started twice"
        assert a.get("/health").ok

        repaired = b.post("/api/2.1/jobs/runs/repair", {
            "run_id": running, "rerun_all_failed_tasks": True,
            "job_parameters": {"seconds": "0"}})
        assert repaired.ok, repaired.text
        assert wait_run(b, running)["state"]["result_state"] == "SUCCESS"

        deadline, ticks = time.monotonic() + 45, []
        while sum(state == "FIRED" for _, state, _, _ in ticks) < 3:  # one each 10 s at most
            assert time.monotonic() < deadline, ticks
            time.sleep(1)
            ticks = fired_ticks(url, ticking)
        for _, state, run_id, _ in ticks:
            if state == "FIRED":
                wait_run(b, run_id)
        tick_runs = [line.split()[0] for line in ticks_marker.read_text().split("\n") if line]
        fired = [(due, run_id) for due, state, run_id, _ in ticks if state == "FIRED"]
        assert sorted(map(int, tick_runs)) == sorted(run_id for _, run_id in fired), \
            "a tick fired twice, or a tick's run started twice"
        assert taken_after < LEASE_SECONDS + TAKEOVER_SECONDS + 20
