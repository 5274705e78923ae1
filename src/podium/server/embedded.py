"""The workspace API served by a `podium run` for its own tasks: the same app as `podium
serve`'s, on a free loopback port, started the first time a task asks for
`DATABRICKS_HOST` and served until the process ends. Runs it accepts (a controller's
`run-now`) go to the process's own loop (`engine.service.Intake`), on its clusters."""

from __future__ import annotations

import threading
import time
from typing import Any

from podium.engine.service import Intake
from podium.engine.workspace_access import WorkspaceAccess
from podium.store import RunStore

START_TIMEOUT_SECONDS = 30.0


class EmbeddedApi:
    """Starts the API once, on demand; its address."""

    def __init__(self, store: RunStore, intake: Intake):
        self.store, self.intake = store, intake
        self.access: WorkspaceAccess | None = None
        self._url: str | None = None
        self._lock = threading.Lock()

    def url(self) -> str:
        """The API's address, serving it now if it is not yet."""
        with self._lock:
            if self._url is None:
                self._url = self._start()
            return self._url

    def _start(self) -> str:
        import uvicorn

        from podium.server.app import create_app
        from podium.server.auth import Authenticator
        from podium.server.workspace import Workspace

        ws = Workspace(self.store, self.intake, Authenticator(self.store), access=self.access)
        server = uvicorn.Server(uvicorn.Config(create_app(ws), host="127.0.0.1", port=0,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="podium-embedded-api", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the workspace API for this run's tasks did not start")
            time.sleep(0.02)
        port = _port(server)
        return f"http://127.0.0.1:{port}"


def _port(server: Any) -> int:
    for listening in server.servers:
        for sock in listening.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("the workspace API for this run's tasks has no socket")
