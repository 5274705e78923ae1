"""Each task's prints, log records and subprocess output go to that task's log file, not
the terminal.

`sys.stdout`/`sys.stderr` are replaced once by routers that look up the current thread's
log; threads a task starts inherit its log (so a notebook's own ThreadPool prints land in
the right file). Threads that belong to no task write where they always did. The routers
behave as real text streams (`buffer`, `encoding`, `errors`, `fileno`, `writelines`).
Subprocesses a task starts without redirecting their output (`os.system`,
`subprocess.run([...])`, `%sh`) write into a pipe that a small thread copies to the
task's log, so several tasks' subprocesses never mix and secrets are still redacted.
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from podium import threads
from podium.runtime import task_env, workdir
from podium.runtime.errors import LogUnwritable

_lock = threading.Lock()
_installed = False


def _current() -> IO[str] | None:
    return threads.get("log")


class _Router(io.TextIOBase):
    """A stream that writes to the current task's log, else to the original stream."""

    def __init__(self, fallback: IO[str]):
        self.fallback = fallback
        self._buffer = _BytesRouter(self)

    def write(self, text: str) -> int:
        target = _current()
        if target is None:
            return self.fallback.write(text)
        target.write(text)
        target.flush()
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        target = _current()
        (target or self.fallback).flush()

    def isatty(self) -> bool:
        return _current() is None and self.fallback.isatty()

    def fileno(self) -> int:
        target = _current()
        return target.fileno() if target is not None else self.fallback.fileno()

    @property
    def buffer(self) -> _BytesRouter:  # type: ignore[override]
        """Bytes written here reach the same place as text (UTF-8, bad bytes replaced)."""
        return self._buffer

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8" if _current() is not None else \
            getattr(self.fallback, "encoding", "utf-8")

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace" if _current() is not None else \
            getattr(self.fallback, "errors", "strict")


class _BytesRouter(io.RawIOBase):
    """`sys.stdout.buffer`: bytes to the current task's log (decoded, bad bytes replaced),
    else to the original stream's buffer."""

    def __init__(self, text: _Router):
        self.text = text

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if _current() is None:
            fallback = getattr(self.text.fallback, "buffer", None)
            if fallback is not None:
                return fallback.write(data)
        self.text.write(bytes(data).decode("utf-8", errors="replace"))
        return len(data)

    def flush(self) -> None:
        self.text.flush()

    def fileno(self) -> int:
        return self.text.fileno()


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
            subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]
            subprocess.Popen.wait = _popen_wait  # type: ignore[method-assign]
            os.system = _system
            _installed = True


class _OwnLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the orchestrator's own log records (made outside task threads) to the
    stream stderr wrote to before routing; task threads' records go to their logs."""

    def emit(self, record: logging.LogRecord) -> None:
        if _current() is None:
            super().emit(record)


def log_own(logger: str = "podium") -> None:
    """Let `logger`'s records from the orchestrator's own threads reach the process's
    stderr (a server's log): without this they would go nowhere, since the root logger's
    one handler writes only to tasks' logs."""
    handler = _OwnLogHandler(original_stderr())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    target = logging.getLogger(logger)
    if not any(isinstance(h, _OwnLogHandler) for h in target.handlers):
        target.addHandler(handler)
        target.setLevel(min(target.level or logging.INFO, logging.INFO))


def original_stdout() -> IO[str]:
    """The stream stdout wrote to before routing, for the orchestrator's own output."""
    out: Any = sys.stdout
    return out.fallback if isinstance(out, _Router) else out


def original_stderr() -> IO[str]:
    """The stream stderr wrote to before routing."""
    err: Any = sys.stderr
    return err.fallback if isinstance(err, _Router) else err


@contextmanager
def captured(path: Path, redact: list[str] | None = None) -> Iterator[TaskLog]:
    """Route this thread's output to `path` (appending) while the block runs. The file
    and its folder are made at the first write: a task that prints nothing leaves none.
    Failing to write the log is kept on the yielded log's `failed` (and raised where the
    task wrote)."""
    install()
    # `redact` grows as the task reads secrets: keep the very list
    log = TaskLog(path, redact if redact is not None else [])
    previous = threads.put("log", log)
    try:
        yield log
    finally:
        threads.put("log", previous)
        log.close()


def unwritable(path: Path, exc: OSError) -> str:
    """Why a task failed whose log could not be written, and what to do."""
    return (f"its log could not be written ({path}: {exc.strerror or exc}); free space "
            "where PODIUM_HOME is, then repair the run")


