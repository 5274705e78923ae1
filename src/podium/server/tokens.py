"""The Token API (`/api/2.0/token/create|list|delete`): tokens of the calling user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from podium.server.bodies import CreateToken, TokenId
from podium.server.errors import not_found
from podium.server.workspace import user, workspace
from podium.store import tokens

router = APIRouter(prefix="/api/2.0/token", dependencies=[Depends(user)])


def _info(info: tokens.TokenInfo) -> dict[str, Any]:
    return {"token_id": info.token_id, "creation_time": info.creation_time,
            "expiry_time": info.expiry_time, "comment": info.comment}


@router.post("/create")
def create(request: Request, body: CreateToken, who: str = Depends(user)) -> dict[str, Any]:
    """A new token for the caller; its value is in this answer only."""
    value, info = tokens.create(workspace(request).store, who, body.comment,
                                body.lifetime_seconds)
    return {"token_value": value, "token_info": _info(info)}


@router.get("/list")
def list_tokens(request: Request, who: str = Depends(user)) -> dict[str, Any]:
    """The caller's tokens (never their values)."""
    return {"token_infos": [_info(i) for i in tokens.listing(workspace(request).store)
                            if i.user_name == who]}


@router.post("/delete")
def delete(request: Request, body: TokenId) -> dict[str, Any]:
    """Revoke a token."""
    if not tokens.revoke(workspace(request).store, body.token_id):
        raise not_found(f"Token {body.token_id} does not exist.")
    return {}
