"""Python environments of tasks: checked for `podium validate`/`run` (`survey`), and built
for the executor's tasks off the loop, one build per requested set in this process, the
outcome reported through the executor's queue (as a cluster start is). Other processes
building the same set wait on its lock in `python_envs.py`."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium import python_envs
from podium.python_envs import EnvironmentBuildError, PythonEnv
from podium.spec.checks import all_tasks
from podium.spec.errors import Location, Problem
from podium.spec.models import ClusterSpec, Job
from podium.tasks import requirements
from podium.tasks.requirements import Asked


@dataclass
class Build:
    """One requested set as this process sees it."""

    state: str = "BUILDING"  # BUILDING, READY, FAILED
    env: PythonEnv | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what the build did, for task logs


@dataclass
class EnvironmentBuilt:
    """A build ended (the loop reads the build's state); env when it succeeded."""

    key: str
    env: PythonEnv | None


class Environments:
    """Builds by requested set; `notify` puts an event on the executor's queue."""

    def __init__(self, notify: Callable[[EnvironmentBuilt], None]):
        self.notify = notify
        self.builds: dict[str, Build] = {}
        self._one_at_a_time = threading.Lock()

    def get(self, asked: Asked) -> Build:
        """The build for `asked`, started in the background when new."""
        key = python_envs.request_key(python_envs.expand(asked.lines), list(asked.indexes))
        key = f"{python_envs.envs_dir()}/{key}"  # PODIUM_HOME may change (tests)
        build = self.builds.get(key)
        if build is None or build.state == "FAILED":  # a failure is tried again by new asks
            build = self.builds[key] = Build()
            threading.Thread(target=self._build, args=(key, asked, build), daemon=True,
                             name="podium-env-build").start()
        return build

    def _build(self, key: str, asked: Asked, build: Build) -> None:
        with self._one_at_a_time:
            try:
                build.env = python_envs.ensure(asked.lines, list(asked.indexes),
                                               build.notes.append)
                build.state = "READY"
            except EnvironmentBuildError as exc:
                build.state, build.error = "FAILED", str(exc)
            except Exception as exc:  # uv missing, disk full: said on the task
                build.state, build.error = "FAILED", f"{type(exc).__name__}: {exc}"
        self.notify(EnvironmentBuilt(key, build.env))


def survey(job: Job, clusters: dict[str, ClusterSpec]
           ) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """Each task of `job` that asks for Python packages, with what it asks and whether its
    environment is built, and the problems found: a bad entry, or a set uv cannot
    resolve (located at the entry uv names). Resolving is cached per set, so only a
    new set costs a lookup in the package index."""
    rows: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for task in all_tasks(job):
        try:
            asked = requirements.asked_for(job, task, clusters)
        except requirements.RequirementError as exc:
            problems.append(Problem(exc.where, str(exc).removeprefix(f"{exc.where}: ")))
            continue
        if not asked:
            continue
        row: dict[str, Any] = {"packages": asked.lines, "indexes": list(asked.indexes),
                               "environment": None, "built": False}
        rows[task.task_key] = row
        missing = [r for r in asked.requirements if _missing_file(r.line)]
        for r in missing:
            problems.append(Problem(r.where, f"'{r.line}' does not exist yet; the task fails "
                                    "unless it is built first", "warning"))
        if missing:
            continue
        try:
            env = python_envs.planned(asked.lines, list(asked.indexes))
        except EnvironmentBuildError as exc:
            problems.append(Problem(_blamed(asked, str(exc)), f"the Python packages of task "
                                    f"'{task.task_key}' cannot be installed: {exc}"))
            continue
        row["environment"], row["built"] = env.key, (env.path / python_envs.READY).exists()
    return rows, problems


def _missing_file(line: str) -> bool:
    path = line.removeprefix("-r ").removeprefix("-e ").removeprefix("-c ").strip()
    if not path.startswith("/"):
        return False
    return not any(Path("/").glob(path.lstrip("/"))) if "*" in path else not Path(path).exists()


def _blamed(asked: Asked, reason: str) -> Location:
    """The entry a resolution failure is about: the last one whose package uv names."""
    named = [r for r in asked.requirements
             if (name := requirements.name_of(r.line)) and
             re.search(rf"\b{re.escape(name)}\b", reason.lower().replace("_", "-"))]
    return (named or list(asked.requirements))[-1 if named else 0].where
