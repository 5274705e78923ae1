"""What every request handler of one server shares: the store, the engine service, the
authenticator."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from podium.engine.service import Service
from podium.server.auth import Authenticator
from podium.store import RunStore


@dataclass
class Workspace:
    """The server's state, on `app.state.workspace`."""

    store: RunStore
    service: Service
    auth: Authenticator
    draining: bool = False


def workspace(request: Request) -> Workspace:
    """The workspace of the app serving `request`."""
    return request.app.state.workspace


def user(request: Request) -> str:
    """The authenticated user of `request` (401/403 otherwise); a FastAPI dependency."""
    return workspace(request).auth.user(request)
