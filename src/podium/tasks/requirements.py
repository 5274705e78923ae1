"""What Python packages a task asks for, each with where it was asked: the `pypi`, `whl`
and `requirements` entries of its `libraries` and its cluster's, the dependencies of its
`environment_key`, and its notebook's `%pip install` cells.

A task that asks for nothing runs in podium's own process; one that asks for something
runs in an environment built for exactly that set (`podium.python_envs`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from podium import defaults
from podium.runtime.notebooks import magic_line, read_cells
from podium.spec import workspace
from podium.spec.errors import Location
from podium.spec.models import ClusterSpec, Job, Library, Task, shared_spec
from podium.spec.paths import find_file

# What a dbt task that names no dbt adapter gets (on Databricks it would not run at all).
DBT_ADAPTER = "dbt-databricks>=1.8.0,<2.0.0"
# `%pip install` options that change nothing about what is installed.
QUIET_FLAGS = frozenset({"-q", "--quiet", "-U", "--upgrade", "--force-reinstall",
                         "--no-cache-dir", "--disable-pip-version-check", "--user",
                         "--pre", "--no-warn-script-location", "-I", "--ignore-installed"})


@dataclass(frozen=True)
class Requirement:
    """One pip requirement line (local paths absolute) and where it was written."""

    line: str
    where: Location


@dataclass(frozen=True)
class Asked:
    """A task's Python packages: requirement lines and extra package indexes."""

    requirements: tuple[Requirement, ...] = ()
    indexes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.requirements)

    @property
    def lines(self) -> list[str]:
        """The requirement lines, in the order asked."""
        return [r.line for r in self.requirements]


class RequirementError(ValueError):
    """A requirement podium cannot use, at the place it was written."""

    def __init__(self, where: Location, message: str):
        self.where = where
        super().__init__(f"{where}: {message}")


def asked_for(job: Job, task: Task, clusters: dict[str, ClusterSpec] | None = None) -> Asked:
    """Everything `task` asks for, in order: its cluster's libraries (a bundle's shared
    clusters are `clusters`), its own, its environment's, its notebook's `%pip` cells."""
    found: list[Requirement] = []
    indexes: list[str] = []
    for library in [*cluster_libraries(job, task, clusters or {}), *task.libraries]:
        found += _of_library(library, indexes)
    if task.environment_key:
        env = next((e for e in job.environments
                    if e.environment_key == task.environment_key), None)
        if env is not None:
            raw = env.spec.raw_of("dependencies")
            for i, text in enumerate(env.spec.dependencies):
                where = raw.loc_of(i) if raw is not None else env.spec.loc_of("dependencies")
                found += _of_line(str(text), where.folder(), where, indexes)
    if task.notebook_task is not None:
        found += _of_notebook(task.notebook_task.notebook_path, indexes)
    if task.dbt_task is not None and not any(name_of(r.line).startswith("dbt-")
                                             for r in found):
        found.append(Requirement(DBT_ADAPTER, task.dbt_task.loc))
    kept = [r for r in found
            if name_of(r.line) not in defaults.PROVIDED_PYTHON_PACKAGES]
    return Asked(tuple(kept), tuple(dict.fromkeys(indexes)))


def cluster_libraries(job: Job, task: Task, clusters: dict[str, ClusterSpec]) -> list[Library]:
    """The `libraries` the task's cluster itself declares: every task on it gets them."""
    if task.existing_cluster_id:
        spec = shared_spec(clusters, task.existing_cluster_id)
    else:
        spec = job.cluster(task.job_cluster_key) if task.job_cluster_key else None
    return list(spec.libraries) if spec is not None else []


def _of_library(library: Library, indexes: list[str]) -> list[Requirement]:
    if library.pypi is not None:
        if library.pypi.repo:
            indexes.append(library.pypi.repo)
        return [Requirement(library.pypi.package.strip(), library.pypi.loc_of("package"))]
    for field in ("whl", "requirements"):
        written = getattr(library, field)
        if written:
            where = library.loc_of(field)
            path = _local_path(written, where.folder(), where)
            return [Requirement(f"-r {path}" if field == "requirements" else str(path), where)]
    return []


