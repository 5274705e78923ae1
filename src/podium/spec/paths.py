"""Files a bundle names: notebooks may be written with or without their extension, and
workspace paths (`/Users/...`) are found in the workspace folder."""

from __future__ import annotations

from pathlib import Path

from podium.spec import workspace

SUFFIXES = (".py", ".ipynb", ".sql")


def find_file(path: Path) -> Path | None:
    """`path` itself, or `path` plus a notebook suffix, whichever exists first; else, for
    a workspace path, the object in the workspace folder."""
    for candidate in (path, *(path.with_name(path.name + s) for s in SUFFIXES)):
        if candidate.is_file():
            return candidate.resolve()
    if workspace.is_workspace_path(str(path)):
        return workspace.notebook_file(str(path))
    return None
