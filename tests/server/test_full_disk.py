"""A full disk: `PODIUM_HOME` (the store, the logs) on a small file system of its own that
a task's log fills. The task fails saying its log could not be written, the server keeps
answering (503 for what needs a write the disk cannot take, never 500), the store is not
corrupted, and freeing space is enough to go on."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.server.conftest import Server, create_token, start_server, stop_server

DISK_MB = 8


@contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted at `path`, unmounted afterwards."""
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs",
                           str(path)], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"cannot mount a tmpfs at {path} ({done.stderr.strip()}); this test "
                    "needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True)


def answer(server: Server, method: str, path: str, body: object = None) -> tuple[int, dict]:
    """Status and body of one call; the server must never answer 500."""
    response = server.get(path, **(body or {})) if method == "GET" else server.post(path, body)
    assert response.status_code in (200, 503), (response.status_code, response.text)
    if response.status_code == 503:
        assert response.headers["Retry-After"]
    return response.status_code, response.json()


def ended(server: Server, run_id: int, timeout: float = 90) -> dict:
    """The run's view once it ended, asking through 503s."""
    deadline = time.monotonic() + timeout
    while True:
        status, view = answer(server, "GET", "/api/2.1/jobs/runs/get", {"run_id": run_id})
        if status == 200 and view["state"]["life_cycle_state"] in (
                "TERMINATED", "INTERNAL_ERROR"):
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.5)


def test_a_log_that_fills_the_disk_fails_its_task_and_freeing_space_is_enough(
    tmp_path: Path
) -> None:
    with small_disk(tmp_path / "home", DISK_MB) as home:
        (home / "token").write_text(create_token(home))
        server = start_server(home, logs=tmp_path)
        try:
            job_id = server.post("/api/2.1/jobs/create", {
                "name": "noisy", "parameters": [{"name": "kb", "default": "10"}],
                "tasks": [{"task_key": "talk", "python_task": {
                    "function": "tests.engine.funcs:chatter",
                    "parameters": {"kilobytes": "{{job.parameters.kb}}"}}}]}).json()["job_id"]
            flood = server.post("/api/2.1/jobs/run-now", {
                "job_id": job_id, "job_parameters": {"kb": str(DISK_MB * 2048)}}).json()["run_id"]

            deadline = time.monotonic() + 60
            while subprocess.run(["df", "--output=avail", str(home)], capture_output=True,
                                 text=True).stdout.split()[-1] != "0":
                assert time.monotonic() < deadline, "the log never filled the disk"
                time.sleep(0.2)
            for _ in range(10):  # the disk is full: the server answers all the same
                assert server.get("/health").ok
                answer(server, "GET", "/api/2.1/jobs/runs/list", {"job_id": job_id})
                answer(server, "POST", "/api/2.1/jobs/run-now",
                       {"job_id": job_id, "idempotency_token": "while-full"})
                time.sleep(0.2)

            for log in (home / "logs").rglob("*.log"):  # free the space
                if log.stat().st_size > 1_000_000:
                    log.unlink()
            failed = ended(server, flood)
            task = failed["tasks"][0]
            assert failed["state"]["result_state"] == "FAILED"
            assert "its log could not be written" in task["state"]["state_message"]
            assert "No space left on device" in task["state"]["state_message"]

            later = server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
            assert ended(server, later)["state"]["result_state"] == "SUCCESS"
            assert server.proc.poll() is None
        finally:
            stop_server(server)
        with sqlite3.connect(home / "podium.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT count(*) FROM runs WHERE life IN "
                              "('PENDING', 'QUEUED', 'RUNNING')").fetchone() == (0,)
