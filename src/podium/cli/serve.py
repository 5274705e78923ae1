"""`podium serve`: the workspace as a service that speaks the Databricks APIs."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.common import err, fail_at, open_history
from podium.server import front

LOOPBACK = ("localhost",)


def _loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def env_number(name: str, default: float, what: str) -> float:
    """A non-negative number from the environment variable `name`; exit 2 naming it
    when it is not one."""
    raw = os.environ.get(name, str(default))
    try:
        return max(0.0, float(raw))
    except ValueError:
        fail_at(name, f"'{raw}' is not {what}")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="Port to listen on.")] = 8080,
    tls: Annotated[bool, typer.Option(
        "--tls", help="Serve HTTPS (and gRPC over TLS, which databricks-connect needs) "
        "with a self-signed certificate made once under PODIUM_HOME/tls, or --cert/--key."
    )] = False,
    cert: Annotated[str | None, typer.Option(
        "--cert", help="The TLS certificate (PEM) to serve instead of the self-signed one; "
        "with --key.")] = None,
    key: Annotated[str | None, typer.Option(
        "--key", help="The private key (PEM) of --cert.")] = None,
) -> None:
    """Serve this workspace's Jobs API (2.1 and 2.2) and Token API, with one engine whose
    clusters every run shares; databricks-sdk, REST controllers and orchestrators drive
    it unchanged. Needs a token (`podium tokens create`) for every /api/ request.
    Registered jobs' schedules, triggers and continuous runs fire while it serves.
    Spark Connect clients (databricks-connect) reach all-purpose clusters on the same
    port, with a token and the cluster's id.

    SIGTERM or Ctrl-C drains: new requests get 503, running runs are cancelled and
    recorded, clusters stop.
    """
    import uvicorn

    from podium.engine.service import Service
    from podium.engine.workspace_access import WorkspaceAccess
    from podium.runtime import output
    from podium.runtime.notebook_context import user_name
    from podium.server import connect_proxy
    from podium.server.app import create_app
    from podium.server.auth import Authenticator
    from podium.server.background_loop import BackgroundLoop
    from podium.server.connect_proxy import ConnectProxy
    from podium.server.workspace import Workspace
    from podium.store import clusters as clusters_registry
    from podium.store import tokens
    from podium.triggers.loop import TriggerLoop

    store = open_history()
    tls_context = _tls_context(host, tls, cert, key)
    try:
        public = front.bind(host, port)
    except OSError as exc:
        fail_at("--port", f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick "
                "another port (0 picks a free one)")
    if not _loopback(host) and not tokens.any_token(store):
        fail_at("--host", f"podium serve listens on {host} only when a token exists (anyone "
                "who reaches it could run code); create one with `podium tokens create`")
    # how long an unused cluster stays warm; how many API requests are served at once
    service = Service(store, env_number("PODIUM_IDLE_CLUSTER_SECONDS", 600,
                                        "a number of seconds"))
    output.log_own()  # podium's own warnings (the database away, limits changing) in its log
    max_requests = int(env_number("PODIUM_MAX_CONCURRENT_REQUESTS", 64, "a number"))
    triggers = TriggerLoop(
        store, service.accept,
        file_check_seconds=env_number("PODIUM_FILE_TRIGGER_SECONDS", 60, "a number of seconds"),
        backoff_seconds=env_number("PODIUM_CONTINUOUS_BACKOFF_SECONDS", 10,
                                   "a number of seconds"))
    service.on_turn.append(triggers.every(1.0))
    # Task code reaches this server as a notebook reaches its workspace: a token of its
    # run's own and the address the server listens on (known once it listens).
    listening: list[str] = []
    access = WorkspaceAccess(store, lambda: _address(listening), user_name())
    service.executor.task_env = access.env_for
    service.executor.listeners.append(access.listener)
    ws = Workspace(store, service, Authenticator(store), access=access)
    network = BackgroundLoop("podium-network")  # the front door and the Connect proxy
    proxy = ConnectProxy(connect_proxy.cluster_routes(store, ws.auth),
                         lambda key: clusters_registry.touch(store, [key]), network)
    grpc_port, grpc_tls_port = proxy.start(tls=tls_context[1] if tls_context else None)
    ws.connect = proxy
    server = _DrainingServer(uvicorn.Config(create_app(ws, max_requests), host="127.0.0.1",
                                            port=0, log_level="warning", access_log=False),
                             ws, listening,
                             lambda adopt: front.Front(
                                 public, front.Backends(adopt, grpc_port, grpc_tls_port),
                                 network, tls_context[0] if tls_context else None))
    taken = service.start()
    if taken:
        err.print(f"podium serve: took over {len(taken)} accepted run(s): "
                  f"{', '.join(map(str, taken))}", highlight=False)
    # uvicorn sends itself the stop signal again once it has stopped; by then the
    # workspace is drained, so that signal only ends the serving, not the process.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        server.run()
        if not server.drained.is_set():
            _drain(ws)
    finally:
        server.close()
        proxy.stop()
        network.close()
        access.close()


def _tls_context(host: str, tls: bool, cert: str | None, key: str | None
                 ) -> tuple[Any, tuple[bytes, bytes]] | None:
    """The TLS context `--tls`/`--cert`/`--key` ask for, with the certificate chain and
    key as PEM (for gRPC's own TLS); None: plain HTTP."""
    if (cert is None) != (key is None):
        fail_at("--cert" if cert is None else "--key", "--cert and --key go together; "
                "give both, or --tls alone for a self-signed certificate")
    if not tls and cert is None:
        return None
    from podium.defaults import home
    from podium.server import tls as certificates

    if cert is None or key is None:
        made = certificates.self_signed(home() / "tls", [host])
        cert, key = str(made[0]), str(made[1])
    try:
        return front.server_context(cert, key), (Path(cert).read_bytes(),
                                                 Path(key).read_bytes())
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        fail_at("--cert", f"cannot use {cert} with {key}: {exc}")


def _address(listening: list[str], timeout: float = 60.0) -> str:
    """The address the server listens on, once it does (a run taken over at start may
    ask before uvicorn has bound its socket)."""
    import time

    deadline = time.monotonic() + timeout
    while not listening:
        if time.monotonic() > deadline:
            raise RuntimeError("podium serve is not listening yet")
        time.sleep(0.05)
    return listening[0]


class _DrainingServer:
    """uvicorn's server whose exit signals first drain the workspace."""

    def __init__(self, config: Any, ws: Any, listening: list[str],
                 make_front: Any):
        import uvicorn

        self.ws, self.drained = ws, threading.Event()
        self.front: front.Front | None = None
        outer = self

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:
                if outer.ws.draining:
                    return super().handle_exit(sig, frame)
                outer.ws.draining = True

                def drain_then_exit() -> None:
                    _drain(outer.ws)
                    outer.drained.set()
                    super(Server, self).handle_exit(sig, frame)

                threading.Thread(target=drain_then_exit, daemon=True).start()

            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets)
                if self.should_exit:
                    return
                http_port = self.servers[0].sockets[0].getsockname()[1]
                config, state, app_state = self.config, self.server_state, self.lifespan.state

                def protocol() -> asyncio.Protocol:
                    return config.http_protocol_class(config=config, server_state=state,
                                                      app_state=app_state)

                outer.front = make_front(_adopter(asyncio.get_running_loop(), protocol))
                outer.front.start()
                host, port = outer.front.address
                scheme = "https" if outer.front.tls is not None else "http"
                shown = f"[{host}]" if ":" in host else host
                err.print(f"podium serve: listening on {scheme}://{shown}:{port}",
                          highlight=False)
                # tasks reach the API on this machine, past the TLS they need not trust
                listening.append(f"http://127.0.0.1:{http_port}")

        self.server = Server(config)

    def run(self) -> None:
        """Serve until a signal has drained the workspace."""
        self.server.run()

    def close(self) -> None:
        """Stop the public port's relay."""
        if self.front is not None:
            self.front.stop()


def _adopter(loop: asyncio.AbstractEventLoop,
             protocol: Callable[[], asyncio.Protocol]) -> front.Adopt:
    """Serve connections the front accepted on uvicorn's own loop, as if uvicorn had
    accepted them (its TLS, when given, ending there)."""
    adopting: set[asyncio.Task] = set()

    async def adopt(sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        try:
            await loop.connect_accepted_socket(
                protocol, sock, ssl=tls,
                ssl_handshake_timeout=front.HANDSHAKE_SECONDS if tls else None)
        except Exception:  # a failed handshake or a peer gone ends that connection only
            sock.close()

    def start(sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        task = loop.create_task(adopt(sock, tls))
        adopting.add(task)
        task.add_done_callback(adopting.discard)

    def hand_over(sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        try:
            loop.call_soon_threadsafe(start, sock, tls)
        except RuntimeError:  # the HTTP server has stopped
            sock.close()

    return hand_over


def _drain(ws: Any) -> None:
    ws.draining = True
    ws.service.stop()
