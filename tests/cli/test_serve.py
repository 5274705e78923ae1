"""`podium serve`'s command line refuses what it cannot serve with one located line and
exit code 2, before it starts anything."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.server.conftest import PODIUM, env_for


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