def _of_line(text: str, base: Path, where: Location, indexes: list[str]) -> list[Requirement]:
    """One `dependencies` entry or `%pip install` argument list, as requirement lines."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError as exc:  # an unclosed quote
        raise RequirementError(where, f"cannot read '{text}': {exc}") from None
    found: list[Requirement] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-r", "--requirement", "-e", "--editable", "-i", "--index-url",
                    "--extra-index-url", "-c", "--constraint"):
            if i + 1 >= len(words):
                raise RequirementError(where, f"'{word}' needs a value")
            value = words[i + 1]
            if word in ("-i", "--index-url", "--extra-index-url"):
                indexes.append(value)
            elif word in ("-r", "--requirement"):
                found.append(Requirement(f"-r {_local_path(value, base, where)}", where))
            elif word in ("-e", "--editable"):
                found.append(Requirement(f"-e {_local_path(value, base, where)}", where))
            else:
                found.append(Requirement(f"-c {_local_path(value, base, where)}", where))
            i += 2
            continue
        if word in QUIET_FLAGS:
            pass
        elif not word.strip() or not word.isprintable():  # shlex splits on ASCII blanks only
            raise RequirementError(where, f"{word!r} is no package, path or URL pip can "
                                   "read; remove its blank or control characters")
        elif word.startswith("-"):
            raise RequirementError(where, f"pip option '{word}' is not supported locally; "
                                   "remove it")
        elif _is_path(word):
            found.append(Requirement(str(_local_path(word, base, where)), where))
        else:
            found.append(Requirement(word, where))
        i += 1
    return found


def _of_notebook(notebook_path: str, indexes: list[str]) -> list[Requirement]:
    """The packages of a notebook's `%pip install` cells (other `%pip` commands, such as
    `%pip list`, ask for nothing)."""
    path = find_file(Path(notebook_path))
    if path is None:
        return []
    found: list[Requirement] = []
    for cell in read_cells(path):
        if cell.language != "pip":
            continue
        text = " ".join(line.strip() for line in cell.source.split("\n") if line.strip())
        command, _, rest = text.partition(" ")
        if command != "install":
            continue
        where = Location(str(path), magic_line(cell), 1)
        if "$" in rest or "{" in rest:
            raise RequirementError(where, "a %pip install that uses variables cannot be "
                                   "built ahead of the run; write the packages out")
        found += _of_line(rest, path.parent, where, indexes)
    return found


def _is_path(word: str) -> bool:
    return word.startswith((".", "/", "~")) or word.endswith((".whl", ".tar.gz", ".zip"))


def _local_path(written: str, base: Path, where: Location) -> Path:
    """A path from a bundle or notebook on this machine: relative to the file that names
    it, or a `/Workspace` path in podium's workspace folder; `dbfs:/` has no local copy."""
    if written.startswith("dbfs:"):
        raise RequirementError(where, f"'{written}' is on DBFS, which has no local copy; "
                               "point at the file in the bundle instead")
    if workspace.is_workspace_path(written):
        return workspace.local(written)
    try:
        path = Path(written).expanduser()
    except RuntimeError:  # `~name` of a user this machine does not have
        raise RequirementError(where, f"cannot find the home folder in '{written}'") from None
    return path if path.is_absolute() else (base / path).resolve()


def name_of(line: str) -> str:
    """The distribution name of a requirement line ('' for paths and options)."""
    if line.startswith("-") or _is_path(line):
        return ""
    name = line
    for stop in "<>=!~;[ @":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


def describe(asked: Asked) -> str:
    """One line naming what a task asks for, for logs."""
    return ", ".join(asked.lines) + (f" (indexes {', '.join(asked.indexes)})"
                                     if asked.indexes else "")
