"""The Jobs API under load: many clients at once calling run-now on a warm `podium serve`
(its cluster already up), on SQLite and on PostgreSQL.

For each store: `--clients` threads share `--runs` run-now requests of a job with one
notebook task (one cell: a small Spark count); then every run is awaited. Reports the
answer time of run-now (median, p90, p99, max), the runs ended per second from the first
request to the last run's end, and checks that every run succeeded, none lost or doubled.
First, as the floor of the HTTP stack under the same load, as many `jobs/get` calls (a
token check, one row, its JSON) from as many clients; and before any load, one client's
`jobs/get` calls one after the other on one kept-alive connection, as databricks-sdk
makes them.
Then the same clients at a sustained rate (`--rate` run-nows a second for `--seconds`,
open loop: each request is sent at its scheduled time whatever the answers before it,
and its answer time counts from that time, so a slow answer cannot hide the requests
queued behind it): the answer times and whether the runs kept up (runs ended a second,
and how long after the last request the last run ended). The burst shows the server's
ceiling (64 clients that never pause: by Little's law the answer time is 64 over the
requests answered a second); the sustained rate shows the answer time at a load it
can carry.
Writes bench/results/api_load.json. PostgreSQL is the one `make test` starts (or
PODIUM_TEST_DATABASE_URL); a schema of its own is made and dropped.
Usage: python bench/api_load.py [--clients 64] [--runs 300] [--rate 10] [--seconds 30]
       [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).parent
PODIUM = [sys.executable, "-m", "podium"]
PG_SERVER = os.environ.get("PODIUM_TEST_DATABASE_URL",
                           "postgresql+psycopg://podium:podium@127.0.0.1:5432/podium_test")
NOTEBOOK = "# Databricks notebook source\nrows = spark.range(10).count()\n"
BUNDLE = """bundle: {name: api-load}
resources:
  jobs:
    one_cell:
      max_concurrent_runs: 1000
      tasks:
        - {task_key: cell, notebook_task: {notebook_path: ./cell.py}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Server:
    """`podium serve` on a fresh workspace (and store) with `bundle` deployed; `job` is the
    deployed job's key. Also used by seed_experiment.py's warm mode."""

    def __init__(self, work: Path, bundle: Path, job: str, database_url: str | None = None):
        self.env = {**os.environ, "PODIUM_HOME": str(work / "home")}
        if database_url:
            self.env["PODIUM_DATABASE_URL"] = database_url
        token = subprocess.run([*PODIUM, "tokens", "create"], env=self.env, check=True,
                               capture_output=True, text=True).stdout.strip()
        deployed = subprocess.run([*PODIUM, "deploy", "--bundle", str(bundle), "--json"],
                                  env=self.env, check=True, capture_output=True, text=True)
        self.job_id = json.loads(deployed.stdout)["jobs"][job]
        port = free_port()
        self.log = (work / "serve.log").open("wb")
        self.proc = subprocess.Popen([*PODIUM, "serve", "--port", str(port)], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.RequestException:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"podium serve did not start (log: {work}/serve.log)") \
                        from None
                time.sleep(0.1)

    def wait_run(self, run_id: int, poll: float = 0.02) -> dict:
        """The run's state once it ended (runs/get every `poll` seconds)."""
        while True:
            state = requests.get(f"{self.url}/api/2.2/jobs/runs/get",
                                 params={"run_id": run_id}, headers=self.headers,
                                 timeout=60).json()["state"]
            if state["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
                return state
            time.sleep(poll)

    def get_job(self, session: requests.Session) -> None:
        """jobs/get of the deployed job: a token check, one row, its JSON."""
        session.get(f"{self.url}/api/2.2/jobs/get", params={"job_id": self.job_id},
                    headers=self.headers, timeout=60).raise_for_status()

    def run_now(self, session: requests.Session) -> int:
        answer = session.post(f"{self.url}/api/2.2/jobs/run-now", json={"job_id": self.job_id},
                              headers=self.headers, timeout=60)
        answer.raise_for_status()
        return int(answer.json()["run_id"])

    def runs(self) -> list[dict]:
        """Every run of the job (API 2.2 pages of 25)."""
        found, token = [], None
        while True:
            params = {"job_id": self.job_id, "limit": 25, **({"page_token": token} if token
                                                             else {})}
            page = requests.get(f"{self.url}/api/2.2/jobs/runs/list", params=params,
                                headers=self.headers, timeout=60).json()
            found += page.get("runs", [])
            token = page.get("next_page_token")
            if not token:
                return found

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active = requests.get(f"{self.url}/api/2.2/jobs/runs/list",
                                  params={"job_id": self.job_id, "active_only": "true"},
                                  headers=self.headers, timeout=60).json().get("runs", [])
            if not active:
                return
            time.sleep(0.5)
        raise SystemExit(f"runs still active after {timeout:.0f} s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.log.close()


@dataclass
class Tally:
    """The answer times, answers and errors of calls made from many client threads."""

    latencies: list[float] = field(default_factory=list)
    answers: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def make(self, call, session: requests.Session, since: float) -> None:
        """Make one call; its answer time counts from `since`."""
        try:
            answer = call(session)
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(str(exc))
            return
        with self.lock:
            self.latencies.append(time.perf_counter() - since)
            self.answers.append(answer)

    def result(self) -> tuple[list[float], list, list[str]]:
        return self.latencies, self.answers, self.errors


def _run_clients(client, clients: int) -> None:
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def burst(call, clients: int, count: int) -> tuple[list[float], list, list[str]]:
    """`count` calls of `call(session)` from `clients` threads released at once: each
    call's answer time, what the calls returned, and the errors."""
    tally, left, ready = Tally(), iter(range(count)), threading.Barrier(clients)

    def client(_: int) -> None:
        session = requests.Session()
        ready.wait()
        while True:
            with tally.lock:
                if next(left, None) is None:
                    return
            tally.make(call, session, time.perf_counter())

    _run_clients(client, clients)
    return tally.result()


def paced(call, clients: int, rate: float, seconds: float) -> tuple[list[float], list, list[str]]:
    """`rate * seconds` calls of `call(session)` at evenly spaced times, shared round-robin
    by `clients` threads (open loop): each call's answer time from its scheduled send
    time, what the calls returned, and the errors."""
    tally, count, start = Tally(), int(rate * seconds), time.perf_counter() + 0.5

    def client(first: int) -> None:
        session = requests.Session()
        for i in range(first, count, clients):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            tally.make(call, session, due)

    _run_clients(client, clients)
    return tally.result()


def outcome(server: Server, run_ids: list[int], first_ms: float) -> dict:
    """Whether every run of `run_ids` succeeded, none lost or doubled, and how fast they
    ended: runs ended a second from `first_ms` to the last end."""
    wanted = set(run_ids)
    mine = [r for r in server.runs() if r["run_id"] in wanted]
    results = [r["state"].get("result_state") for r in mine]
    last_ms = max(r.get("end_time", 0) for r in mine) if mine else first_ms
    return {"runs_per_s": len(mine) / max(0.001, (last_ms - first_ms) / 1000),
            "last_end_ms": last_ms, "succeeded": results.count("SUCCESS"),
            "listed": len(mine), "distinct_ids": len(set(run_ids))}


def timings(latencies: list[float]) -> dict:
    return {"median": statistics.median(latencies) * 1000,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000, "max": max(latencies) * 1000}


def one_client(server: Server, calls: int = 200) -> list[float]:
    """`calls` jobs/get one after the other on one kept-alive connection: each answer time."""
    session, latencies = requests.Session(), []
    for _ in range(calls):
        began = time.perf_counter()
        server.get_job(session)
        latencies.append(time.perf_counter() - began)
    return latencies


def load(server: Server, clients: int, runs: int, rate: float, seconds: float) -> dict:
    """First one client alone, then the floor: `runs` jobs/get (a read: auth, one row,
    JSON) from `clients` threads at once; then `runs` run-now requests the same way; then
    run-nows from as many clients at `rate` a second for `seconds`; what they measured."""
    alone = one_client(server)
    floor, _, _ = burst(server.get_job, clients, runs)
    first_ms = time.time() * 1000
    latencies, run_ids, errors = burst(server.run_now, clients, runs)
    server.wait_idle(timeout=30 + runs)
    measured = {
        "clients": clients, "runs": runs, "errors": len(errors),
        "run_now_ms": timings(latencies), "jobs_get_ms": timings(floor),
        "jobs_get_one_client_ms": timings(alone),
        **outcome(server, run_ids, first_ms),
    }
    first_ms = time.time() * 1000
    latencies, run_ids, errors = paced(server.run_now, clients, rate, seconds)
    last_sent_ms = first_ms + 500 + (len(run_ids) + len(errors) - 1) / rate * 1000
    server.wait_idle(timeout=30 + rate * seconds)
    ended = outcome(server, run_ids, first_ms)
    measured["sustained"] = {
        "rate": rate, "seconds": seconds, "runs": len(run_ids), "errors": len(errors),
        "run_now_ms": timings(latencies),
        "last_run_after_last_request_s": (ended.pop("last_end_ms") - last_sent_ms) / 1000,
        **ended,
    }
    measured.pop("last_end_ms")
    return measured


def postgres_schema() -> tuple[str, object]:
    """A fresh schema on the test PostgreSQL: its URL and a function that drops it."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER)
    with admin.begin() as db:
        db.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as db:
            db.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{PG_SERVER}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0,
                        help="run-nows a second in the sustained part")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podium-api-load-"))
    stores: dict[str, dict] = {}
    try:
        for store in args.stores.split(","):
            url, drop = postgres_schema() if store == "postgresql" else (None, None)
            bundle = work / store / "bundle"
            bundle.mkdir(parents=True)
            (bundle / "databricks.yml").write_text(BUNDLE)
            (bundle / "cell.py").write_text(NOTEBOOK)
            server = Server(work / store, bundle, "one_cell", url)
            try:
                print(f"{store}: warming the cluster ...", flush=True)
                first = server.run_now(requests.Session())
                server.wait_idle(timeout=300)
                print(f"{store}: {args.runs} run-now from {args.clients} clients "
                      f"(first run {first}) ...", flush=True)
                stores[store] = load(server, args.clients, args.runs, args.rate,
                                     args.seconds)
            finally:
                server.stop()
                if drop is not None:
                    drop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'store':<11} {'call':<9} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} "
          f"{'runs/s':>7} {'ok':>9}")
    for store, m in stores.items():
        t = m["jobs_get_one_client_ms"]
        print(f"{store:<11} {'1 client':<9} {t['median']:>6.1f}ms {t['p90']:>6.1f}ms "
              f"{t['p99']:>6.1f}ms {t['max']:>6.1f}ms")
        t = m["jobs_get_ms"]
        print(f"{store:<11} {'jobs/get':<9} {t['median']:>6.0f}ms {t['p90']:>6.0f}ms "
              f"{t['p99']:>6.0f}ms {t['max']:>6.0f}ms")
        t = m["run_now_ms"]
        print(f"{store:<11} {'run-now':<9} {t['median']:>6.0f}ms {t['p90']:>6.0f}ms "
              f"{t['p99']:>6.0f}ms {t['max']:>6.0f}ms {m['runs_per_s']:>7.1f} "
              f"{m['succeeded']:>4}/{m['runs']}"
              + (f"  {m['errors']} errors" if m["errors"] else "")
              + ("" if m["distinct_ids"] == m["listed"] == m["runs"] else
                 f"  ids {m['distinct_ids']}, listed {m['listed']}"))
        s = m["sustained"]
        t, paced_call = s["run_now_ms"], f"{s['rate']:g}/s"
        print(f"{store:<11} {paced_call:<9} {t['median']:>6.0f}ms {t['p90']:>6.0f}ms "
              f"{t['p99']:>6.0f}ms {t['max']:>6.0f}ms {s['runs_per_s']:>7.1f} "
              f"{s['succeeded']:>4}/{s['runs']}  last run ended "
              f"{s['last_run_after_last_request_s']:.1f} s after the last request"
              + (f"  {s['errors']} errors" if s["errors"] else "")
              + ("" if s["distinct_ids"] == s["listed"] == s["runs"] else
                 f"  ids {s['distinct_ids']}, listed {s['listed']}"))
    (HERE / "results" / "api_load.json").write_text(
        json.dumps({"clients": args.clients, "runs": args.runs, "rate": args.rate,
                    "seconds": args.seconds, "stores": stores}, indent=2)
        + "\n")


if __name__ == "__main__":
    main()
