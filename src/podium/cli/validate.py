"""`podium validate`: check a bundle and show what it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from podium.cli.common import JsonOpt, TargetOpt, VarOpt, fail, load, out


def validate(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder.")] = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Treat warnings (unknown fields, what will not run locally) as "
        "errors.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a bundle and show its jobs, task DAGs, clusters and ignored fields.

    Accepts what the Databricks CLI accepts: unknown fields and includes that match no
    file are warnings (with a did-you-mean). Exits 0 when valid; prints
    `file:line:col: error: ...` for each problem and exits 2. With --strict, warnings
    are errors too.
    """
    from dataclasses import replace

    from podium.spec.describe import describe_bundle

    loaded = load(bundle, target, var, as_json)
    if strict and loaded.warnings:
        fail([replace(w, severity="error") for w in loaded.warnings], as_json)
    if as_json:
        out.print_json(json.dumps(describe_bundle(loaded), default=str))
        return
    from podium.report.plan import print_bundle

    print_bundle(loaded, out)
