"""Jobs written in Python with the `databricks-bundles` package (`python.resources`, or
`experimental.python` as older bundles write it).

podium drives the package the way the Databricks CLI does: it writes the bundle's target
and variables as JSON, runs `python -m databricks.bundles.build --phase load_resources`
in the bundle's interpreter (`python.venv_path`, else podium's own), and reads back the
jobs, the package's diagnostics and the Python file and line of each job.

The CLI expects the user to have run `uv sync`; podium does it for them when the
`venv_path` has no interpreter and a `pyproject.toml` sits beside `databricks.yml`, and
again when that file or its `uv.lock` changed since (a stamp in the venv remembers what it
was made from). A venv the user made is left as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
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


SYNC_STAMP = ".podium-synced"  # in a venv podium made: the digest of what it was made from
SYNC_TIMEOUT_SECONDS = 900


def python_section(config: YMap) -> tuple[dict[str, Any], Location] | None:
    """The bundle's `python` section (or the older `experimental.python`) and where it is."""
    python = config.get("python")
    if isinstance(python, dict):
        return python, config.loc_of("python")
    experimental = config.get("experimental")
    if isinstance(experimental, YMap) and isinstance(experimental.get("python"), dict):
        return experimental["python"], experimental.loc_of("python")
    return None


def project_digest(root: Path) -> str:
    """What a synced venv is made from: the bundle's pyproject.toml and uv.lock."""
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "uv.lock"):
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()


def ensure_venv(root: Path, venv_path: str, where: Location, problems: list[Problem],
                say: Any = None) -> str | None:
    """The interpreter of the bundle's `venv_path`, made with `uv sync` from the bundle's
    pyproject.toml when it is missing or was made by podium from an older one; None (and
    a located problem) when it cannot be had."""
    folder = (root / venv_path).resolve()
    interpreter = folder / "bin" / "python"
    if not (root / "pyproject.toml").is_file():
        if interpreter.exists():
            return str(interpreter)
        problems.append(Problem(where, f"python.venv_path '{venv_path}' has no interpreter "
                                f"and there is no pyproject.toml beside databricks.yml to make "
                                f"it from; create it (uv venv {venv_path} && uv pip install "
                                "databricks-bundles) or remove venv_path"))
        return None
    stamp = folder / SYNC_STAMP
    wanted = project_digest(root)
    if interpreter.exists() and (not stamp.is_file() or stamp.read_text() == wanted):
        return str(interpreter)
    from podium.uv_tool import machine_indexes, uv_bin

    what = "uv.lock" if (root / "uv.lock").is_file() else "pyproject.toml"
    (say or _say)(f"python.venv_path: running `uv sync` to make {venv_path} from {what}")
    command = [uv_bin(), "sync", "--quiet", "--project", str(root), "--python",
               sys.executable, *machine_indexes()]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(folder)}
    env.pop("VIRTUAL_ENV", None)
    # A project that is not a package of its own (hatchling finds nothing to ship, as in
    # several of Databricks' examples) still gets its dependencies: resources load from
    # the bundle root on PYTHONPATH either way.
    for extra in ([], ["--no-install-project"]):
        try:
            done = subprocess.run([*command, *extra], cwd=root, env=env, capture_output=True,
                                  text=True, check=False, timeout=SYNC_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(Problem(where, f"cannot make python.venv_path '{venv_path}' with "
                                    f"`uv sync`: {exc}"))
            return None
        if done.returncode == 0 and interpreter.exists():
            break
        if "Failed to build" not in done.stderr:
            break
    if done.returncode != 0 or not interpreter.exists():
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines
                      else f"exit code {done.returncode}")
        problems.append(Problem(where, f"`uv sync` could not make python.venv_path "
                                f"'{venv_path}' from pyproject.toml: {reason}; fix the "
                                "project's dependencies or make the venv yourself"))
        return None
    stamp.write_text(project_digest(root))  # uv.lock as `uv sync` left it
    return str(interpreter)


def _say(text: str) -> None:
    print(text, file=sys.stderr)


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
    return Location(shown, int(loc.get("line") or 0), int(loc.get("column") or 0),
                    base=str(root.resolve()))


def load_python_resources(config: YMap, root: Path, bundle_name: str, target: str,
                          variables: dict[str, Any], problems: list[Problem],
                          say: Any = None) -> YMap:
    """The resources (jobs, pipelines, schemas, volumes, ...) that `python.resources`
    functions define, by kind, each located at its Python line; `${...}` in them is left for
    the loader to fill in, as the CLI does."""
    section = python_section(config)
    if section is None or not section[0].get("resources"):
        return YMap()
    python, where = section
    interpreter = ensure_venv(root, str(python["venv_path"]), where, problems, say) \
        if python.get("venv_path") else sys.executable
    if interpreter is None:
        return YMap()
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
        command = [interpreter, "-m", "databricks.bundles.build", "--phase",
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
        if re.search(r"No module named '?databricks(\.bundles)?'?(\s|\)|$)", done.stderr):
            fix = ("add databricks-bundles to pyproject.toml's dependencies (or its dev "
                   "group) and delete the venv" if python.get("venv_path") else
                   "pip install databricks-bundles")
            problems.append(Problem(where, "python.resources needs the databricks-bundles "
                                    f"package in {command[0]}; {fix}"))
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
        made = json.loads(files["output"].read_text()).get("resources", {})
    out = YMap(loc=where)
    for kind, items in made.items():
        if isinstance(items, dict) and items:
            out[kind] = YMap({key: located(item, locations.get(f"resources.{kind}.{key}",
                                                                where))
                              for key, item in items.items()}, loc=where)
            out.key_locs[kind] = where
    return out
