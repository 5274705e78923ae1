"""Spark Connect through `podium serve`, as Databricks offers it: a gRPC call carrying a
workspace token (`authorization: Bearer ...`) and `x-databricks-cluster-id` is forwarded
to that all-purpose cluster's own Spark Connect server, with the cluster's token in place
of the caller's. Messages pass as bytes: the proxy knows no Spark Connect message, so any
client version that the cluster's Spark understands works through it.

A terminated cluster is started first (the call waits, as on Databricks); a call keeps
its cluster from auto-terminating, as a task does. A call with a session id and no
cluster (databricks-connect's `serverless()`) runs on the workspace's `serverless`
cluster, started on demand and stopped when idle. The one message the proxy reads is
Spark's version answer, to which it adds the cluster's Databricks runtime version, as
Databricks does: databricks-connect checks it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from podium.compute.connect import endpoint, parameter
from podium.server.background_loop import BackgroundLoop

CLUSTER_HEADER = "x-databricks-cluster-id"
SESSION_HEADER = "x-databricks-session-id"
# Metadata that belongs to one hop: the caller's credentials, and what gRPC sets itself.
HOP_HEADERS = {"authorization", "user-agent", "te", "content-type", ":authority"}
ANALYZE = "/spark.connect.SparkConnectService/AnalyzePlan"
DBR_VERSION_FIELD = 800  # SparkVersion.dbr_version in Databricks' Spark Connect protocol
SERVERLESS = "serverless"  # the all-purpose cluster serverless sessions share
SERVERLESS_IDLE_MINUTES = 10
UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
TOUCH_SECONDS = 10.0  # how often a call in use marks its cluster used
ROUTE_SECONDS = 5.0  # how long a resolved route is reused (a revoked token: this long)
FORGET_SECONDS = 3600.0  # a session without calls for this long is no longer listed


class RouteError(Exception):
    """Why a call cannot be forwarded: the gRPC status it ends with, and a message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Route:
    """Where a caller's calls go: the cluster's Spark Connect address (`sc://…;token=`),
    the key to mark as used, and the runtime version it reports."""

    url: str
    cluster_key: str
    runtime: str
    user: str


@dataclass
class Session:
    """A client's Spark Connect session seen through the proxy (the clusters page shows
    them)."""

    cluster_key: str
    session_id: str
    user: str
    client: str
    started_ms: int
    last_ms: int
    calls: int = 0


Resolve = Callable[[str, dict[str, str]], Route]  # (token, metadata) -> Route, or RouteError


