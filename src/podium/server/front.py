"""`podium serve`'s one public port, as a Databricks workspace has one address: REST, the
web UI and Spark Connect's gRPC arrive on it. The front accepts each connection, looks at
its first bytes without taking them (MSG_PEEK) and routes it:

- gRPC is relayed to the Connect proxy's loopback port: in plain text a connection that
  opens with HTTP/2's preface (gRPC's prior knowledge); with TLS one whose ClientHello
  offers `h2` and not `http/1.1`, passed whole to the proxy's TLS port, where gRPC's own
  TLS ends it (a Python relay decrypting a 100k-row answer added more than the proxy).
- Anything else is HTTP and is handed, socket and all, to the HTTP server (`Adopt`),
  which ends its TLS itself: no relay, so a request costs no extra hop (a relay cost
  a fifth of the requests a second a server answered under load).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from podium.server.background_loop import BackgroundLoop

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CHUNK = 256 * 1024
HANDSHAKE_SECONDS = 30.0
HELLO_LIMIT = 5 + 2 ** 14  # one TLS record: a ClientHello, even a post-quantum one
PEEK_WAIT = 0.005  # between looks at a head that came in parts

# Serve an accepted HTTP connection (its TLS, if any, not begun) on the HTTP server.
Adopt = Callable[[socket.socket, "ssl.SSLContext | None"], None]


@dataclass(frozen=True)
class Backends:
    """Where the front sends what it does not serve: HTTP connections to `adopt`, gRPC to
    the Connect proxy's loopback port, or its TLS port (for a front with TLS)."""

    adopt: Adopt
    grpc_port: int
    grpc_tls_port: int | None = None


def bind(host: str, port: int) -> socket.socket:
    """The public listening socket, bound now so a taken port fails before anything
    starts (OSError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not implied: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # that say so, and accepted ones inherit it. Without it, every answer after the first
    # on a kept-alive connection waited 40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A TLS context for the front's HTTP connections: the certificate, and ALPN that
    settles on HTTP/1.1 (gRPC's connections never reach it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


class Front:
    """Accepts on the public socket (on a background loop) and routes each connection
    by its first bytes: HTTP to the HTTP server, gRPC relayed to the Connect proxy."""

    def __init__(self, sock: socket.socket, backends: Backends, loop: BackgroundLoop,
                 tls: ssl.SSLContext | None = None):
        self.sock, self.backends, self.loop, self.tls = sock, backends, loop, tls
        self._accepting: asyncio.Task | None = None
        self._routing: set[asyncio.Task] = set()
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the front listens on."""
        host, port = self.sock.getsockname()[:2]
        return host, port

    def start(self) -> None:
        """Start accepting."""
        async def start() -> None:
            self._accepting = asyncio.create_task(self._accept())

        self.loop.run(start(), 30)

    def stop(self) -> None:
        """Stop accepting, close the public port and drop open relays (connections
        handed to the HTTP server are its own)."""
        async def stop() -> None:
            tasks = [task for task in [self._accepting, *self._routing] if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.sock.close()
            for writer in list(self._open):
                writer.close()

        with contextlib.suppress(Exception):
            self.loop.run(stop(), 10)

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(self.sock)
            except OSError:  # out of file descriptors, or the peer gave up already
                await asyncio.sleep(0.05)
                continue
            conn.setblocking(False)
            task = loop.create_task(self._route(conn))
            self._routing.add(task)
            task.add_done_callback(self._routing.discard)

    async def _route(self, conn: socket.socket) -> None:
        """Send the connection where its first bytes say it belongs."""
        try:
            if self.tls is None:
                head = await asyncio.wait_for(_peek(conn, _preface_decided), HANDSHAKE_SECONDS)
                grpc, port = head.startswith(PREFACE), self.backends.grpc_port
            else:
                hello = await asyncio.wait_for(_peek(conn, _hello_whole), HANDSHAKE_SECONDS)
                offered = alpn_offered(hello)
                port = self.backends.grpc_tls_port
                grpc = port is not None and "h2" in offered and "http/1.1" not in offered
        except (OSError, asyncio.TimeoutError):
            conn.close()
            return
        except asyncio.CancelledError:  # the front is stopping
            conn.close()
            raise
        if not grpc:
            self.backends.adopt(conn, self.tls)
            return
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=CHUNK)
        except OSError:
            conn.close()
            return
        await self._splice(reader, writer, port)

    async def _splice(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      port: int) -> None:
        """Relay the connection to `port` on loopback, both ways until either side ends."""
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port,
                                                                 limit=CHUNK)
        except OSError:
            writer.close()
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer),
                                 return_exceptions=True)
        finally:
            for side in (writer, up_writer):
                self._open.discard(side)
                side.close()


def _preface_decided(head: bytes) -> bool:
    """Enough is read to tell HTTP/2's preface from anything else."""
    return len(head) >= len(PREFACE) or not PREFACE.startswith(head)


def _hello_whole(head: bytes) -> bool:
    """The first TLS record is all there (or what came is not one: TLS will refuse it)."""
    if head[:1] != b"\x16":
        return True
    return len(head) >= 5 and len(head) >= min(HELLO_LIMIT,
                                               5 + int.from_bytes(head[3:5], "big"))


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


async def _peek(conn: socket.socket, enough: Callable[[bytes], bool]) -> bytes:
    """The bytes at the head of `conn`, left there for whoever reads it next, once
    `enough` of them came or the peer stopped sending."""
    loop = asyncio.get_running_loop()
    seen = -1
    while True:
        ready = loop.create_future()
        loop.add_reader(conn.fileno(), _settle, ready)
        try:
            await ready
        finally:
            loop.remove_reader(conn.fileno())
        head = conn.recv(HELLO_LIMIT, socket.MSG_PEEK)
        if not head or enough(head):
            return head
        if len(head) == seen:  # the rest is on its way; the socket stays readable
            await asyncio.sleep(PEEK_WAIT)
        seen = len(head)


def alpn_offered(hello: bytes) -> list[str]:
    """The protocols a TLS ClientHello record offers by ALPN (RFC 7301); [] when it names
    none or is not one."""
    try:
        at = 5 + 4 + 2 + 32  # record and handshake headers, version, random
        if hello[0] != 0x16 or hello[5] != 0x01:
            return []
        at += 1 + hello[at]  # session id
        at += 2 + int.from_bytes(hello[at:at + 2], "big")  # cipher suites
        at += 1 + hello[at]  # compression methods
        end = at + 2 + int.from_bytes(hello[at:at + 2], "big")
        at += 2
        while at + 4 <= end:
            kind = int.from_bytes(hello[at:at + 2], "big")
            size = int.from_bytes(hello[at + 2:at + 4], "big")
            body = hello[at + 4:at + 4 + size]
            at += 4 + size
            if kind == 16:  # application_layer_protocol_negotiation
                names, i = [], 2
                while i < len(body):
                    names.append(body[i + 1:i + 1 + body[i]].decode("ascii", "replace"))
                    i += 1 + body[i]
                return names
    except IndexError:
        pass
    return []


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the reading side ends, then end the writing side (half-close where the
    transport can, as HTTP needs)."""
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