def append_to(path: Path, buffering: int = -1) -> IO[str]:
    """Open `path` to append UTF-8 text, making its folder first: a task's log folder is
    made with its first line, so the files kept beside the log may come before it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8", buffering=buffering)


class TaskLog(io.TextIOBase):
    """A task's log file: replaces secret values with [REDACTED] before they reach it,
    and remembers the first write that failed (a full disk): the write raises
    LogUnwritable in the task, and the task fails saying why even if it caught that."""

    def __init__(self, path: Path, secrets: list[str]):
        self.path, self.secrets = path, secrets
        self.failed: OSError | None = None
        # opened at the first write: making a folder and a file was half of what a
        # no-op task cost podium, and many small tasks print nothing
        self._raw: IO[str] | None = None

    @property
    def raw(self) -> IO[str]:
        """The open log file, made (appending, with its folder) on first use."""
        if self._raw is None:
            self._raw = self._guard(append_to, self.path, 1)  # line-buffered
        return self._raw

    def close(self) -> None:
        """Close the file if it was opened; a failure to is kept on `failed`."""
        if self._raw is not None and not self._raw.closed:
            try:
                self._raw.close()
            except OSError as exc:
                self.failed = self.failed or exc
        super().close()

    @property
    def reason(self) -> str:
        """Why the task failed, once a write failed."""
        return unwritable(self.path, self.failed) if self.failed else ""

    def write(self, text: str) -> int:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "[REDACTED]")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._guard(self.raw.write, text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        if self._raw is not None and not self._raw.closed:
            self._guard(self._raw.flush)

    def fileno(self) -> int:
        return self.raw.fileno()

    def _guard(self, call: Any, *args: Any) -> Any:
        if self.failed is not None:
            raise LogUnwritable(self.failed.errno, self.reason)
        try:
            return call(*args)
        except OSError as exc:
            self.failed = exc
            raise LogUnwritable(exc.errno, self.reason) from exc


_original_init = subprocess.Popen.__init__
_original_wait = subprocess.Popen.wait
_original_system = os.system


def _pump(fd: int, target: IO[str]) -> None:
    """Copy a subprocess's output from pipe `fd` to a task's log until it closes."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            _write_quietly(target, decoder.decode(chunk))
        _write_quietly(target, decoder.decode(b"", final=True))


def _write_quietly(target: IO[str], text: str) -> None:
    if text:
        try:
            target.write(text)
            target.flush()
        except ValueError:  # the task ended and its log closed; nowhere left to write
            pass
        except OSError:  # the log cannot be written: its TaskLog remembers, the task fails
            pass


def _popen_init(self: subprocess.Popen, *args: Any, **kwargs: Any) -> None:
    """Popen that sends the inherited stdout/stderr of a task's subprocess to its log, and
    starts it in the task's working directory with the task's variables unless told."""
    folder = workdir.current()
    if folder is not None and len(args) < 10 and kwargs.get("cwd") is None:
        kwargs["cwd"] = folder
    if len(args) < 11:  # DATABRICKS_HOST and the task's token, unless given an env
        kwargs["env"] = task_env.subprocess_env(kwargs.get("env"))
    target = _current()
    names = [name for name in ("stdout", "stderr") if kwargs.get(name) is None]
    if target is None or not names:
        _original_init(self, *args, **kwargs)
        return
    target.flush()
    read, write = os.pipe()
    for name in names:
        kwargs[name] = write
    try:
        _original_init(self, *args, **kwargs)
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    pump = threading.Thread(target=_pump, args=(read, target), daemon=True,
                            name="podium-subprocess-output")
    pump.start()
    self._podium_pump = pump  # type: ignore[attr-defined]


def _popen_wait(self: subprocess.Popen, timeout: float | None = None) -> int:
    """Wait for the process, then for its last output to reach the log (so what the task
    prints next comes after it)."""
    code = _original_wait(self, timeout)
    pump = getattr(self, "_podium_pump", None)
    if pump is not None:
        pump.join(2.0)  # a daemon it left behind may hold the pipe; never wait on that
    return code


def _system(command: str) -> int:
    """`os.system` whose output goes to the calling task's log; its usual wait status."""
    if _current() is None:
        return _original_system(command)
    code = subprocess.call(command, shell=True)
    return code << 8 if code >= 0 else -code
