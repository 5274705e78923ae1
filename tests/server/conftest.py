"""A real `podium serve` on a free loopback port, with its own workspace and a token;
what the tests drive with databricks-sdk and plain requests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

PODIUM = [sys.executable, "-m", "podium"]


@dataclass
class Server:
    """A running server: its address, a token, its workspace and process."""

    url: str
    token: str
    home: Path
    proc: subprocess.Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)  # what it was started with

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def verify(self) -> str | bool:
        """What requests trusts: the workspace's own certificate for `--tls`."""
        return trusted(self.url, self.home)

    def get(self, path: str, **params: object) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, headers=self.headers,
                            verify=self.verify, timeout=30)

    def post(self, path: str, body: object) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers=self.headers,
                             verify=self.verify, timeout=30)

    def sdk(self):
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(host=self.url, token=self.token, auth_type="pat")


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """This environment for workspace `home`, without the caller's Databricks
    credentials, plus `extra`."""
    env = {**os.environ, "PODIUM_HOME": str(home)}
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        env.pop(name, None)
    return {**env, **extra}


def create_token(home: Path, **extra: str) -> str:
    """A new token of the workspace at `home` (its database from `extra`, if given)."""
    done = subprocess.run([*PODIUM, "tokens", "create", "--comment", "tests"],
                          capture_output=True, text=True, env=env_for(home, **extra),
                          check=True)
    return done.stdout.strip()


def start_server(home: Path, port: int = 0, *args: str,
                 launch: Callable[[list[str]], list[str]] = list, logs: Path | None = None,
                 **extra: str) -> Server:
    """Start `podium serve` (`args` added to its command line, the whole turned into what
    runs by `launch`: on another host, say), read where it listens from its log (in
    `logs`, else `home`; port 0: a free one, bound by the server itself), wait until
    /health answers."""
    home.mkdir(parents=True, exist_ok=True)
    log = (logs or home) / f"serve-{time.monotonic_ns()}.log"
    with log.open("ab") as sink:
        proc = subprocess.Popen(launch([*PODIUM, "serve", "--port", str(port), *args]),
                                stdout=sink,
                                stderr=sink, env=env_for(home, **extra),
                                start_new_session=True)
    deadline = time.monotonic() + 60
    url: str | None = None
    while True:
        if url is None and (found := re.search(r"listening on (\S+)", log.read_text())):
            url = found.group(1)
        if url is not None and _healthy(url, home):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise RuntimeError(f"podium serve did not start:\n{log.read_text()}")
        time.sleep(0.2)
    token_file = home / "token"
    if not token_file.exists():
        token_file.write_text(create_token(home))
    return Server(url, token_file.read_text(), home, proc, log, dict(extra))


def trusted(url: str, home: Path) -> str | bool:
    """The certificate requests should trust at `url`: the workspace's self-signed one
    for https, the system's otherwise."""
    return str(home / "tls" / "cert.pem") if url.startswith("https") else True


def _healthy(url: str, home: Path) -> bool:
    """Whether the server at `url` answers /health."""
    try:
        return requests.get(f"{url}/health", timeout=2, verify=trusted(url, home)).ok
    except requests.ConnectionError:
        return False


def stop_server(server: Server) -> int:
    """SIGTERM, then wait; the exit code."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(10)
    return server.proc.returncode


@contextmanager
def servers_on_one_database(folder: Path, count: int = 2) -> Iterator[list[Server]]:
    """`count` servers, each with a workspace folder of its own, sharing a fresh schema of
    the test PostgreSQL (its registry, tokens and history); stopped afterwards."""
    from tests.postgres import fresh_schema

    with fresh_schema() as url:
        homes = [folder / f"server{i}" for i in range(count)]
        token = create_token(homes[0], PODIUM_DATABASE_URL=url)
        for home in homes:
            home.mkdir(parents=True, exist_ok=True)
            (home / "token").write_text(token)
        servers = [start_server(home, PODIUM_DATABASE_URL=url) for home in homes]
        try:
            yield servers
        finally:
            for running in servers:
                stop_server(running)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the test session: its clusters stay warm from module to module, as
    a workspace's would, so tests must not assume they are alone in it."""
    home = tmp_path_factory.mktemp("server_home")
    (home / "token").write_text(create_token(home))
    running = start_server(home, PODIUM_IDLE_CLUSTER_SECONDS="600")
    yield running
    stop_server(running)


def wait_run(server: Server, run_id: int, timeout: float = 120) -> dict:
    """Poll runs/get until the run has ended; its view."""
    deadline = time.monotonic() + timeout
    while True:
        view = server.get("/api/2.1/jobs/runs/get", run_id=run_id).json()
        if view["state"]["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
            return view
        assert time.monotonic() < deadline, view["state"]
        time.sleep(0.2)


def wait_task_running(server: Server, run_id: int, timeout: float = 60) -> None:
    """Poll runs/get until the run's first task is RUNNING."""
    deadline = time.monotonic() + timeout
    while server.get("/api/2.1/jobs/runs/get", run_id=run_id).json()["tasks"][0][
            "state"]["life_cycle_state"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)


# Pages in a real headless Chromium (Debian's, driven by Playwright), for every test here.
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "make test installs chromium (scripts/ensure-chromium.sh)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server: Server, tmp_path: Path, request) -> Iterator[object]:
    """A signed-in page; console errors fail the test; a screenshot is kept."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context()
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(f"{server.url}/runs")
    assert "/login" in tab.url  # not signed in yet: the form, returning to /runs
    tab.fill("input[name=token]", server.token)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server.url}/runs")
    yield tab
    try:
        tab.screenshot(path=str(tmp_path / f"{request.node.name}.png"), full_page=True)
    except PlaywrightError as exc:  # a by-product: Chromium sometimes cannot take one
        print(f"no screenshot of {request.node.name}: {exc}")
    context.close()
    assert errors == [], errors
