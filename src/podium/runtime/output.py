"""Each task's prints and log records go to that task's log file, not the terminal.

`sys.stdout`/`sys.stderr` are replaced once by routers that look up the current thread's
log; threads a task starts inherit its log (so a notebook's own ThreadPool prints land in
the right file). Threads that belong to no task write where they always did.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from podium.runtime import threads

_lock = threading.Lock()
_installed = False


def _current() -> IO[str] | None:
    return threads.get("log")


class _Router(io.TextIOBase):
    """A stream that writes to the current task's log, else to the original stream."""

    def __init__(self, fallback: IO[str]):
        self.fallback = fallback

    def write(self, text: str) -> int:
        target = _current()
        if target is None:
            return self.fallback.write(text)
        target.write(text)
        target.flush()
        return len(text)

    def flush(self) -> None:
        target = _current()
        (target or self.fallback).flush()

    def isatty(self) -> bool:
        return _current() is None and self.fallback.isatty()

    def fileno(self) -> int:
        return self.fallback.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.fallback, "encoding", "utf-8")


class _LogHandler(logging.Handler):
    """Sends log records made in a task's thread to that task's log."""

    def emit(self, record: logging.LogRecord) -> None:
        target = _current()
        if target is not None:
            target.write(self.format(record) + "\n")
            target.flush()


def install() -> None:
    """Install the routers (again, if something replaced sys.stdout since)."""
    global _installed
    with _lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)  # type: ignore[assignment]
        if not _installed:
            handler = _LogHandler()
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logging.getLogger().addHandler(handler)
            threads.install()
            _installed = True


def original_stdout() -> IO[str]:
    """The stream stdout wrote to before routing, for the orchestrator's own output."""
    out: Any = sys.stdout
    return out.fallback if isinstance(out, _Router) else out


def original_stderr() -> IO[str]:
    """The stream stderr wrote to before routing."""
    err: Any = sys.stderr
    return err.fallback if isinstance(err, _Router) else err


@contextmanager
def captured(path: Path, redact: list[str] | None = None) -> Iterator[IO[str]]:
    """Route this thread's output to `path` (appending) while the block runs."""
    install()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8", buffering=1) as raw:
        stream: IO[str] = _Redacting(raw, redact) if redact is not None else raw
        previous = threads.put("log", stream)
        try:
            yield stream
        finally:
            threads.put("log", previous)


class _Redacting(io.TextIOBase):
    """Replaces secret values with [REDACTED] before they reach a log."""

    def __init__(self, raw: IO[str], secrets: list[str]):
        self.raw, self.secrets = raw, secrets

    def write(self, text: str) -> int:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "[REDACTED]")
        return self.raw.write(text)

    def flush(self) -> None:
        self.raw.flush()
