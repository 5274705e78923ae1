"""What every `podium` command shares: consoles, option types, located failures, loading a
bundle and opening the run history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from podium.spec import BundleError, Location, Problem

EXIT_BAD_INPUT = 2

out = Console()
err = Console(stderr=True, highlight=False)

BundleOpt = Annotated[Path, typer.Option("--bundle", "-b", help="Bundle folder (or a file in "
                                         "it); parents are searched for databricks.yml.")]
TargetOpt = Annotated[str | None, typer.Option("--target", "-t", help="Bundle target.")]
VarOpt = Annotated[list[str] | None, typer.Option("--var", help="Set a bundle variable: "
                                                  "name=value (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", "-p", help="Set a job "
                                                    "parameter: name=value (repeatable).")]


def fail(problems: list[Problem], as_json: bool = False) -> NoReturn:
    """Print located problems (or their JSON) and exit 2: bad input, never a traceback."""
    if as_json:
        out.print_json(json.dumps({"valid": False, "errors": [p.as_dict() for p in problems]}))
    else:
        for problem in problems:
            err.print(str(problem), markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail_at(where: str, message: str) -> NoReturn:
    """Exit 2 with one problem located at a command-line option or argument."""
    fail([Problem(Location(where), message)])


def print_json(value: object) -> None:
    """Print a JSON document (times and paths as strings)."""
    out.print_json(json.dumps(value, default=str))


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """`name=value` options as a dict; a pair without '=' is bad input."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail_at(option, f"'{pair}' is not name=value; write {option} name=value")
        result[name.strip()] = value
    return result


def load(bundle: Path, target: str | None, var: list[str] | None, as_json: bool = False):
    """Load the bundle for a command, turning every problem into exit code 2."""
    from podium.spec import load_bundle  # commands that read no bundle start without it

    try:
        return load_bundle(bundle, target, parse_pairs(var, "--var"), workspace_policies,
                           workspace_lookup)
    except BundleError as exc:
        fail(exc.problems, as_json)


def workspace_lookup(kind: str, name: str) -> str | None:
    """The id of the workspace object a bundle's `lookup` variable names: a shared
    cluster (by name or key), a cluster policy, a registered job or a SQL warehouse (by
    name)."""
    from podium.store import clusters, policies, registry

    store = open_history()
    if kind == "cluster":
        row = clusters.find(store, name)
        return row.key if row is not None else None
    if kind == "cluster_policy":
        return next((p.policy_id for p in policies.listing(store) if p.name == name), None)
    if kind == "job":
        rows, _ = registry.page(store, 2, name=name)
        return str(rows[0].job_id) if len(rows) == 1 else None
    if kind == "warehouse":
        row = clusters.warehouse(store, name)
        return row.key if row is not None else None
    return None


def workspace_policies() -> dict[str, tuple[str, dict]]:
    """The workspace's cluster policies by id: (name, rules)."""
    from podium.store import policies

    return policies.by_id(open_history())


def job_params(job, given: dict[str, str]) -> dict[str, str]:
    """Job parameter values: defaults, then `--param`; an unknown name is bad input."""
    defined = {p.name: "" if p.default is None else str(p.default) for p in job.parameters}
    for name in given:
        if name not in defined:
            known = ", ".join(defined) or "none"
            fail_at("--param", f"job '{job.name}' has no parameter '{name}' (parameters: "
                    f"{known}); add it under the job's `parameters`")
    return {**defined, **given}


def open_history():
    """The workspace's run store; an unreachable database is exit 2 with the reason."""
    from sqlalchemy.exc import SQLAlchemyError

    from podium.store import database_url, open_store

    try:
        return open_store()
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        fail_at("PODIUM_DATABASE_URL", f"cannot open the run history at {database_url()}: "
                f"{reason}; check the URL and that the database is running")


def swept_history():
    """The run store, after marking runs whose process died (what `runs` commands read)."""
    from podium.store.maintenance import sweep_orphans

    store = open_history()
    sweep_orphans(store)
    return store
