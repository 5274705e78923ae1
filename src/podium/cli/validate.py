"""`podium validate`: check a bundle and show what it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from podium.cli.common import JsonOpt, TargetOpt, VarOpt, load, out


def validate(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder.")] = Path("."),
    target: TargetOpt = None,
    var: VarOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a bundle and show its jobs, task DAGs, clusters and ignored fields.

    Exits 0 when valid; prints `file:line:col: error: ...` for each problem and exits 2.
    """
    from podium.spec.describe import describe_bundle

    loaded = load(bundle, target, var, as_json)
    if as_json:
        out.print_json(json.dumps(describe_bundle(loaded), default=str))
        return
    from podium.report.plan import print_bundle

    print_bundle(loaded, out)
