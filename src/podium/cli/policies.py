"""`podium policies …`: the workspace's cluster policies (the Cluster Policies API's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podium.cli.common import JsonOpt, fail_at, open_history, out, print_json

policies_app = typer.Typer(help="Cluster policies that job and all-purpose clusters naming "
                           "a policy_id follow.", no_args_is_help=True)


@policies_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The policy's name (unique).")],
    definition: Annotated[Path, typer.Option(
        "--definition", help="A JSON file of attribute rules, as Databricks writes them.")],
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Create a policy from a definition file; prints its policy_id."""
    from podium.runtime.notebook_context import user_name
    from podium.spec.policies import PolicyError
    from podium.store import policies

    try:
        text = definition.read_text(encoding="utf-8")
    except OSError as exc:
        fail_at("--definition", f"cannot read {definition}: {exc.strerror}")
    try:
        policy_id = policies.create(open_history(), name, text, user_name(), description)
    except PolicyError as exc:
        fail_at(str(definition), str(exc))
    except policies.PolicyNameTaken as exc:
        fail_at("NAME", f"{exc}; pick another name or delete it first")
    typer.echo(policy_id)


@policies_app.command("list")
def list_policies(as_json: JsonOpt = False) -> None:
    """Every policy with its id."""
    from podium.spec.policies import parse
    from podium.store import policies

    rows = policies.listing(open_history())
    if as_json:
        print_json({"policies": [policies.view(r) for r in rows]})
        return
    table = Table("policy_id", "name", "rules", "creator")
    for row in rows:
        table.add_row(row.policy_id, row.name, str(len(parse(row.definition))),
                      row.creator_user_name)
    out.print(table)


@policies_app.command("delete")
def delete(policy_id: Annotated[str, typer.Argument(metavar="POLICY_ID")]) -> None:
    """Delete a policy (clusters naming it are then warned about, not checked)."""
    from podium.store import policies

    try:
        policies.remove(open_history(), policy_id)
    except policies.PolicyNotFound:
        fail_at("POLICY_ID", f"no policy {policy_id}; list them with `podium policies list`")
    typer.echo(f"deleted policy {policy_id}")
