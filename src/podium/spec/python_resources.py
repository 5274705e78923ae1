"""Jobs written in Python with the `databricks-bundles` package (`python.resources`).

podium drives the package the way the Databricks CLI does: it writes the bundle's target
and variables as JSON, runs `python -m databricks.bundles.build --phase load_resources`
in the bundle's interpreter (`python.venv_path`, else podium's own), and reads back the
jobs, the package's diagnostics and the Python file and line of each job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from podium.spec.errors import Location, Problem
from podium.spec.yaml_source import YList, YMap


def located(value: Any, loc: Location) -> Any:
    """Plain JSON data as YMap/YList nodes that all point at `loc`."""
    if isinstance(value, dict):
        out = YMap(loc=loc)
        for key, item in value.items():
            out[key] = located(item, loc)
            out.key_locs[key] = loc
        return out
    if isinstance(value, list):
        out_list = YList(loc=loc)
        for item in value:
            out_list.append(located(item, loc))
            out_list.item_locs.append(loc)
        return out_list
    return value


def _interpreter(python: dict[str, Any], root: Path) -> str:
    venv = python.get("venv_path")
    return str(root / venv / "bin" / "python") if venv else sys.executable


def _location(entry: dict[str, Any], root: Path, fallback: Location) -> Location:
    loc = entry.get("location") or entry
    if not loc.get("file"):
        return fallback
    path = Path(loc["file"])
    path = path if path.is_absolute() else root / path
    try:
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path.resolve())
    return Location(shown, int(loc.get("line") or 0), int(loc.get("column") or 0))


def load_python_jobs(config: YMap, root: Path, bundle_name: str, target: str,
                     variables: dict[str, Any], problems: list[Problem]) -> YMap:
    """The jobs that `python.resources` functions define, located at their Python lines."""
    python = config.get("python")
    if not isinstance(python, dict) or not python.get("resources"):
        return YMap()
    where = config.loc_of("python")
    if python.get("mutators"):
        problems.append(Problem(where, "python.mutators are ignored locally; podium loads "
                                "python.resources only", "warning"))
    with tempfile.TemporaryDirectory(prefix="podium-python-") as tmp:
        files = {name: Path(tmp) / f"{name}.json" for name in
                 ("input", "output", "diagnostics", "locations")}
        files["input"].write_text(json.dumps({
            "bundle": {"name": bundle_name, "target": target},
            "variables": {k: {"value": v} for k, v in variables.items()},
            "python": {"resources": list(python["resources"])},
            "resources": {},
        }, default=str))
        command = [_interpreter(python, root), "-m", "databricks.bundles.build", "--phase",
                   "load_resources", *[a for n in ("input", "output", "diagnostics",
                                                   "locations")
                                       for a in (f"--{n}", str(files[n]))]]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        try:
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                                  check=False, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(Problem(where, f"cannot run python.resources: {exc}"))
            return YMap()
        if "No module named databricks.bundles" in done.stderr:
            problems.append(Problem(where, "python.resources needs the databricks-bundles "
                                    f"package in {command[0]}; pip install databricks-bundles"))
            return YMap()
        if files["diagnostics"].exists():
            for line in files["diagnostics"].read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    detail = (entry.get("detail") or "").strip().splitlines()
                    message = entry.get("summary", "error in python.resources") + (
                        f": {detail[-1]}" if detail else "")
                    problems.append(Problem(_location(entry, root, where), message,
                                            "warning" if entry.get("severity") == "warning"
                                            else "error"))
        if done.returncode != 0 or not files["output"].exists():
            if not any(p.severity == "error" for p in problems):
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                problems.append(Problem(where, f"python.resources failed: {tail}"))
            return YMap()
        locations = {}
        if files["locations"].exists():
            for line in files["locations"].read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    locations[entry["path"]] = _location(entry, root, where)
        jobs = json.loads(files["output"].read_text()).get("resources", {}).get("jobs", {})
    return YMap({key: located(job, locations.get(f"resources.jobs.{key}", where))
                 for key, job in jobs.items()}, loc=where)
