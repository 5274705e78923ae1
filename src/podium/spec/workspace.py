"""Workspace paths (`/Users/...`, `/Shared/...`, `/Workspace/...`) and the local folder
that holds them: `$PODIUM_HOME/workspace`. Notebooks are addressed without their
extension, as in Databricks; a path that would leave the folder is refused."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from podium import defaults

PREFIXES = ("/Users", "/Shared", "/Workspace", "/Repos")
NOTEBOOK_SUFFIXES = {".py": "PYTHON", ".sql": "SQL", ".scala": "SCALA", ".r": "R",
                     ".ipynb": "PYTHON"}
MAX_PATH = 4096


class WorkspacePathError(ValueError):
    """A workspace path that is malformed or leaves the workspace folder."""


def root() -> Path:
    """The folder that holds the workspace's files and notebooks (made on first use;
    every notebook run asks for it)."""
    path = defaults.home() / "workspace"
    if path not in _made:
        path.mkdir(exist_ok=True)
        _made.add(path)
    return path


_made: set[Path] = set()


def is_workspace_path(text: str) -> bool:
    """Whether `text` names a workspace object (`/Users/...` and the other roots)."""
    return any(text == p or text.startswith(p + "/") for p in PREFIXES)


def normalized(text: str) -> str:
    """The canonical form of workspace path `text`: absolute, `/Workspace` dropped
    (`/Workspace/Users/a` is `/Users/a`), no trailing slash. WorkspacePathError when it
    is not absolute, has `..`, `.`, empty parts, NUL or control characters."""
    if not isinstance(text, str) or not text.startswith("/"):
        raise WorkspacePathError(f"Path ({text!r}) must be absolute, starting with '/'")
    if len(text) > MAX_PATH or any(ord(c) < 32 for c in text):
        raise WorkspacePathError(f"Path ({text!r}) has a NUL or control character or is "
                                 "too long")
    parts = text.rstrip("/").split("/")[1:] if text != "/" else []
    if any(p in ("", ".", "..") for p in parts):
        raise WorkspacePathError(f"Path ({text}) must not contain '.', '..' or empty parts")
    if parts[:1] == ["Workspace"]:
        parts = parts[1:]
    return "/" + "/".join(parts)


def local(text: str) -> Path:
    """The local path of workspace path `text` (which may not exist yet); refuses any
    path that leads outside the workspace folder, symlinks included."""
    path = normalized(text)
    base = root().resolve()
    target = base.joinpath(*PurePosixPath(path).parts[1:])
    # Follow every symlink that exists along the way: the real place must stay inside.
    real = Path(os.path.realpath(target))
    if real != base and base not in real.parents:
        raise WorkspacePathError(f"Path ({path}) leads outside the workspace")
    return target


def notebook_file(text: str) -> Path | None:
    """The file of notebook or file `text` in the workspace: the path itself, or with a
    notebook extension; None when there is none."""
    try:
        path = local(text)
    except WorkspacePathError:
        return None
    for candidate in (path, *(path.with_name(path.name + s) for s in NOTEBOOK_SUFFIXES)):
        if candidate.is_file():
            return candidate
    return None
