"""`podium serve`'s command line refuses what it cannot serve with one located line and
exit code 2, before it starts anything; a running one prints its threads on SIGUSR1."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.server.conftest import PODIUM, env_for, start_server, stop_server


def serve(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODIUM, "serve", *args], capture_output=True, text=True,
                          env=env_for(home), timeout=60)


def test_a_taken_port_a_lone_cert_and_an_unusable_pair_are_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = serve(tmp_path, "--port", str(port))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"--port: error: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "0 picks a free one" in done.stderr

    done = serve(tmp_path, "--port", "0", "--cert", str(tmp_path / "cert.pem"))
    assert done.returncode == 2 and "--key: error: --cert and --key go together" in done.stderr

    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    done = serve(tmp_path, "--port", "0", "--cert", str(tmp_path / "cert.pem"),
                 "--key", str(tmp_path / "key.pem"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"--cert: error: cannot use {tmp_path / 'cert.pem'}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_sigusr1_prints_every_threads_stack_and_the_server_goes_on(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        server.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while "most recent call first" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.2)
        assert server.get("/api/2.1/jobs/list").status_code == 200  # still serving
    finally:
        assert stop_server(server) == 0
    dump = server.log.read_text()
    assert "Current thread" in dump or "Thread 0x" in dump
    assert 'File "' in dump and "uvicorn" in dump  # the server's own frames
