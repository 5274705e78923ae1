"""What every request handler of one server shares: the store, the engine service, the
authenticator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from podium.engine.model import Run
from podium.engine.service import Intake
from podium.engine.workspace_access import WorkspaceAccess
from podium.server.auth import Authenticator
from podium.store import RunStore

if TYPE_CHECKING:
    from podium.server.connect_proxy import ConnectProxy


@dataclass
class Workspace:
    """The server's state, on `app.state.workspace`: the store, the loop runs are handed
    to (`podium serve`'s service, or a `podium run`'s own), the authenticator, and what
    gives tasks their credentials."""

    store: RunStore
    service: Intake
    auth: Authenticator
    access: WorkspaceAccess | None = None
    draining: bool = False
    connect: ConnectProxy | None = None  # Spark Connect on the server's port


def workspace(request: Request) -> Workspace:
    """The workspace of the app serving `request`."""
    return request.app.state.workspace


async def user(request: Request) -> str:
    """The authenticated user of `request` (401/403 otherwise); a FastAPI dependency.
    On the event loop: a token checked lately costs no hop to a worker thread."""
    auth = workspace(request).auth
    token = auth.bearer(request)
    return auth.remembered(token) or await run_in_threadpool(auth.check, token)


def caller_run(request: Request) -> Run | None:
    """The run whose task sent `request` with the token it was given, when this process
    runs it (a controller notebook calling the API)."""
    ws = workspace(request)
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    run_id = ws.access.run_of(token) if ws.access is not None and token else None
    return ws.service.run(run_id) if run_id is not None else None
