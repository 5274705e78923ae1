"""Errors as Databricks answers them: `{"error_code": ..., "message": ...}` with the
matching HTTP status, so clients raise their own classes (databricks-sdk's `NotFound`,
`InvalidParameterValue`, ...). No traceback ever reaches a client."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from podium.compute.errors import CatalogError
from podium.runtime.secret_store import SecretError
from podium.store.errors import StoreUnavailable, unreachable
from podium.store.workspace_files import WorkspaceError

log = logging.getLogger("podium.server")
RETRY_AFTER_SECONDS = 5  # what a client is told to wait while the database is away
QUIET_SECONDS = 10.0  # at most one "database unavailable" line per this many seconds


class Quiet:
    """A warning logged at most once per QUIET_SECONDS, the next one saying how many were
    held back: during an outage every request would otherwise log its own line."""

    def __init__(self, every: float = QUIET_SECONDS):
        self.every, self.last, self.held = every, float("-inf"), 0

    def warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            self.held += 1
            return
        more = f" (and {self.held} more like it since the last such line)" if self.held else ""
        log.warning("%s%s", message, more)
        self.last, self.held = now, 0


quiet = Quiet()


class ApiError(Exception):
    """An answer other than 200: status, Databricks error code and a message."""

    def __init__(self, status: int, error_code: str, message: str,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message
        self.headers = headers or {}


def invalid(message: str) -> ApiError:
    """400 INVALID_PARAMETER_VALUE."""
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    """404 RESOURCE_DOES_NOT_EXIST."""
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def answer(status: int, error_code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    """A Databricks-shaped error response."""
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status,
                        headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query")]
    return ".".join(parts) or "request"


def validation_error(first: dict[str, Any]) -> ApiError:
    """The 400 for the first problem pydantic found in a request (MALFORMED_REQUEST when
    it is not JSON), naming the field."""
    field = _field(tuple(first.get("loc", ())))
    if first.get("type") == "json_invalid":
        return ApiError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the "
                        "request")
    if first.get("type") == "extra_forbidden":
        message = f"Invalid parameter '{field}': the request does not take it"
    elif first.get("type") == "missing":
        message = f"Missing required field: {field}"
    else:
        message = f"Invalid value for '{field}': {first.get('msg')}"
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


CODE_STATUS = {"RESOURCE_DOES_NOT_EXIST": 404, "RESOURCE_ALREADY_EXISTS": 409,
               "PERMISSION_DENIED": 403}


def coded(code: str, message: str) -> ApiError:
    """An error whose Databricks code says its status: listed, or 404 for `..._DOES_NOT_EXIST`,
    409 for `..._ALREADY_EXISTS`, else 400."""
    status = CODE_STATUS.get(code) or (404 if code.endswith("_DOES_NOT_EXIST") else
                                       409 if code.endswith("_ALREADY_EXISTS") else 400)
    return ApiError(status, code, message)


def install(app: FastAPI) -> None:
    """Answer every failure of `app` in Databricks' shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return answer(exc.status, exc.error_code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = validation_error(exc.errors()[0])
        return answer(error.status, error.error_code, error.message)

    async def _coded(request: Request, exc: Exception) -> JSONResponse:
        # the workspace's own errors (workspace files, secrets) carry Databricks' code
        error = coded(exc.code, str(exc))
        return answer(error.status, error.error_code, error.message)

    for kind in (WorkspaceError, SecretError, CatalogError):
        app.add_exception_handler(kind, _coded)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return answer(404, "ENDPOINT_NOT_FOUND",
                          f"No API found for '{request.method} {request.url.path}'")
        if exc.status_code == 405:
            return answer(405, "BAD_REQUEST", f"{request.method} is not allowed on "
                          f"{request.url.path}")
        return answer(exc.status_code, "BAD_REQUEST", str(exc.detail))

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if not unreachable(exc):
            return await _unexpected(request, exc)
        # the database is away: the client should come back later
        quiet.warn(f"database unavailable on {request.method} {request.url.path}: "
                   f"{str(exc).splitlines()[0]}")
        return answer(503, "TEMPORARILY_UNAVAILABLE", "The workspace's database cannot be "
                      "reached or written now; retry after the time in Retry-After",
                      {"Retry-After": str(RETRY_AFTER_SECONDS)})

    for kind in (SQLAlchemyError, StoreUnavailable):
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return answer(500, "INTERNAL_ERROR", f"Internal error: {type(exc).__name__}; the "
                      "server log has the details")
