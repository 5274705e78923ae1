"""A bundle's `artifacts`: built before a run that needs them, when what they make is
missing or older than their sources, as `databricks bundle deploy` builds them.

Any artifact with a `build` command (a wheel, a `javac ... && jar ...` JAR, `poetry build`,
a script) is built by running it in the artifact's `path`; a `type: whl` artifact without
one is built with `uv build --wheel`. What it makes are its `files` (globs), or `dist/*.whl`
for a wheel. A job needs an artifact when one of its libraries — a task's or a cluster's
`whl`, `jar` or `requirements` path, an environment's wheel — is inside the artifact's folder
or among its files. Paths are relative to the YAML file that names them, as the CLI has them.
A build tool that is not installed, or a build that fails, is a located error.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium import defaults
from podium.spec.checks import all_tasks
from podium.spec.errors import Location, Problem
from podium.spec.models import ClusterSpec, Job
from podium.tasks import requirements
from podium.uv_tool import uv_bin

SKIPPED = {"dist", "build", "target", ".venv", "venv", ".git", "__pycache__", ".databricks",
           ".pytest_cache", ".ruff_cache", "node_modules"}
BUILD_TIMEOUT_SECONDS = 900
# How to get the build tools bundles name, for the one-line error when one is missing.
INSTALL_HINTS = {
    "poetry": "pip install poetry (or pipx install poetry)",
    "hatch": "pip install hatch",
    "pdm": "pip install pdm",
    "flit": "pip install flit",
    "javac": "install a JDK (Debian: apt-get install openjdk-17-jdk-headless)",
    "jar": "install a JDK (Debian: apt-get install openjdk-17-jdk-headless)",
    "mvn": "install Maven (Debian: apt-get install maven)",
    "gradle": "install Gradle (https://gradle.org/install)",
    "sbt": "install sbt (https://www.scala-sbt.org/download)",
    "make": "install make (Debian: apt-get install make)",
    "npm": "install Node.js (Debian: apt-get install nodejs npm)",
}
# Shell words that are not programs to look for.
SHELL_WORDS = {"cd", "echo", "export", "set", "test", "[", "true", "false", "exit", "source",
               ".", "if", "then", "else", "fi", "for", "do", "done", "while"}


@dataclass(frozen=True)
class Artifact:
    """One `artifacts.<name>` entry as podium builds it."""

    name: str
    folder: Path
    command: list[str] | str
    outputs: tuple[str, ...]  # absolute globs of what the build makes
    where: Location

    def built(self) -> list[Path]:
        """The files the last build made."""
        return sorted({Path(p) for pattern in self.outputs for p in glob.glob(pattern)
                       if Path(p).is_file()})

    def stale(self) -> bool:
        """Whether a build is due: no output yet, or a source newer than the outputs."""
        outputs = self.built()
        if not outputs:
            return True
        return _newest_source(self.folder, outputs) > min(p.stat().st_mtime for p in outputs)

    def makes(self, path: Path) -> bool:
        """Whether `path` (a library path, perhaps a glob) is inside the folder or is one of
        this artifact's outputs."""
        text = str(path)
        return self.folder == path or self.folder in path.parents or any(
            fnmatch.fnmatch(text, out) or fnmatch.fnmatch(out, text) for out in self.outputs)


def of_bundle(root: Path, raw: dict[str, Any]) -> list[Artifact]:
    """The bundle's artifacts podium can build: those with a `build` command, and wheels."""
    found = []
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("type") or "whl")
        if not entry.get("build") and kind != "whl":
            continue  # nothing to run: a prebuilt file the tasks name directly
        where = raw.loc_of(name) if hasattr(raw, "loc_of") else Location(str(root / "x"))
        base = where.folder() if where.file else root
        folder = (base / str(entry.get("path") or ".")).resolve()
        command: list[str] | str = str(entry["build"]) if entry.get("build") else \
            [uv_bin(), "build", "--wheel", "--quiet"]
        sources = [str(f.get("source")) for f in entry.get("files") or []
                   if isinstance(f, dict) and f.get("source")]
        outputs = tuple(os.path.normpath(base / s) for s in sources) or (
            (str(folder / "dist" / "*.whl"),) if kind == "whl" else ())
        found.append(Artifact(str(name), folder, command, outputs, where))
    return found


