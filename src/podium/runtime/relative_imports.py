"""Imports as a notebook or Python file sees them on Databricks: its own folder is on
`sys.path`, and a relative entry (`sys.path.append("../src")`, as the `default-python`
template's notebook has it) is relative to its working directory, the folder it is in.

podium runs many tasks in one process and cannot change `sys.path` or the working directory
for one of them, so a finder placed last in `sys.meta_path` retries an import that nothing
else found in the calling task's folder and with each relative `sys.path` entry taken from
its working directory (`workdir.py`).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from typing import Any

from podium.runtime import context


class NotebookRelativeFinder:
    """Finds top-level modules in the task's folder and on relative `sys.path` entries."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        """The module's spec from the task's folder or a relative entry, or None (the
        import fails as usual)."""
        ctx = context.current()
        folder = ctx.notebook_dir if ctx is not None else None
        if path is not None or folder is None:
            return None
        base = ctx.workdir or folder
        entries = [str(folder)] + [
            os.path.normpath(os.path.join(base, entry)) for entry in list(sys.path)
            if isinstance(entry, str) and entry and not os.path.isabs(entry)]
        return importlib.machinery.PathFinder.find_spec(name, entries)


def install() -> None:
    """Put the finder last in `sys.meta_path` (once)."""
    if NotebookRelativeFinder not in sys.meta_path:
        sys.meta_path.append(NotebookRelativeFinder)
