"""The `podium` command: the Typer app with every command group registered."""

from __future__ import annotations

import inspect
import re
from typing import Annotated

import typer

from podium import __version__, defaults
from podium.cli.clusters import cluster_app
from podium.cli.common import fail_at, out
from podium.cli.deploy import deploy
from podium.cli.jobs import jobs_app
from podium.cli.policies import policies_app
from podium.cli.run import run
from podium.cli.runs import runs_app
from podium.cli.serve import serve
from podium.cli.tokens import login, tokens_app
from podium.cli.validate import validate


def _flags_take_no_value() -> None:
    """Typer 0.29's help gives every option a value type, flags too (`--json <bool>`): a
    flag's row shows none, as `--help` always did."""
    from typer.core import TyperOption

    typed = TyperOption.display_type_rich
    if getattr(typed, "podium_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return None if self.is_flag and self.metavar is None else typed(self, ctx)

    display_type_rich.podium_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()
app = typer.Typer(
    name="podium",
    help="Run Databricks bundle jobs on reused Spark compute.\n\n"
         "Examples:\n\n  podium validate examples/seed001_many_tables\n\n"
         "  podium jobs list --bundle examples/seed001_many_tables\n\n"
         "  podium run many_tables --bundle examples/seed001_many_tables --var table_count=4",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        out.print(f"podium {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Run Databricks bundle jobs on reused Spark compute."""
    try:
        defaults.check_settings()
    except defaults.SettingError as exc:
        fail_at("environment", str(exc))


app.command()(validate)
app.command()(run)
app.command()(deploy)
app.command()(serve)
app.command()(login)
app.add_typer(jobs_app, name="jobs")
app.add_typer(runs_app, name="runs")
app.add_typer(cluster_app, name="cluster")
app.add_typer(tokens_app, name="tokens")
app.add_typer(policies_app, name="policies")


def reflow(text: str) -> str:
    """A docstring as help text: lines of one paragraph joined, paragraphs kept, so the
    terminal wraps it rather than the source file's line breaks."""
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def reflow_help(typer_app: typer.Typer) -> None:
    """Reflow the help of every command of an app and its groups (once, at import)."""
    for command in typer_app.registered_commands:
        text = command.help or (command.callback.__doc__ if command.callback else None)
        if text:
            command.help = reflow(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            info = group.typer_instance.info
            if isinstance(info.help, str):
                info.help = reflow(info.help)
            reflow_help(group.typer_instance)


reflow_help(app)
