"""How the Connect proxy routes a call, without any Spark: who is refused and why, and
that a database that cannot be reached is a status the client may retry, never UNKNOWN."""

from __future__ import annotations

import shutil
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from podium.server.auth import Authenticator
from podium.server.background_loop import BackgroundLoop
from podium.server.connect_proxy import (
    CLUSTER_HEADER,
    ConnectProxy,
    Route,
    RouteError,
    cluster_routes,
)
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


def echo_server(name: bytes) -> tuple[grpc.Server, int]:
    """A stand-in for a cluster's Connect server: answers every call with its name."""
    def answer(requests, context):
        for _ in requests:
            yield name

    class Handler(grpc.GenericRpcHandler):
        def service(self, details):
            return grpc.stream_stream_rpc_method_handler(answer)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([Handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def test_calls_follow_a_restarted_cluster_and_its_old_channel_is_closed() -> None:
    (first, first_port), (second, second_port) = echo_server(b"first"), echo_server(b"second")
    where = {"token-a": first_port, "token-b": second_port}  # the cluster, then restarted

    def resolve(token: str, metadata: dict[str, str]) -> Route:
        return Route(f"sc://127.0.0.1:{where[token]}/;token=backend", "0101-c", "16.4", "ada")

    loop = BackgroundLoop("test-proxy")
    proxy = ConnectProxy(resolve, lambda key: None, loop)
    port, _ = proxy.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.stream_stream("/spark.connect.SparkConnectService/ExecutePlan")
            for token, expected in (("token-a", b"first"), ("token-b", b"second")):
                metadata = (("authorization", f"Bearer {token}"), (CLUSTER_HEADER, "0101-c"))
                assert list(call(iter([b"\n\x01s"]), metadata=metadata, timeout=10)) == [
                    expected]
        assert list(proxy._channels) == [f"sc://127.0.0.1:{second_port}/;token=backend"]
    finally:
        proxy.stop(0)
        loop.close()
        first.stop(0)
        second.stop(0)
