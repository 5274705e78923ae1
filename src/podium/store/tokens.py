"""Personal access tokens for the workspace API: the secret is shown once, and only a
salted hash of it is kept (PBKDF2-SHA256), so a copy of the database holds no token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select

from podium.defaults import MAX_TOKEN_LIFETIME_SECONDS
from podium.store.runs import RunStore, now_ms
from podium.store.schema import TokenRow

PREFIX = "dapi"  # as Databricks tokens start; clients sometimes check for it
ROUNDS = 10_000


@dataclass(frozen=True)
class TokenInfo:
    """A token as `tokens list` shows it (never its secret)."""

    token_id: str
    user_name: str
    comment: str
    creation_time: int
    expiry_time: int


def _hash(salt: str, secret: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), ROUNDS).hex()


def create(store: RunStore, user: str, comment: str = "",
           lifetime_seconds: int | None = None) -> tuple[str, TokenInfo]:
    """A new token: its value (to show once) and its info. The value is
    `dapi<token_id>.<secret>` so a check finds the row without scanning. A lifetime
    over MAX_TOKEN_LIFETIME_SECONDS is a ValueError (the API and the CLI refuse it first)."""
    if lifetime_seconds is not None and lifetime_seconds > MAX_TOKEN_LIFETIME_SECONDS:
        raise ValueError(f"lifetime_seconds is at most {MAX_TOKEN_LIFETIME_SECONDS}")
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
    salt = secrets.token_hex(16)
    stamp = now_ms()
    expiry = stamp + lifetime_seconds * 1000 if lifetime_seconds and lifetime_seconds > 0 else -1
    with store.sessions.begin() as db:
        db.add(TokenRow(token_id=token_id, salt=salt, secret_hash=_hash(salt, secret),
                        user_name=user, comment=comment, created_ms=stamp, expiry_ms=expiry))
    return f"{PREFIX}{token_id}.{secret}", TokenInfo(token_id, user, comment, stamp, expiry)


def verify(store: RunStore, value: str) -> str | None:
    """The user a token belongs to, or None if it is unknown, revoked or expired."""
    if not value.startswith(PREFIX) or "." not in value:
        return None
    token_id, _, secret = value[len(PREFIX):].partition(".")
    with store.reads.begin() as db:
        row = db.get(TokenRow, token_id)
        if row is None or (row.expiry_ms != -1 and row.expiry_ms < now_ms()):
            return None
        good = hmac.compare_digest(row.secret_hash, _hash(row.salt, secret))
        return row.user_name if good else None


def listing(store: RunStore) -> list[TokenInfo]:
    """Every token of the workspace, oldest first."""
    with store.reads.begin() as db:
        return [TokenInfo(r.token_id, r.user_name, r.comment, r.created_ms, r.expiry_ms)
                for r in db.scalars(select(TokenRow).order_by(TokenRow.created_ms))]


def revoke(store: RunStore, token_id: str) -> bool:
    """Delete a token; False if there was none with that id."""
    with store.sessions.begin() as db:
        return db.execute(delete(TokenRow).where(TokenRow.token_id == token_id)).rowcount > 0


def any_token(store: RunStore) -> bool:
    """Whether at least one token exists (the server needs one to listen beyond loopback)."""
    with store.reads.begin() as db:
        return db.scalar(select(TokenRow.token_id).limit(1)) is not None
