"""Python environments for tasks that ask for packages, built with uv.

A requested set (requirement lines and extra indexes) is resolved once to pinned versions;
each distinct pinned set (and the wheels it names, by content) is one virtual environment
under `$PODIUM_HOME/envs/<hash>`, built once and reused by every task and run that asks
for it. An environment holds only the task's packages: a `.pth` file puts podium's own
environment (pyspark, podium) behind them, so the task's versions win where both have a
package and nothing of podium's is copied.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from podium import defaults
from podium.uv_tool import machine_indexes, uv_bin

READY = ".ready"
UV_TIMEOUT_SECONDS = 600


class EnvironmentBuildError(Exception):
    """A task's Python environment cannot be resolved or built; the message is uv's reason."""


@dataclass(frozen=True)
class PythonEnv:
    """A built environment: its folder and interpreter."""

    path: Path
    key: str

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.path / "bin" / "python"


def envs_dir() -> Path:
    """Where environments live: `$PODIUM_HOME/envs`."""
    path = defaults.home() / "envs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def expand(lines: list[str]) -> list[str]:
    """Wheel paths with wildcards (`./dist/*.whl`) as the files they match now."""
    out: list[str] = []
    for line in lines:
        if "*" not in line or not line.startswith("/"):
            out.append(line)
            continue
        matches = sorted(str(p) for p in Path("/").glob(line.lstrip("/")))
        if not matches:
            raise EnvironmentBuildError(f"no file matches '{line}'; build it first")
        out += matches
    return out


def request_key(lines: list[str], indexes: list[str]) -> str:
    """A hash of what was asked: the lines, indexes, the files they name (by content),
    and the interpreter the environment is for."""
    digest = hashlib.sha256()
    for part in [*lines, "|", *indexes, "|", sys.version, sys.prefix]:
        digest.update(part.encode() + b"\0")
    for path in _named_files(lines):
        digest.update(_file_digest(path).encode())
    return digest.hexdigest()[:20]


def resolve(lines: list[str], indexes: list[str]) -> str:
    """The pinned requirements of a requested set (uv pip compile), kept per request so
    a set is resolved once; EnvironmentBuildError with uv's reason when none exists.

    Wheels are preferred: the set is first resolved from wheels only, and from source
    distributions too only when that finds nothing. A build runs the package's own code,
    which may fetch what a machine cannot reach (dbt-core 1.12.5's parser downloads its
    binary from GitHub while it builds) and is slower; a set of wheels just installs."""
    lines = expand(lines)
    cached = envs_dir() / "resolved" / f"{request_key(lines, indexes)}.txt"
    if cached.is_file():
        return cached.read_text()
    command = [uv_bin(), "pip", "compile", "-", "--quiet", "--no-header", "--no-annotate",
               "--python", sys.executable, *machine_indexes(),
               *(arg for index in indexes for arg in ("--extra-index-url", index)),
               *(arg for name in defaults.PROVIDED_PYTHON_PACKAGES
                 for arg in ("--no-emit-package", name))]
    for only_wheels in (["--only-binary", ":all:"], []):
        done = subprocess.run([*command, *only_wheels], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, timeout=UV_TIMEOUT_SECONDS,
                              cwd=envs_dir())
        if done.returncode == 0:
            break
    if done.returncode != 0:
        raise EnvironmentBuildError(uv_reason(done.stderr))
    cached.parent.mkdir(parents=True, exist_ok=True)
    temporary = cached.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(done.stdout)
    temporary.replace(cached)
    return done.stdout


def planned(lines: list[str], indexes: list[str]) -> PythonEnv:
    """Where the environment for a requested set is (or will be): resolved, not built."""
    pinned = resolve(lines, indexes)
    digest = hashlib.sha256(f"{pinned}|{sys.version}|{sys.prefix}".encode())
    for path in _named_files(pinned.splitlines()):
        digest.update(_file_digest(path).encode())
    key = digest.hexdigest()[:16]
    return PythonEnv(envs_dir() / key, key)


def ensure(lines: list[str], indexes: list[str],
           say: Callable[[str], None] = lambda _: None) -> PythonEnv:
    """The environment for a requested set, built now if no process built it before
    (one builder at a time per environment; the others wait for it)."""
    env = planned(lines, indexes)
    key = env.key
    pinned = resolve(lines, indexes)
    if (env.path / READY).exists():
        return env
    with _locked(envs_dir() / f"{key}.lock"):
        if (env.path / READY).exists():
            return env
        began = time.monotonic()
        say(f"building Python environment {key}: {', '.join(_pins(pinned))}")
        shutil.rmtree(env.path, ignore_errors=True)  # a build that died half-way
        try:
            _build(env, pinned, indexes)
        except EnvironmentBuildError:
            shutil.rmtree(env.path, ignore_errors=True)
            raise
        say(f"built Python environment {key} in {time.monotonic() - began:.1f}s")
    return env


def _build(env: PythonEnv, pinned: str, indexes: list[str]) -> None:
    _run([uv_bin(), "venv", "--quiet", "--python", sys.executable, str(env.path)])
    (env.path / "requirements.txt").write_text(pinned)
    if _pins(pinned):
        _run([uv_bin(), "pip", "install", "--quiet", "--no-deps", "--python", str(env.python),
              *machine_indexes(),
              *(arg for index in indexes for arg in ("--extra-index-url", index)),
              "-r", str(env.path / "requirements.txt")])
    site = env.path / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / \
        "site-packages"
    own = sysconfig.get_paths()["purelib"]
    # After the environment's own packages: the task's versions win, podium's fill in.
    (site / "zz_podium.pth").write_text(f"import site; site.addsitedir({own!r})\n")
    (env.path / READY).write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=UV_TIMEOUT_SECONDS,
                          cwd=envs_dir())
    if done.returncode != 0:
        raise EnvironmentBuildError(uv_reason(done.stderr))


def uv_reason(stderr: str) -> str:
    """uv's reason for a failure, on one line (its `cause:`/`╰─▶` line when it has one)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        for mark in ("cause:", "╰─▶"):
            if line.startswith(mark):
                return line.removeprefix(mark).strip()
    return " ".join(ln.removeprefix("error:").strip() for ln in lines[:2]) or "uv failed"


def _pins(pinned: str) -> list[str]:
    return [ln.strip() for ln in pinned.splitlines()
            if ln.strip() and not ln.lstrip().startswith(("#", "-"))]


def _named_files(lines: list[str]) -> Iterator[Path]:
    """Local files a set of requirement lines names (wheels, requirement files)."""
    for line in lines:
        text = line.strip().removeprefix("-r ").removeprefix("-c ").strip()
        if " @ " in text:
            text = text.split(" @ ", 1)[1].strip()
        if text.startswith("file://"):
            text = unquote(urlparse(text).path)
        path = Path(text)
        if path.is_absolute() and path.is_file():
            yield path


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
