"""The database goes away under a working server, while runs are active and clients call
the API: a TCP relay between `podium serve` and the test PostgreSQL is cut (every
connection dropped, new ones refused, as when the database restarts or its host is
unreachable), or another process holds SQLite's write lock past the busy timeout; then
it comes back. The server stays up, answers 503 with Retry-After meanwhile (never 500),
running tasks go on, and every run ends once the database is back: none lost, none
stuck RUNNING, none doubled."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.postgres import fresh_schema
from tests.server.conftest import Server, create_token, start_server, stop_server, wait_run

OUTAGE_SECONDS = 8


class Relay:
    """A TCP relay on a loopback port to `upstream`; `cut()` drops every connection and
    refuses new ones until `restore()`."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self.links: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            # Linux wakes an accept() blocked in another thread only on shutdown; a close
            # alone leaves it blocked, and it would still let one connection through
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self.lock:
            links, self.links = self.links, []
        for link in links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            if self.listener is not listener:  # accepted as the relay was being cut
                client.close()
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relayed_server(tmp_path) -> Iterator[tuple[Server, Relay]]:
    with fresh_schema() as url:
        parts = urlsplit(url.replace("+psycopg", ""))
        relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
        relayed = url.replace(f"@{parts.hostname}:{parts.port}", f"@127.0.0.1:{relay.port}")
        home = tmp_path / "home"
        home.mkdir()
        (home / "token").write_text(create_token(home, PODIUM_DATABASE_URL=relayed))
        server = start_server(home, PODIUM_DATABASE_URL=relayed)
        try:
            yield server, relay
        finally:
            if relay.listener is None:
                relay.restore()  # the server drains through the database
            stop_server(server)
            relay.cut()


def test_postgresql_going_away_costs_no_run_and_no_500(relayed_server) -> None:
    server, relay = relayed_server
    outage(server, relay.cut, relay.restore)


def test_a_locked_sqlite_file_costs_no_run_and_no_500(tmp_path) -> None:
    home = tmp_path / "home"
    server = start_server(home, PODIUM_SQLITE_BUSY_MS="1500")
    holder: list[subprocess.Popen[str]] = []
    hold = ("import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"
            "db.execute('ROLLBACK')\n")

    def lock() -> None:
        holder.append(subprocess.Popen([sys.executable, "-c", hold, str(home / "podium.db")],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True))
        assert holder[0].stdout.readline().strip() == "locked"

    def unlock() -> None:
        holder[0].communicate("", timeout=30)

    try:
        outage(server, lock, unlock)
    finally:
        if holder and holder[0].poll() is None:
            holder[0].kill()
        stop_server(server)


def outage(server: Server, away, back) -> None:
    """Runs active, the database taken `away` for OUTAGE_SECONDS while clients call the
    API, then `back`: check what the server answered and that every run ended well."""
    tasks = [{"task_key": "nap", "python_task": {"function": "tests.engine.funcs:sleep",
                                                   "parameters": {"seconds": "6"}}}]
    job_id = server.post("/api/2.1/jobs/create", {"name": "outage", "tasks": tasks,
                                                  "max_concurrent_runs": 10}).json()["job_id"]
    run_ids = [server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
               for _ in range(3)]
    deadline = time.monotonic() + 60
    while any(server.get("/api/2.1/jobs/runs/get", run_id=r).json()["state"][
            "life_cycle_state"] != "RUNNING" for r in run_ids):
        assert time.monotonic() < deadline
        time.sleep(0.2)

    away()
    statuses, accepted = [], []
    ended = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < ended:  # clients keep calling while the database is away
        for call in (lambda: server.get("/api/2.1/jobs/runs/get", run_id=run_ids[0]),
                     lambda: server.post("/api/2.1/jobs/run-now", {"job_id": job_id})):
            answer = call()
            statuses.append(answer.status_code)
            if answer.status_code == 503:
                assert answer.headers["Retry-After"] == "5"
                assert answer.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            elif answer.status_code == 200 and "run_id" in answer.json() and \
                    "state" not in answer.json():
                accepted.append(answer.json()["run_id"])  # a run-now the store took
        time.sleep(0.5)
    assert 503 in statuses and 500 not in statuses, statuses
    assert server.proc.poll() is None  # the server stayed up
    back()

    views = [wait_run(server, r, timeout=90) for r in run_ids + accepted]
    assert [v["state"]["result_state"] for v in views] == ["SUCCESS"] * len(views)
    listed = requests.get(f"{server.url}/api/2.2/jobs/runs/list",
                          params={"job_id": job_id, "limit": 25}, headers=server.headers,
                          timeout=30).json()["runs"]
    ids = [r["run_id"] for r in listed]
    assert sorted(ids) == sorted(run_ids + accepted)  # none lost, none doubled
    assert all(r["state"]["life_cycle_state"] == "TERMINATED" for r in listed)
    deadline = time.monotonic() + 10  # the loop says so after the turn that wrote
    while "the database answers again" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()[-3000:]
        time.sleep(0.2)
    log = server.log.read_text()
    assert "the database cannot be reached" in log
    # one line for the outage's requests, not one each (the next says how many it held)
    lines = log.count("database unavailable on")
    assert 1 <= lines <= 2 and lines < statuses.count(503), (lines, statuses.count(503))
