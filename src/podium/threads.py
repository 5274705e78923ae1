"""Per-thread values that threads started by task code inherit (log, task context)."""

from __future__ import annotations

import threading
from typing import Any

_original_start = threading.Thread.start
_installed = False


def get(name: str) -> Any:
    """This thread's value for `name`, or the one it inherited from its starter."""
    return getattr(threading.current_thread(), f"_podium_{name}", None)


def put(name: str, value: Any) -> Any:
    """Set this thread's value for `name`; returns the previous one to restore later."""
    thread = threading.current_thread()
    previous = getattr(thread, f"_podium_{name}", None)
    setattr(thread, f"_podium_{name}", value)
    return previous


def _start_inheriting(self: threading.Thread) -> None:
    parent = threading.current_thread()
    for attr, value in vars(parent).items():
        if attr.startswith("_podium_") and not hasattr(self, attr):
            setattr(self, attr, value)
    _original_start(self)


def install() -> None:
    """Make new threads inherit their starter's podium values (idempotent)."""
    global _installed
    if not _installed:
        threading.Thread.start = _start_inheriting  # type: ignore[method-assign]
        _installed = True
