"""Files a bundle names: notebooks may be written with or without their extension."""

from __future__ import annotations

from pathlib import Path

SUFFIXES = (".py", ".ipynb", ".sql")


def find_file(path: Path) -> Path | None:
    """`path` itself, or `path` plus a notebook suffix, whichever exists first."""
    for candidate in (path, *(path.with_name(path.name + s) for s in SUFFIXES)):
        if candidate.is_file():
            return candidate.resolve()
    return None
