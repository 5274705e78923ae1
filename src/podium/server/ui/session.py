"""Who is looking at a page: the login form puts the API token in an HttpOnly,
SameSite=Strict cookie, and every state-changing form carries a CSRF token derived from
it (an HMAC), so no session state is kept and servers sharing one database all accept it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from fastapi import Request

from podium.server.errors import ApiError
from podium.server.workspace import workspace

COOKIE = "podium_session"


class LoginNeeded(Exception):
    """The page needs a signed-in user; the handler redirects to the login form."""

    def __init__(self, next_url: str):
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(Exception):
    """A form came without the CSRF token of the signed-in session."""


def csrf_token(token: str) -> str:
    """The CSRF token of a session: a keyed hash of its API token."""
    return hmac.new(token.encode(), b"podium-ui-csrf", hashlib.sha256).hexdigest()[:40]


def page_user(request: Request) -> tuple[str, str]:
    """(user, csrf token) of the signed-in browser; LoginNeeded otherwise."""
    token = request.cookies.get(COOKIE, "")
    if token:
        try:
            return workspace(request).auth.check(token), csrf_token(token)
        except ApiError:
            pass
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginNeeded(target)


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    token = request.cookies.get(COOKIE, "")
    if not token or not sent or not hmac.compare_digest(csrf_token(token), sent):
        raise CsrfRefused()


def login_url(next_url: str) -> str:
    """The login form, returning to `next_url` afterwards."""
    return f"/login?next={quote(next_url, safe='')}"
