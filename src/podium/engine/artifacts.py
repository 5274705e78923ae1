"""A bundle's `artifacts` (`type: whl`): built before a run that needs them, when their
wheels are missing or older than their sources, as `databricks bundle deploy` builds them.

A job needs an artifact when one of its tasks' Python packages (docs/environments.md) is a
path inside the artifact's folder (`- whl: ../dist/*.whl`). The build is the artifact's
`build` command run in its `path` (default: the bundle root), or `uv build --wheel` when
it has none. A failed build is a located error.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium import defaults
from podium.spec.checks import all_tasks
from podium.spec.errors import Location, Problem
from podium.spec.models import ClusterSpec, Job
from podium.tasks import requirements
from podium.uv_tool import uv_bin

SKIPPED = {"dist", "build", ".venv", "venv", ".git", "__pycache__", ".databricks",
           ".pytest_cache", ".ruff_cache", "node_modules"}
BUILD_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Artifact:
    """One `artifacts.<name>` entry as podium builds it."""

    name: str
    folder: Path
    command: list[str] | str
    outputs: tuple[str, ...]  # globs of what the build makes, relative to `folder`
    where: Location

    def built(self) -> list[Path]:
        """The files the last build made."""
        return sorted(p for pattern in self.outputs for p in self.folder.glob(pattern))

    def stale(self) -> bool:
        """Whether a build is due: no output yet, or a source newer than the outputs."""
        outputs = self.built()
        if not outputs:
            return True
        return _newest_source(self.folder) > min(p.stat().st_mtime for p in outputs)


def of_bundle(root: Path, raw: dict[str, Any]) -> list[Artifact]:
    """The bundle's wheel artifacts (other types are left to the Databricks CLI)."""
    found = []
    for name, entry in raw.items():
        if not isinstance(entry, dict) or entry.get("type", "whl") != "whl":
            continue
        where = raw.loc_of(name) if hasattr(raw, "loc_of") else Location(str(root))
        folder = (root / str(entry.get("path") or ".")).resolve()
        command: list[str] | str = str(entry["build"]) if entry.get("build") else \
            [uv_bin(), "build", "--wheel", "--quiet"]
        sources = [str(f.get("source")) for f in entry.get("files") or []
                   if isinstance(f, dict) and f.get("source")]
        outputs = tuple(_relative(s, folder) for s in sources) or ("dist/*.whl",)
        found.append(Artifact(str(name), folder, command, outputs, where))
    return found


def needed(artifacts: list[Artifact], job: Job,
           clusters: dict[str, ClusterSpec]) -> list[Artifact]:
    """The artifacts whose folder holds a path the job's tasks install."""
    paths: list[Path] = []
    for task in all_tasks(job):
        try:
            asked = requirements.asked_for(job, task, clusters)
        except requirements.RequirementError:
            continue  # said by the environment check
        paths += [Path(line.split(" ", 1)[-1]) for line in asked.lines
                  if line.split(" ", 1)[-1].startswith("/")]
    return [a for a in artifacts if any(a.folder in p.parents for p in paths)]


def build_needed(root: Path, raw: dict[str, Any], job: Job,
                 clusters: dict[str, ClusterSpec], say: Any = print) -> list[Problem]:
    """Build what the job needs and is stale; the problems of builds that failed."""
    problems = []
    for artifact in needed(of_bundle(root, raw), job, clusters):
        if not artifact.stale():
            continue
        say(f"building artifact '{artifact.name}' in {artifact.folder}")
        shell = isinstance(artifact.command, str)
        done = subprocess.run(artifact.command, shell=shell, cwd=artifact.folder,
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
                              env={**os.environ, "PATH": _path_with_uv()})
        if done.returncode != 0 or not artifact.built():
            lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines()
                     if ln.strip()]
            command = artifact.command if shell else shlex.join(artifact.command)
            problems.append(Problem(artifact.where, f"artifact '{artifact.name}' did not "
                                    f"build: `{command}` exited with {done.returncode}"
                                    f"{': ' + lines[-1] if lines else ''}"))
    return problems


def _path_with_uv() -> str:
    """PATH with podium's uv first, so `build: uv build --wheel` works without a uv of
    the user's own."""
    return os.pathsep.join([str(Path(uv_bin()).parent), os.environ.get("PATH", "")])


def _relative(source: str, folder: Path) -> str:
    path = Path(source)
    return str(path.relative_to(folder)) if path.is_absolute() and folder in path.parents \
        else source


def _newest_source(folder: Path) -> float:
    """The newest modification time of the folder's sources (outputs, caches,
    environments and a workspace kept inside the bundle left out)."""
    home = defaults.home().resolve()
    newest = 0.0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED and not d.endswith(".egg-info")
                       and Path(dirpath, d).resolve() != home]
        for name in filenames:
            try:
                newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
            except OSError:
                continue
    return newest
