"""`podium serve`'s one public port, as a Databricks workspace has one address: REST, the
web UI and Spark Connect's gRPC arrive on it and are relayed to the HTTP server or the
Connect proxy, both on loopback ports of their own.

A connection is gRPC when it speaks HTTP/2 only: with TLS, when its ClientHello offers
`h2` and not `http/1.1` (browsers offer both and REST clients only `http/1.1`, and keep
HTTP/1.1); in plain text, when it opens with HTTP/2's preface (gRPC's prior knowledge).
With TLS, an HTTP connection's TLS ends here and the relay behind is plain text, while a
gRPC connection is passed whole to the proxy's TLS port, where gRPC's own TLS ends it
(a Python relay decrypting a 100k-row answer added more than the proxy itself)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass

from podium.server.background_loop import BackgroundLoop

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CHUNK = 256 * 1024
HANDSHAKE_SECONDS = 30.0
HELLO_LIMIT = 5 + 2 ** 14  # one TLS record: a ClientHello, even a post-quantum one


@dataclass(frozen=True)
class Backends:
    """The loopback ports the front relays to: HTTP's, gRPC's, and gRPC's with TLS (for
    a front with TLS)."""

    http_port: int
    grpc_port: int
    grpc_tls_port: int | None = None


def bind(host: str, port: int) -> socket.socket:
    """The public listening socket, bound now so a taken port fails before anything
    starts (OSError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
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
    """Accepts on the public socket (on a background loop) and relays each
    connection, whole, to the backend its protocol names."""

    def __init__(self, sock: socket.socket, backends: Backends, loop: BackgroundLoop,
                 tls: ssl.SSLContext | None = None):
        self.sock, self.backends, self.loop, self.tls = sock, backends, loop, tls
        self._server: asyncio.AbstractServer | None = None
        self._https: asyncio.AbstractServer | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the front listens on."""
        host, port = self.sock.getsockname()[:2]
        return host, port

    def start(self) -> None:
        """Start accepting."""
        self.loop.run(self._start(), 30)

    async def _start(self) -> None:
        if self.tls is None:
            self._server = await asyncio.start_server(self._relay, sock=self.sock,
                                                      limit=CHUNK)
            return

        async def https(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._splice(reader, writer, b"", self.backends.http_port)

        # where an HTTP connection's TLS ends, on a loopback port of this loop
        self._https = await asyncio.start_server(https, "127.0.0.1", 0, ssl=self.tls,
                                                 limit=CHUNK,
                                                 ssl_handshake_timeout=HANDSHAKE_SECONDS)
        self._server = await asyncio.start_server(self._route_tls, sock=self.sock,
                                                  limit=CHUNK)

    def stop(self) -> None:
        """Stop accepting and drop open connections."""
        async def stop() -> None:
            for server in (self._server, self._https):
                if server is not None:
                    server.close()
            for writer in list(self._open):
                writer.close()

        with contextlib.suppress(Exception):
            self.loop.run(stop(), 10)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A plain-text connection: to gRPC when it opens with HTTP/2's preface."""
        try:
            head = b""
            while len(head) < len(PREFACE) and PREFACE.startswith(head):
                chunk = await reader.read(len(PREFACE) - len(head))
                if not chunk:
                    break
                head += chunk
        except OSError:
            writer.close()
            return
        port = self.backends.grpc_port if head == PREFACE else self.backends.http_port
        await self._splice(reader, writer, head, port)

    async def _route_tls(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        """A TLS connection: read its ClientHello; gRPC's goes whole to the proxy's TLS
        port, any other's to where its TLS ends before HTTP (`_start`)."""
        try:
            hello = await asyncio.wait_for(_client_hello(reader), HANDSHAKE_SECONDS)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            writer.close()
            return
        grpc_only = "h2" in (offered := alpn_offered(hello)) and "http/1.1" not in offered
        assert self._https is not None
        port = self.backends.grpc_tls_port if grpc_only else None
        await self._splice(reader, writer, hello,
                           port or self._https.sockets[0].getsockname()[1])

    async def _splice(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      head: bytes, port: int) -> None:
        """Relay the connection, `head` (what was read of it already) first, to `port`
        on loopback, both ways until either side ends."""
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port,
                                                                 limit=CHUNK)
        except OSError:
            writer.close()
            return
        for side in (writer, up_writer):  # gRPC's small frames must not wait for ACKs
            _no_delay(side)
        up_writer.write(head)
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer),
                                 return_exceptions=True)
        finally:
            for side in (writer, up_writer):
                self._open.discard(side)
                side.close()


async def _client_hello(reader: asyncio.StreamReader) -> bytes:
    """The first TLS record of a connection (its ClientHello), or as much of it as came
    before the peer stopped; at most HELLO_LIMIT bytes."""
    head = await reader.readexactly(5)
    length = int.from_bytes(head[3:5], "big")
    if head[0] != 0x16 or 5 + length > HELLO_LIMIT:  # not a handshake: TLS will refuse it
        return head
    return head + await reader.readexactly(length)


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


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """Send small writes at once (asyncio does so itself only for sockets made with
    IPPROTO_TCP, which an accepted socket of `bind`'s is not)."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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
