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

    def user(self, request: Request) -> str:
        """The user the request's token belongs to; 401 or 403 otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "UNAUTHENTICATED", "Credential was not sent or was of an "
                           "unsupported type for this API; send Authorization: Bearer TOKEN "
                           "(create one with `podium tokens create`)")
        return self.check(value.strip())

    def check(self, token: str) -> str:
        """The user a token belongs to (403 when it is invalid or revoked); the web UI
        asks with its session cookie's token."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        user = tokens.verify(self.store, token)
        if user is None:
            raise ApiError(403, "PERMISSION_DENIED", "Invalid access token.")
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (now, user)
        return user
