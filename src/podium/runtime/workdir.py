"""A working directory per task: the folder of its notebook or Python file, as Databricks
gives one (DBR 14+), so `open("../config/data.json")`, `os.getcwd() + "/../shared"` and
`os.chdir` in task code mean what they mean there.

Tasks share one process, whose real working directory cannot be one per task. So, in a
thread that runs task code (and the threads it starts), `os.getcwd`/`os.chdir` read and set
the task's own folder, and relative paths given to Python's file functions (`open`, `os`
functions that take a path, hence `os.path`, `pathlib`, `glob`, `shutil`) and the
subprocesses it starts are taken from there. Other threads, and code that opens files
outside Python (a C library given a relative path), see the process's directory.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import stat
from pathlib import Path
from typing import Any

from podium.runtime import context

_real_getcwd = os.getcwd
_real_stat = os.stat
_installed = False

# os functions whose first argument is a path (`dir_fd` given: relative to that instead)
ONE_PATH = ("stat", "lstat", "open", "mkdir", "rmdir", "remove", "unlink", "access",
            "chmod", "utime", "readlink", "truncate", "listxattr", "getxattr", "mkfifo")
TWO_PATHS = ("rename", "replace", "link")


def current() -> str | None:
    """The calling task's working directory, or None outside a task (or one without)."""
    ctx = context.current()
    folder = getattr(ctx, "workdir", None) if ctx is not None else None
    return str(folder) if folder is not None else None


def absolute(path: Any) -> Any:
    """`path` taken from the task's working directory when it is relative; anything else
    (an open descriptor, an absolute path, a path outside a task) unchanged."""
    if isinstance(path, int) or (isinstance(path, str) and path.startswith("/")):
        return path  # the common case, decided before looking for the thread's task
    folder = current()
    if folder is None:
        return path
    try:
        text = os.fspath(path)
    except TypeError:
        return path
    if isinstance(text, bytes):
        return text if text.startswith(b"/") else os.path.join(os.fsencode(folder), text)
    return text if text.startswith("/") else os.path.join(folder, text)


def _one(function: Any) -> Any:
    def in_workdir(path: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("dir_fd") is None:
            path = absolute(path)
        return function(path, *args, **kwargs)
    in_workdir.__wrapped__ = function  # type: ignore[attr-defined]
    return in_workdir


def _two(function: Any) -> Any:
    def in_workdir(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("src_dir_fd") is None:
            src = absolute(src)
        if kwargs.get("dst_dir_fd") is None:
            dst = absolute(dst)
        return function(src, dst, *args, **kwargs)
    in_workdir.__wrapped__ = function  # type: ignore[attr-defined]
    return in_workdir


def _listing(function: Any) -> Any:
    def in_workdir(path: Any = None, *args: Any, **kwargs: Any) -> Any:
        if path is None:
            path = current() or "."
        return function(absolute(path), *args, **kwargs)
    in_workdir.__wrapped__ = function  # type: ignore[attr-defined]
    return in_workdir


def _symlink(function: Any) -> Any:
    def in_workdir(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("dir_fd") is None:
            dst = absolute(dst)  # the link's target stays as written: relative to the link
        return function(src, dst, *args, **kwargs)
    in_workdir.__wrapped__ = function  # type: ignore[attr-defined]
    return in_workdir


def _getcwd() -> str:
    return current() or _real_getcwd()


def _getcwdb() -> bytes:
    return os.fsencode(_getcwd())


_real_chdir = os.chdir


def _chdir(path: Any) -> None:
    """In a task: change the task's working directory only (as in a Databricks notebook's
    own Python process), also for a task that had none; elsewhere the process's."""
    ctx = context.current()
    if ctx is None or isinstance(path, int):
        _real_chdir(path)
        return
    target = os.path.normpath(os.path.join(current() or _real_getcwd(), os.fspath(path)))
    if not stat.S_ISDIR(_real_stat(target).st_mode):  # FileNotFoundError as os.chdir's
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", os.fspath(path))
    ctx.workdir = Path(target)


def install() -> None:
    """Route the file functions through the task's working directory (once)."""
    global _installed
    if _installed:
        return
    for name in ONE_PATH:
        if hasattr(os, name):
            setattr(os, name, _one(getattr(os, name)))
    for name in TWO_PATHS:
        setattr(os, name, _two(getattr(os, name)))
    os.listdir = _listing(os.listdir)
    os.scandir = _listing(os.scandir)
    os.symlink = _symlink(os.symlink)
    os.getcwd = _getcwd
    os.getcwdb = _getcwdb
    os.chdir = _chdir
    opened = _one(builtins.open)
    builtins.open = opened
    io.open = opened
    _installed = True
