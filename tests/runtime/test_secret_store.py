"""Secret scopes and keys are names, never paths: "." and ".." reach neither the secrets
folder itself nor the workspace above it, whatever the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.runtime import secret_store
from podium.runtime.secret_store import SecretError


def _files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused_and_touch_nothing(podium_home: Path, name: str) -> None:
    (podium_home / "podium.db").write_bytes(b"the run history")
    secret_store.create_scope("etl")
    secret_store.put("etl", "password", b"hunter2")
    before = _files(podium_home)
    calls = [
        lambda: secret_store.create_scope(name),
        lambda: secret_store.delete_scope(name),
        lambda: secret_store.put(name, "podium.db", b"overwritten"),
        lambda: secret_store.get(name, "podium.db"),
        lambda: secret_store.delete(name, "podium.db"),
        lambda: secret_store.keys(name),
        lambda: secret_store.put("etl", name, b"x"),
        lambda: secret_store.get("etl", name),
        lambda: secret_store.delete("etl", name),
    ]
    for call in calls:
        with pytest.raises(SecretError, match=r"not '\.' or '\.\.'") as raised:
            call()
        assert raised.value.code == "INVALID_PARAMETER_VALUE"
    assert _files(podium_home) == before
    assert secret_store.scopes() == ["etl"]


def test_names_with_dots_inside_are_names(podium_home: Path) -> None:
    secret_store.create_scope("team.etl")
    secret_store.put("team.etl", "...", b"three dots is a file name")
    assert secret_store.get("team.etl", "...") == b"three dots is a file name"
    assert [k for k, _ in secret_store.keys("team.etl")] == ["..."]