def library_paths(job: Job, clusters: dict[str, ClusterSpec]) -> list[Path]:
    """The local files a job's tasks and clusters install: Python packages (wheels,
    requirement files) and jars, as absolute paths (globs kept)."""
    paths: list[Path] = []
    for task in all_tasks(job):
        try:
            asked = requirements.asked_for(job, task, clusters)
        except requirements.RequirementError:
            asked = None  # said by the environment check
        for line in asked.lines if asked else []:
            written = line.split(" ", 1)[-1]
            if written.startswith("/"):
                paths.append(Path(written))
        paths += [Path(lib.jar) for lib in task.libraries if lib.jar]
    for cluster in job.job_clusters:
        paths += [Path(lib.jar) for lib in cluster.new_cluster.libraries if lib.jar]
    return [p for p in paths if p.is_absolute()]


def needed(artifacts: list[Artifact], job: Job,
           clusters: dict[str, ClusterSpec]) -> list[Artifact]:
    """The artifacts that make a file the job installs."""
    paths = library_paths(job, clusters)
    return [a for a in artifacts if any(a.makes(p) for p in paths)]


def build_needed(root: Path, raw: dict[str, Any], job: Job,
                 clusters: dict[str, ClusterSpec], say: Callable[[str], Any] = print
                 ) -> list[Problem]:
    """Build what the job needs and is stale, its output said line by line; the problems
    of builds that could not run or failed."""
    problems = []
    for artifact in needed(of_bundle(root, raw), job, clusters):
        if not artifact.stale():
            continue
        shell = isinstance(artifact.command, str)
        command = artifact.command if shell else shlex.join(artifact.command)
        missing = [t for t in tools_of(artifact.command) if not _installed(t)]
        if missing:
            tool = missing[0]
            hint = INSTALL_HINTS.get(tool, f"install {tool} and put it on PATH")
            problems.append(Problem(artifact.where, f"artifact '{artifact.name}' builds with "
                                    f"`{tool}`, which is not installed; {hint}"))
            continue
        say(f"building artifact '{artifact.name}' in {artifact.folder}: {command}")
        code, lines = _run(artifact, say)
        if code != 0:
            last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
            problems.append(Problem(artifact.where, f"artifact '{artifact.name}' did not "
                                    f"build: `{command}` exited with {code}"
                                    + (f": {last}" if last else "")))
        elif artifact.outputs and not artifact.built():
            problems.append(Problem(artifact.where, f"artifact '{artifact.name}' did not "
                                    f"build: `{command}` made none of its files "
                                    f"({', '.join(artifact.outputs)}); check `files`"))
    return problems


def tools_of(command: list[str] | str) -> list[str]:
    """The programs a build command runs (each command of a `&&`/`;`/`|` chain)."""
    if isinstance(command, list):
        return [command[0]]
    tools: list[str] = []
    for part in re.split(r"&&|\|\||;|\|", command):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        words = [w for w in words if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w)]
        if words and words[0] not in SHELL_WORDS and "/" not in words[0]:
            tools.append(words[0])
    return tools


def _installed(tool: str) -> bool:
    return shutil.which(tool, path=_path_with_uv()) is not None


def _run(artifact: Artifact, say: Callable[[str], Any]) -> tuple[int, list[str]]:
    """Run the build, saying each line of its output as it comes."""
    shell = isinstance(artifact.command, str)
    lines: list[str] = []
    try:
        with subprocess.Popen(artifact.command, shell=shell, cwd=artifact.folder, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env={**os.environ, "PATH": _path_with_uv()}) as build:
            assert build.stdout is not None
            for line in build.stdout:
                lines.append(line.rstrip("\n"))
                say(f"  {line.rstrip()}")
            code = build.wait(timeout=BUILD_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, [str(exc)]
    return code, lines


def _path_with_uv() -> str:
    """PATH with podium's uv first, so `build: uv build --wheel` works without a uv of
    the user's own."""
    return os.pathsep.join([str(Path(uv_bin()).parent), os.environ.get("PATH", "")])


def _newest_source(folder: Path, outputs: list[Path]) -> float:
    """The newest modification time of the folder's sources (outputs, caches,
    environments and a workspace kept inside the bundle left out)."""
    home = defaults.home().resolve()
    made = set(outputs)
    newest = 0.0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED and not d.endswith(".egg-info")
                       and Path(dirpath, d).resolve() != home]
        for name in filenames:
            path = Path(dirpath, name)
            if path in made or name.endswith(".class"):
                continue
            try:
                newest = max(newest, path.stat().st_mtime)
            except OSError:
                continue
    return newest
