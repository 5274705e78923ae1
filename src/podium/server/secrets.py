"""The Secrets API (`/api/2.0/secrets/...`): scopes and secrets in `$PODIUM_HOME/secrets`
(owner-only files), what `dbutils.secrets.get` reads. Values never reach a log."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Depends

from podium.runtime import secret_store
from podium.server.bodies import Body
from podium.server.errors import ApiError
from podium.server.workspace import user

router = APIRouter(prefix="/api/2.0/secrets", dependencies=[Depends(user)])

class CreateScope(Body):
    scope: str
    initial_manage_principal: str | None = None
    scope_backend_type: str | None = None
    backend_azure_keyvault: dict[str, Any] | None = None


class ScopeName(Body):
    scope: str


class PutSecret(Body):
    scope: str
    key: str
    string_value: str | None = None
    bytes_value: str | None = None


class SecretKey(Body):
    scope: str
    key: str


@router.post("/scopes/create")
def create_scope(body: CreateScope) -> dict[str, Any]:
    """A new scope (podium keeps every scope itself: backend DATABRICKS)."""
    if body.scope_backend_type not in (None, "DATABRICKS"):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "Only DATABRICKS-backed scopes exist "
                       "here")
    secret_store.create_scope(body.scope)
    return {}


@router.get("/scopes/list")
def list_scopes() -> dict[str, Any]:
    """Every scope."""
    return {"scopes": [{"name": s, "backend_type": "DATABRICKS"}
                       for s in secret_store.scopes()]}


@router.post("/scopes/delete")
def delete_scope(body: ScopeName) -> dict[str, Any]:
    """Delete a scope and its secrets."""
    secret_store.delete_scope(body.scope)
    return {}


@router.post("/put")
def put(body: PutSecret) -> dict[str, Any]:
    """Set a secret from `string_value` or base64 `bytes_value` (exactly one)."""
    if (body.string_value is None) == (body.bytes_value is None):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "Give exactly one of string_value and "
                       "bytes_value")
    if body.bytes_value is not None:
        try:
            value = base64.b64decode(body.bytes_value, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "bytes_value is not valid base64"
                           ) from None
    else:
        value = (body.string_value or "").encode()
    secret_store.put(body.scope, body.key, value)
    return {}


@router.get("/list")
def list_secrets(scope: str) -> dict[str, Any]:
    """The keys of a scope, with when each was last set."""
    return {"secrets": [{"key": k, "last_updated_timestamp": t}
                        for k, t in secret_store.keys(scope)]}


@router.get("/get")
def get(scope: str, key: str) -> dict[str, Any]:
    """A secret's value, base64 (what the SDK's `get_secret` reads)."""
    value = secret_store.get(scope, key)
    return {"key": key, "value": base64.b64encode(value).decode()}


@router.post("/delete")
def delete(body: SecretKey) -> dict[str, Any]:
    """Delete a secret."""
    secret_store.delete(body.scope, body.key)
    return {}
