"""`sys.argv` per thread, so concurrent Python-file tasks each see their own arguments."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()


class _ThreadArgv(list):
    """A list that reads as the calling thread's argv when one is set."""

    def _base(self) -> list[str]:
        return list.__getitem__(self, slice(None))

    def _view(self) -> list[str]:
        argv = getattr(_local, "argv", None)
        return argv if argv is not None else self._base()

    def __getitem__(self, item: Any) -> Any:
        return self._view()[item]

    def __len__(self) -> int:
        return len(self._view())

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __repr__(self) -> str:
        return repr(self._view())


@contextmanager
def thread_argv(argv: list[str]) -> Iterator[None]:
    """Make `sys.argv` read as `argv` in this thread while the block runs."""
    if not isinstance(sys.argv, _ThreadArgv):
        sys.argv = _ThreadArgv(sys.argv)
    previous = getattr(_local, "argv", None)
    _local.argv = argv
    try:
        yield
    finally:
        _local.argv = previous
