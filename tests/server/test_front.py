"""The front door tells gRPC from HTTP by a connection's first bytes (HTTP/2's preface,
or the protocols a TLS ClientHello offers), without taking them: an HTTP connection is
handed over whole (no Spark, no server)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from podium.server.background_loop import BackgroundLoop
from podium.server.front import PREFACE, Backends, Front, alpn_offered, bind, server_context
from podium.server.tls import self_signed


def client_hello(protocols: list[str] | None) -> bytes:
    """The first bytes a Python TLS client sends, offering `protocols` by ALPN."""
    context = ssl.create_default_context()
    if protocols is not None:
        context.set_alpn_protocols(protocols)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="podium.example")
    with contextlib.suppress(ssl.SSLWantReadError):  # it sent its ClientHello and waits
        client.do_handshake()
    return outgoing.read()


def test_the_offered_protocols_are_read_from_a_client_hello() -> None:
    assert alpn_offered(client_hello(["h2"])) == ["h2"]  # gRPC's clients
    assert alpn_offered(client_hello(["h2", "http/1.1"])) == ["h2", "http/1.1"]  # browsers
    assert alpn_offered(client_hello(["http/1.1"])) == ["http/1.1"]  # requests, urllib3
    assert alpn_offered(client_hello(None)) == []


def test_what_is_not_a_client_hello_offers_nothing() -> None:
    hello = client_hello(["h2"])
    assert alpn_offered(b"GET / HTTP/1.1\r\n\r\n") == []
    assert alpn_offered(hello[:40]) == []  # cut short
    assert alpn_offered(b"") == []


class Backend:
    """A loopback TCP server that answers each connection with what it read first
    (where the front relays gRPC)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            with conn:
                conn.sendall(b"grpc got " + conn.recv(65536))


@pytest.fixture
def front_door() -> Iterator[tuple[Front, queue.Queue]]:
    """A front on a loopback port: gRPC relayed to a Backend, HTTP handed to a queue."""
    adopted: queue.Queue = queue.Queue()
    grpc = Backend()
    loop = BackgroundLoop("front-test")
    door = Front(bind("127.0.0.1", 0), Backends(lambda sock, tls: adopted.put((sock, tls)),
                                                grpc.port), loop)
    door.start()
    yield door, adopted
    door.stop()
    loop.close()


def test_http_is_handed_over_with_nothing_taken_from_it(front_door) -> None:
    door, adopted = front_door
    with socket.create_connection(door.address, timeout=10) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock, tls = adopted.get(timeout=10)
        with sock:
            sock.setblocking(True)
            assert sock.recv(1024) == b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            assert tls is None


def test_a_handed_over_connection_sends_small_answers_at_once(front_door) -> None:
    """Nagle is off on the HTTP server's side of the connection, as asyncio sets it for
    TCP sockets: otherwise, on a kept-alive connection (databricks-sdk's, a browser's),
    each answer's second write waited for the client's delayed ACK, 40 ms a request."""
    door, adopted = front_door

    async def adopt(sock: socket.socket) -> int:  # as the HTTP server's loop does
        transport, _ = await asyncio.get_running_loop().connect_accepted_socket(
            asyncio.Protocol, sock)
        try:
            return transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            transport.close()

    with socket.create_connection(door.address, timeout=10) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock, _ = adopted.get(timeout=10)
        # a loop of its own in a thread: Playwright's sync API (the UI tests) keeps a loop
        # running in this worker's main thread once a browser test has run here
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert pool.submit(asyncio.run, adopt(sock)).result(timeout=10) != 0


def test_a_short_request_is_http_at_its_first_byte(front_door) -> None:
    door, adopted = front_door
    with socket.create_connection(door.address, timeout=10) as client:
        client.sendall(b"G")  # not how HTTP/2's preface starts: no need to wait for more
        sock, _ = adopted.get(timeout=10)
        sock.close()


def test_grpc_prior_knowledge_is_relayed_even_when_its_preface_comes_in_parts(
        front_door) -> None:
    door, adopted = front_door
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame
    with socket.create_connection(door.address, timeout=10) as client:
        client.sendall(PREFACE[:7])
        time.sleep(0.05)
        client.sendall(PREFACE[7:] + settings)
        answer = b""
        while len(answer) < len(b"grpc got ") + len(PREFACE):
            answer += client.recv(1024) or b"!"
    assert answer.startswith(b"grpc got " + PREFACE)
    assert adopted.empty()


def test_with_tls_grpc_goes_whole_to_the_tls_port_and_http_is_handed_over(
        tmp_path) -> None:
    cert, key = self_signed(tmp_path, ["127.0.0.1"])
    context = server_context(str(cert), str(key))
    adopted: queue.Queue = queue.Queue()
    grpc_tls = Backend()
    loop = BackgroundLoop("front-test")
    door = Front(bind("127.0.0.1", 0),
                 Backends(lambda sock, tls: adopted.put((sock, tls)), 1, grpc_tls.port),
                 loop, context)
    door.start()
    try:
        grpc_hello, http_hello = client_hello(["h2"]), client_hello(["h2", "http/1.1"])
        with socket.create_connection(door.address, timeout=10) as client:
            client.sendall(grpc_hello)  # the TLS record arrives as gRPC's client sends it
            answer = b""
            while len(answer) < len(b"grpc got ") + len(grpc_hello):
                answer += client.recv(65536) or b"!"
            assert answer.endswith(grpc_hello[-100:])
        with socket.create_connection(door.address, timeout=10) as client:
            client.sendall(http_hello)
            sock, tls = adopted.get(timeout=10)
            with sock:
                sock.setblocking(True)
                assert tls is context
                assert sock.recv(65536) == http_hello  # its TLS not begun: for uvicorn
    finally:
        door.stop()
        loop.close()


def test_a_stopped_front_closes_its_port(front_door) -> None:
    door, _ = front_door
    address = door.address
    door.stop()
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=5)
