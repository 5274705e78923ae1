"""`podium tokens …` and `podium login`: personal access tokens for `podium serve`."""

from __future__ import annotations

import configparser
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podium.cli.common import JsonOpt, fail_at, open_history, out, print_json
from podium.defaults import MAX_TOKEN_LIFETIME_SECONDS

tokens_app = typer.Typer(help="Personal access tokens for the workspace API (podium serve).",
                         no_args_is_help=True)


def _when(ms: int) -> str:
    return "never" if ms == -1 else datetime.fromtimestamp(ms / 1000).strftime(
        "%Y-%m-%d %H:%M:%S")


@tokens_app.command("create")
def create(
    comment: Annotated[str, typer.Option("--comment", help="What the token is for.")] = "",
    lifetime_seconds: Annotated[int | None, typer.Option(
        "--lifetime-seconds", min=1, max=MAX_TOKEN_LIFETIME_SECONDS,
        help="Expire after this long (default: never; at most a century).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Whose token (default: the OS "
                                             "user).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token and print it once; only a salted hash of it is kept."""
    from podium.runtime.notebook_context import user_name
    from podium.store import tokens

    value, info = tokens.create(open_history(), user or user_name(), comment, lifetime_seconds)
    if as_json:
        print_json({"token_value": value, "token_info": {
            "token_id": info.token_id, "creation_time": info.creation_time,
            "expiry_time": info.expiry_time, "comment": info.comment}})
        return
    typer.echo(value)


@tokens_app.command("list")
def list_tokens(as_json: JsonOpt = False) -> None:
    """Tokens of this workspace (ids, owners, comments; never the values)."""
    from podium.store import tokens

    infos = tokens.listing(open_history())
    if as_json:
        print_json({"token_infos": [vars(i) for i in infos]})
        return
    table = Table("token_id", "user", "comment", "created", "expires")
    for info in infos:
        table.add_row(info.token_id, info.user_name, info.comment, _when(info.creation_time),
                      _when(info.expiry_time))
    out.print(table)


@tokens_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id (podium tokens "
                                                   "list).")]) -> None:
    """Revoke a token; requests with it are refused within seconds."""
    from podium.store import tokens

    if not tokens.revoke(open_history(), token_id):
        fail_at("TOKEN_ID", f"no token '{token_id}' in this workspace; see podium tokens list")
    typer.echo(f"revoked {token_id}")


def login(
    host: Annotated[str, typer.Option("--host", help="The server's address.")] =
    "http://127.0.0.1:8080",
    profile: Annotated[str, typer.Option("--profile", help="Profile name in "
                                         "~/.databrickscfg.")] = "podium",
    cluster_id: Annotated[str | None, typer.Option(
        "--cluster-id", help="The all-purpose cluster databricks-connect sessions of this "
        "profile run on.")] = None,
) -> None:
    """Create a token and write a profile (host, token, cluster_id) to ~/.databrickscfg
    (or DATABRICKS_CONFIG_FILE), so `WorkspaceClient(profile="podium")`, the Databricks
    CLI and `DatabricksSession.builder.profile("podium")` reach `podium serve`."""
    import io
    import os

    from podium.defaults import home
    from podium.files import write_whole
    from podium.runtime.notebook_context import user_name
    from podium.store import tokens

    if not _is_url(host):
        fail_at("--host", f"'{host}' is not a URL; write it as http://HOST:PORT")
    path = Path(os.environ.get("DATABRICKS_CONFIG_FILE") or Path.home() / ".databrickscfg")
    config = configparser.ConfigParser()
    try:
        config.read(path)
    except configparser.Error as exc:
        fail_at(str(path), f"is not a readable profile file ({exc.message.splitlines()[0]}); "
                "fix or move it, then log in again")
    value, _ = tokens.create(open_history(), user_name(), f"podium login ({profile})")
    config[profile] = {"host": host.rstrip("/"), "token": value,
                       **({"cluster_id": cluster_id} if cluster_id else {})}
    text = io.StringIO()
    config.write(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, text.getvalue().encode(), 0o600)
    typer.echo(f"wrote profile [{profile}] for {host} to {path}")
    cert = home() / "tls" / "cert.pem"
    if host.startswith("https://") and cert.exists():
        typer.echo("podium serve --tls uses a self-signed certificate; trust it with:\n"
                   f"  export REQUESTS_CA_BUNDLE={cert}\n"
                   f"  export GRPC_DEFAULT_SSL_ROOTS_FILE_PATH={cert}\n"
                   "(or add it to the system's store: cp it to "
                   "/usr/local/share/ca-certificates/podium.crt; update-ca-certificates)")


def _is_url(host: str) -> bool:
    """Whether `host` is an http(s) URL with a host name that clients can parse."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 (a port that is no number raises here)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
