"""The workspace's secret scopes: `$PODIUM_HOME/secrets/<scope>/<key>`, folders 0700
and values 0600 (owner only), written through a temporary file. What the Secrets API
writes and `dbutils.secrets.get` reads."""

from __future__ import annotations

import re
from pathlib import Path

from podium import defaults
from podium.files import TEMP_PREFIX, write_whole

NAME = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


class SecretError(ValueError):
    """A secrets request that cannot be done; `code` is Databricks' error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def root() -> Path:
    """The folder of every scope (owner only)."""
    path = defaults.home() / "secrets"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _name(kind: str, value: str) -> str:
    """`value` as a file name; a name is never a path, so "." and ".." (the folder itself,
    the workspace above it) are refused with the rest."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or value in (".", ".."):
        raise SecretError("INVALID_PARAMETER_VALUE", f"{kind} '{value}' must be 1 to 128 "
                          "letters, digits, '_', '-', '.' or '@', and not '.' or '..'")
    return value


def _scope(scope: str) -> Path:
    folder = root() / _name("Scope", scope)
    if not folder.is_dir():
        raise SecretError("RESOURCE_DOES_NOT_EXIST", f"Scope {scope} does not exist!")
    return folder


def create_scope(scope: str) -> None:
    """A new, empty scope."""
    folder = root() / _name("Scope", scope)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise SecretError("RESOURCE_ALREADY_EXISTS", f"Scope {scope} already exists!") from None


def delete_scope(scope: str) -> None:
    """Delete a scope and its secrets."""
    folder = _scope(scope)
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()


def scopes() -> list[str]:
    """Every scope's name."""
    return sorted(p.name for p in root().iterdir() if p.is_dir())


def put(scope: str, key: str, value: bytes) -> None:
    """Set a secret (created or replaced)."""
    write_whole(_scope(scope) / _name("Key", key), value, mode=0o600)


def get(scope: str, key: str) -> bytes:
    """A secret's value."""
    path = _scope(scope) / _name("Key", key)
    if not path.is_file():
        raise SecretError("RESOURCE_DOES_NOT_EXIST", f"Secret {key} does not exist in scope "
                          f"{scope}")
    return path.read_bytes()


def delete(scope: str, key: str) -> None:
    """Delete a secret."""
    path = _scope(scope) / _name("Key", key)
    if not path.is_file():
        raise SecretError("RESOURCE_DOES_NOT_EXIST", f"Secret {key} does not exist in scope "
                          f"{scope}")
    path.unlink()


def keys(scope: str) -> list[tuple[str, int]]:
    """(key, last updated in epoch ms) of a scope's secrets."""
    return sorted((p.name, int(p.stat().st_mtime * 1000)) for p in _scope(scope).iterdir()
                  if p.is_file() and not p.name.startswith(TEMP_PREFIX))
