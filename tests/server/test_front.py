"""The front door tells gRPC from HTTP by the protocols a TLS ClientHello offers, read from
the bytes as a client sends them (no Spark, no server)."""

from __future__ import annotations

import contextlib
import ssl

from podium.server.front import alpn_offered


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