class ConnectProxy:
    """A gRPC server (on a background loop) that forwards every method to the
    cluster a call names. `resolve` checks the token and finds (or starts) the cluster;
    it may block, so it runs off the loop."""

    def __init__(self, resolve: Resolve, touch: Callable[[str], None], loop: BackgroundLoop):
        self.resolve, self.touch, self.loop = resolve, touch, loop
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._cluster_urls: dict[str, str] = {}  # the address each cluster was last at
        self._touched: dict[str, float] = {}
        self._sessions: dict[tuple[str, str], Session] = {}
        self._routes: dict[tuple[str, str, bool], tuple[float, Route]] = {}
        self._lock = threading.Lock()
        self._server: grpc.aio.Server | None = None

    def start(self, address: str = "127.0.0.1:0",
              tls: tuple[bytes, bytes] | None = None) -> tuple[int, int | None]:
        """Listen on `address` in plain text and, given `tls` (a certificate chain and its
        key, PEM), on a second port with TLS, which gRPC's own TLS ends far faster than a
        Python relay could (`podium serve --tls` passes gRPC connections to it whole);
        the ports bound."""
        return self.loop.run(self._start(address, tls), 30)

    async def _start(self, address: str, tls: tuple[bytes, bytes] | None
                     ) -> tuple[int, int | None]:
        self._server = grpc.aio.server(options=UNLIMITED)
        self._server.add_generic_rpc_handlers([_Handler(self)])
        port = self._server.add_insecure_port(address)
        secure = None
        if tls is not None:
            chain, key = tls
            secure = self._server.add_secure_port(
                "127.0.0.1:0", grpc.ssl_server_credentials([(key, chain)]))
        await self._server.start()
        return port, secure

    def stop(self, grace: float = 2.0) -> None:
        """End open calls (after `grace` seconds) and close the backend channels."""
        if self._server is None:
            return

        async def stop() -> None:
            assert self._server is not None
            await self._server.stop(grace)
            for channel in self._channels.values():
                await channel.close()

        with contextlib.suppress(Exception):
            self.loop.run(stop(), grace + 10)

    def _channel(self, url: str) -> grpc.aio.Channel:
        channel = self._channels.get(url)
        if channel is None:
            channel = grpc.aio.insecure_channel(endpoint(url), options=UNLIMITED)
            self._channels[url] = channel
        return channel

    def _mark_used(self, key: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(key, 0.0) > TOUCH_SECONDS:
            self._touched[key] = now
            self.loop.loop.run_in_executor(None, self.touch, key)

    def sessions(self) -> list[Session]:
        """The sessions that made a call within the last hour, newest call first."""
        cutoff = time.time() * 1000 - FORGET_SECONDS * 1000
        with self._lock:
            for key in [k for k, v in self._sessions.items() if v.last_ms < cutoff]:
                del self._sessions[key]
            return sorted(self._sessions.values(), key=lambda s: -s.last_ms)

    def _note(self, route: Route, client: str, message: bytes) -> None:
        session_id = session_of(message)
        if session_id is None:
            return
        now = int(time.time() * 1000)
        with self._lock:
            seen = self._sessions.setdefault(
                (route.cluster_key, session_id),
                Session(route.cluster_key, session_id, route.user, client, now, now))
            seen.last_ms, seen.calls = now, seen.calls + 1

    async def _noted(self, route: Route, client: str,
                     requests: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        first = True
        async for message in requests:
            if first:
                self._note(route, client, message)
                first = False
            yield message

    async def _route(self, token: str, metadata: dict[str, str]) -> Route:
        """The call's route, reused for a few seconds: resolving reads the store, and a
        client makes several calls per query."""
        key = (token, metadata.get(CLUSTER_HEADER, ""), SESSION_HEADER in metadata)
        now = time.monotonic()
        cached = self._routes.get(key)
        if cached is not None and now - cached[0] < ROUTE_SECONDS:
            return cached[1]
        route = await asyncio.get_running_loop().run_in_executor(
            None, self.resolve, token, metadata)
        if len(self._routes) > 1000:
            self._routes.clear()
        self._routes[key] = (now, route)
        before = self._cluster_urls.get(route.cluster_key)
        self._cluster_urls[route.cluster_key] = route.url
        if before is not None and before != route.url:  # restarted elsewhere: the old
            old = self._channels.pop(before, None)     # server is gone with its calls
            if old is not None:
                await old.close()
        return route

    async def forward(self, method: str, requests: AsyncIterator[bytes],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        """One call: route it, then relay requests up and responses down until either side
        ends; the backend's status and trailing metadata (Spark's error details) come back
        as they are."""
        metadata = {k: v for k, v in context.invocation_metadata() or ()
                    if isinstance(v, str)}
        bearer = metadata.get("authorization", "")
        scheme, _, token = bearer.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "Send a workspace token as authorization: Bearer TOKEN "
                                "(create one with `podium tokens create`)")
        try:
            route = await self._route(token.strip(), metadata)
        except RouteError as exc:
            await context.abort(exc.code, str(exc))
        self._mark_used(route.cluster_key)
        passed = [(k, v) for k, v in context.invocation_metadata() or ()
                  if k not in HOP_HEADERS and not k.startswith("grpc-")]
        passed.append(("authorization", f"Bearer {parameter(route.url, 'token')}"))
        client = metadata.get("user-agent", "")[:120]
        call = self._channel(route.url).stream_stream(method)(
            self._noted(route, client, requests), metadata=passed)
        try:
            async for response in call:
                yield with_runtime(response, route.runtime) if method == ANALYZE else response
                self._mark_used(route.cluster_key)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAVAILABLE:  # the cluster may have stopped
                self._routes.clear()
            context.set_trailing_metadata(tuple(exc.trailing_metadata() or ()))
            await context.abort(exc.code(), exc.details() or "")
        finally:
            call.cancel()  # the caller went away: interrupt the cluster's work too


def session_of(message: bytes) -> str | None:
    """The session id of a Spark Connect request: field 1 of every request message, and
    serialized first."""
    if not message or message[0] != 0x0A:  # field 1, length-delimited
        return None
    length, shift, at = 0, 0, 1
    while at < len(message):
        byte = message[at]
        length |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            break
    try:
        return message[at:at + length].decode()
    except UnicodeDecodeError:
        return None


def with_runtime(response: bytes, runtime: str) -> bytes:
    """An AnalyzePlan response with `runtime` as its Spark version's `dbr_version`, when it
    answers a version question; any other response as it is."""
    from pyspark.sql.connect.proto import base_pb2

    message = base_pb2.AnalyzePlanResponse.FromString(response)
    if message.WhichOneof("result") != "spark_version":
        return response
    value = runtime.encode()
    # an unknown field to this protocol version; protobuf keeps and re-sends it
    message.spark_version.MergeFromString(
        _varint(DBR_VERSION_FIELD << 3 | 2) + _varint(len(value)) + value)
    return message.SerializeToString()


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


class _Handler(grpc.GenericRpcHandler):
    """Every method, whatever its service, is a bytes-in, bytes-out stream to forward."""

    def __init__(self, proxy: ConnectProxy):
        self.proxy = proxy

    def service(self, details: grpc.HandlerCallDetails) -> Any:
        method = details.method

        async def relay(requests: AsyncIterator[bytes],
                        context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            async for response in self.proxy.forward(method, requests, context):
                yield response

        return grpc.stream_stream_rpc_method_handler(relay)


def cluster_routes(store: Any, auth: Any) -> Resolve:
    """Routes by workspace token and `x-databricks-cluster-id` to all-purpose clusters,
    starting a terminated one; sessions without a cluster to the serverless one."""
    from sqlalchemy.exc import SQLAlchemyError

    from podium.compute.errors import ClusterError
    from podium.engine import shared_clusters
    from podium.server.errors import ApiError
    from podium.server.runtimes import DEFAULT_RUNTIME
    from podium.spec.models import ClusterSpec
    from podium.store.errors import StoreUnavailable

    serverless = ClusterSpec(cluster_name=SERVERLESS,
                             autotermination_minutes=SERVERLESS_IDLE_MINUTES)

    def resolve(token: str, metadata: dict[str, str]) -> Route:
        try:
            return routed(token, metadata)
        except (SQLAlchemyError, StoreUnavailable) as exc:  # the client may retry
            raise RouteError(grpc.StatusCode.UNAVAILABLE, "The workspace's database cannot "
                             f"be reached ({type(exc).__name__}); retry shortly") from None

    def routed(token: str, metadata: dict[str, str]) -> Route:
        try:
            user = auth.check(token)
        except ApiError as exc:
            raise RouteError(grpc.StatusCode.UNAUTHENTICATED, exc.message) from None
        cluster_id = metadata.get(CLUSTER_HEADER, "").strip()
        if not cluster_id and SESSION_HEADER not in metadata:
            raise RouteError(grpc.StatusCode.INVALID_ARGUMENT,
                             f"Name the cluster to run on: send {CLUSTER_HEADER} (cluster_id "
                             "in DatabricksSession.builder.remote(...) or in the profile), or "
                             "use serverless()")
        try:
            if not cluster_id:
                url = shared_clusters.address(store, SERVERLESS, serverless,
                                              start_missing=True)
                return Route(url, SERVERLESS, DEFAULT_RUNTIME, user)
            row = shared_clusters.current(store, cluster_id)
            if row is None:
                raise RouteError(grpc.StatusCode.NOT_FOUND,
                                 f"Cluster {cluster_id} does not exist; list clusters with "
                                 "`podium cluster list` or the Clusters API")
            url = shared_clusters.address(store, row.key, None, start_missing=True)
        except ClusterError as exc:
            raise RouteError(grpc.StatusCode.FAILED_PRECONDITION, str(exc)) from None
        runtime = json.loads(row.spec_json).get("spark_version") or DEFAULT_RUNTIME
        return Route(url, row.key, runtime, user)

    return resolve
