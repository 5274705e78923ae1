"""Environment variables of a task's own, as a Databricks notebook's process has them:
`DATABRICKS_HOST` and a token, so `WorkspaceClient()`, `os.environ["DATABRICKS_TOKEN"]`
and the `databricks` CLI in a `%sh` cell reach the workspace without configuration.

Tasks share one process, so `os.environ` answers a task thread (and the threads it starts)
from the task's `TaskEnv` first for the names it holds; a task that sets one of them sets
its own. Subprocesses a task starts get them too. The values are made on first use (a
token is a write to the store), and secret ones are redacted from the task's log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from podium.runtime import context


class TaskEnv:
    """Variables of one run's tasks: their names, and their values made once, on first
    use."""

    def __init__(self, names: tuple[str, ...], make: Callable[[], dict[str, str]],
                 secret: tuple[str, ...] = ()):
        self.names, self.secret = names, secret
        _NAMES.update(names)
        self._make = make
        self._values: dict[str, str] | None = None
        self._lock = threading.Lock()

    def values(self) -> dict[str, str]:
        """The values (made now, the first time)."""
        with self._lock:
            if self._values is None:
                self._values = dict(self._make())
            return self._values

    def made(self) -> bool:
        """Whether the values were made (a token issued)."""
        return self._values is not None


# Every name some task has a value of: any other name is looked up as it always was,
# without asking which task the thread runs (os.environ is read often).
_NAMES: set[str] = set()


def _task() -> tuple[Any, TaskEnv | None]:
    ctx = context.current()
    return ctx, getattr(ctx, "env", None) if ctx is not None else None


def _own(key: Any) -> TaskEnv | None:
    """The calling task's variables, if `key` is one of them."""
    if key not in _NAMES:
        return None
    ctx, env = _task()
    if env is None or key not in env.names:
        return None
    for name in env.secret:  # redacted from this task's log from now on
        value = env.values().get(name)
        if value and value not in ctx.secret_values:
            ctx.secret_values.append(value)
    return env


class _TaskEnviron(type(os.environ)):  # type: ignore[misc]
    """`os.environ`, answering a task thread from its own variables first."""

    def __getitem__(self, key: Any) -> str:
        env = _own(key)
        if env is not None and key in env.values():
            return env.values()[key]
        return super().__getitem__(key)

    def __setitem__(self, key: Any, value: str) -> None:
        env = _own(key)
        if env is not None:
            env.values()[key] = value
            return
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        env = _own(key)
        if env is not None and key in env.values():
            del env.values()[key]
            return
        super().__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        _, env = _task()
        yield from super().__iter__()
        if env is not None:
            real = set(super().__iter__())
            yield from (k for k in env.names if k not in real and k in env.values())

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


def subprocess_env(given: Any) -> Any:
    """The environment a subprocess starts with: `given`, or when none was given the
    process's (with the task's variables on top in a task thread), always as a copy: a
    child left to read C's `environ` may exec while another thread's `os.environ` write
    moves that array (glibc's setenv), and fails with "[Errno 14] Bad address"."""
    if given is not None:
        return given
    while True:
        try:
            return dict(os.environ)
        except KeyError:  # another thread deleted a variable as it was being copied
            continue


def install() -> None:
    """Make `os.environ` answer task threads from their own variables (once)."""
    if not isinstance(os.environ, _TaskEnviron):
        os.environ.__class__ = _TaskEnviron
