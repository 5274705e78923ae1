"""Relative `sys.path` entries as a notebook means them: `sys.path.append("../src")` in a
notebook is relative to the notebook's folder, which is a notebook's working directory on
Databricks (the `default-python` template's notebook imports its package that way).

podium runs many tasks in one process and cannot change the working directory for one of
them, so a finder placed last in `sys.meta_path` retries an import that nothing else found
with each relative `sys.path` entry taken from the calling task's notebook folder.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from typing import Any

from podium.runtime import context


class NotebookRelativeFinder:
    """Finds top-level modules on relative `sys.path` entries, from the task's notebook
    folder."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        """The module's spec from a relative entry, or None (the import fails as usual)."""
        ctx = context.current()
        folder = ctx.notebook_dir if ctx is not None else None
        if path is not None or folder is None:
            return None
        entries = [os.path.normpath(os.path.join(folder, entry)) for entry in list(sys.path)
                   if isinstance(entry, str) and entry and not os.path.isabs(entry)]
        return importlib.machinery.PathFinder.find_spec(name, entries) if entries else None


def install() -> None:
    """Put the finder last in `sys.meta_path` (once)."""
    if NotebookRelativeFinder not in sys.meta_path:
        sys.meta_path.append(NotebookRelativeFinder)
