"""The current user (`/api/2.0/preview/scim/v2/Me`): whom the request's token belongs
to, as databricks-sdk's `current_user.me()` reads it."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Depends

from podium.server.workspace import user

router = APIRouter(prefix="/api/2.0/preview/scim/v2")

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def user_id(name: str) -> str:
    """A stable numeric id for a user name (SCIM ids are strings of digits)."""
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:13], 16))


@router.get("/Me")
def me(who: str = Depends(user)) -> dict[str, Any]:
    """The token's owner."""
    out: dict[str, Any] = {"id": user_id(who), "userName": who, "displayName": who,
                           "active": True, "schemas": [USER_SCHEMA]}
    if "@" in who:
        out["emails"] = [{"value": who, "type": "work", "primary": True}]
    return out
