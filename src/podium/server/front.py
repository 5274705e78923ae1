"""`podium serve`'s one public port, as a Databricks workspace has one address: REST, the
web UI and Spark Connect's gRPC arrive on it and are relayed to the HTTP server or the
Connect proxy, both on loopback ports of their own.

A connection is gRPC when it speaks HTTP/2: with TLS, when ALPN settles on `h2` (the
port offers `http/1.1` first, so browsers and REST clients keep HTTP/1.1 and only
HTTP/2-only clients, gRPC's, get `h2`); in plain text, when it opens with HTTP/2's
preface (gRPC's prior knowledge). TLS ends here; the relay behind is plain text."""

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


@dataclass(frozen=True)
class Backends:
    """The loopback ports the front relays to."""

    http_port: int
    grpc_port: int


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
    """A TLS context for the front: the certificate, and ALPN that keeps HTTP/1.1 for
    whoever speaks it and gives HTTP/2 to gRPC."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1", "h2"])
    return context


class Front:
    """Accepts on the public socket (on a background loop) and relays each
    connection, whole, to the backend its protocol names."""

    def __init__(self, sock: socket.socket, backends: Backends, loop: BackgroundLoop,
                 tls: ssl.SSLContext | None = None):
        self.sock, self.backends, self.loop, self.tls = sock, backends, loop, tls
        self._server: asyncio.AbstractServer | None = None
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
        self._server = await asyncio.start_server(
            self._relay, sock=self.sock, ssl=self.tls,
            ssl_handshake_timeout=HANDSHAKE_SECONDS if self.tls else None, limit=CHUNK)

    def stop(self) -> None:
        """Stop accepting and drop open connections."""
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._open):
                writer.close()

        with contextlib.suppress(Exception):
            self.loop.run(stop(), 10)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, is_grpc = await self._sniff(reader, writer)
            port = self.backends.grpc_port if is_grpc else self.backends.http_port
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port, limit=CHUNK)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
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

    async def _sniff(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> tuple[bytes, bool]:
        """The bytes read to decide, and whether the connection is gRPC's."""
        if self.tls is not None:
            ssl_object = writer.get_extra_info("ssl_object")
            return b"", ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"
        head = b""
        while len(head) < len(PREFACE) and PREFACE.startswith(head):
            chunk = await reader.read(len(PREFACE) - len(head))
            if not chunk:
                break
            head += chunk
        return head, head == PREFACE


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
