"""Who is asking: every `/api/` request carries `Authorization: Bearer TOKEN`."""

from __future__ import annotations

import hashlib
import threading
import time

from fastapi import Request

from podium.server.errors import ApiError
from podium.store import RunStore, tokens

CACHE_SECONDS = 10.0  # a revoked token stops working within this long


class Authenticator:
    """Checks bearer tokens against the store, remembering recent answers briefly (a
    token check is a deliberate, slow hash)."""

    def __init__(self, store: RunStore):
        self.store = store
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def bearer(request: Request) -> str:
        """The token a request carries; 401 when it carries none."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "UNAUTHENTICATED", "Credential was not sent or was of an "
                           "unsupported type for this API; send Authorization: Bearer TOKEN "
                           "(create one with `podium tokens create`)")
        return value.strip()

    def remembered(self, token: str) -> str | None:
        """The user of a token checked in the last CACHE_SECONDS (no store, no hash)."""
        with self._lock:
            hit = self._cache.get(hashlib.sha256(token.encode()).hexdigest())
        return hit[1] if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS \
            else None

    def check(self, token: str) -> str:
        """The user a token belongs to (403 when it is invalid or revoked); the web UI
        asks with its session cookie's token."""
        known = self.remembered(token)
        if known is not None:
            return known
        key, now = hashlib.sha256(token.encode()).hexdigest(), time.monotonic()
        user = tokens.verify(self.store, token)
        if user is None:
            raise ApiError(403, "PERMISSION_DENIED", "Invalid access token.")
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (now, user)
        return user
