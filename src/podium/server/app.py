"""The ASGI app of `podium serve`: the Databricks APIs over one engine service."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from podium import __version__
from podium.server import (
    clusters,
    command_execution,
    dbfs,
    errors,
    files_api,
    jobs,
    pipelines,
    policies,
    runs,
    scim,
    secrets,
    sql_statements,
    sql_warehouses,
    tokens,
    unity_catalog,
    workspace_files,
)
from podium.server.ui import pages as ui_pages
from podium.server.workspace import Workspace

MAX_BODY_BYTES = 10 * 1024 * 1024  # the Jobs API's documented request limit
STREAMED = "/api/2.0/fs/files/"  # uploads of any size, streamed to disk


def create_app(ws: Workspace, max_requests: int = 64) -> FastAPI:
    """The app for one workspace: Jobs API 2.1 and 2.2, Clusters, Cluster Policies,
    Pipelines, Token, Workspace, DBFS, Files, Unity Catalog, SQL Warehouses, Statement
    Execution, Command Execution, Secrets and SCIM APIs, health, discovery, and the web UI.
    Beyond `max_requests` API requests at once, more get 429 with Retry-After, which
    Databricks clients wait out and retry."""
    app = FastAPI(title="podium", version=__version__,
                  description="A Databricks-compatible workspace on reused Spark compute.")
    app.state.workspace = ws
    errors.install(app)
    for version in ("2.1", "2.2"):
        app.include_router(jobs.router, prefix=f"/api/{version}")
        app.include_router(runs.router, prefix=f"/api/{version}")
    for version in ("2.0", "2.1"):
        app.include_router(clusters.router, prefix=f"/api/{version}")
    app.include_router(tokens.router)
    app.include_router(workspace_files.router)
    app.include_router(dbfs.router)
    app.include_router(files_api.router)
    app.include_router(scim.router)
    app.include_router(secrets.router)
    app.include_router(policies.router)
    app.include_router(pipelines.router)
    app.include_router(unity_catalog.router)
    app.include_router(sql_warehouses.router)
    app.include_router(sql_statements.router)
    app.include_router(command_execution.router)
    ui_pages.install(app)  # the web UI at /

    app.add_middleware(Limits, ws=ws, max_requests=max_requests)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "draining" if ws.draining else "ok", "version": __version__}

    @app.get("/.well-known/databricks-config", include_in_schema=False)
    async def databricks_config() -> dict[str, object]:
        # What databricks-sdk asks first: a workspace host (it has a workspace_id) that
        # offers no OAuth (an empty oidc_endpoint), so clients use their tokens.
        return {"workspace_id": "1", "oidc_endpoint": ""}

    return app


class Limits:
    """What every request meets first: a body over the documented limit gets 413, a POST
    while draining 503, and past `max_requests` API requests at once 429 with
    Retry-After. Plain ASGI (Starlette's `@app.middleware` wraps every response in a
    stream and a task, which cost a tenth of a small request)."""

    def __init__(self, app: ASGIApp, ws: Workspace, max_requests: int):
        self.app, self.ws, self.max_requests = app, ws, max_requests
        self.in_flight = 0  # changed on the event loop only: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        length = dict(scope["headers"]).get(b"content-length", b"")
        refusal = None
        if length.isdigit() and int(length) > MAX_BODY_BYTES and not path.startswith(STREAMED):
            refusal = errors.answer(413, "REQUEST_LIMIT_EXCEEDED", f"The request body is "
                                    f"{length.decode()} bytes; the limit is {MAX_BODY_BYTES}")
        elif self.ws.draining and scope["method"] == "POST":
            refusal = errors.answer(503, "TEMPORARILY_UNAVAILABLE", "The server is shutting "
                                    "down", {"Retry-After": "5"})
        elif path.startswith("/api/") and self.in_flight >= self.max_requests:
            refusal = errors.answer(429, "REQUEST_LIMIT_EXCEEDED", f"More than "
                                    f"{self.max_requests} requests at once "
                                    "(PODIUM_MAX_CONCURRENT_REQUESTS); retry after the time "
                                    "in Retry-After", {"Retry-After": "1"})
        if refusal is not None:
            return await refusal(scope, receive, send)
        if not path.startswith("/api/"):
            return await self.app(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
