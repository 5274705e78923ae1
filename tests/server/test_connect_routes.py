"""How the Connect proxy routes a call, without any Spark: who is refused and why, and
that a database that cannot be reached is a status the client may retry, never UNKNOWN."""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import pytest

from podium.server.auth import Authenticator
from podium.server.connect_proxy import CLUSTER_HEADER, RouteError, cluster_routes
from podium.store import open_store, tokens


def routes(folder: Path):
    folder.mkdir()
    store = open_store(f"sqlite:///{folder / 'podium.db'}")
    token, _ = tokens.create(store, "ada@example.com")
    return store, token, cluster_routes(store, Authenticator(store))


def refusal(resolve, token: str, metadata: dict[str, str]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(RouteError) as refused:
        resolve(token, metadata)
    return refused.value.code, str(refused.value)


def test_a_call_is_refused_with_the_status_that_says_why(tmp_path: Path) -> None:
    _store, token, resolve = routes(tmp_path / "ws")
    assert refusal(resolve, "dapi-wrong", {CLUSTER_HEADER: "x"})[0] == \
        grpc.StatusCode.UNAUTHENTICATED
    code, message = refusal(resolve, token, {})
    assert code == grpc.StatusCode.INVALID_ARGUMENT and CLUSTER_HEADER in message
    code, message = refusal(resolve, token, {CLUSTER_HEADER: "0101-000000-nothere"})
    assert code == grpc.StatusCode.NOT_FOUND and "0101-000000-nothere" in message


def test_a_database_that_cannot_be_reached_is_unavailable(tmp_path: Path) -> None:
    store, token, resolve = routes(tmp_path / "ws")
    store.engine.dispose()
    shutil.rmtree(tmp_path / "ws")  # the SQLite file and its folder are gone
    code, message = refusal(resolve, token, {CLUSTER_HEADER: "0101-000000-abcdefgh"})
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "database cannot be reached" in message and "retry" in message
