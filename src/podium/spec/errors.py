"""Problems found in a bundle, each with the file, line and column it comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Location:
    """Where a YAML node starts: 1-based line and column, as editors count."""

    file: str
    line: int = 0
    col: int = 0
    # What relative paths written here are relative to, when not the file's folder: the
    # bundle root for resources defined in Python, as the Databricks CLI resolves them.
    base: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file

    def folder(self) -> Path:
        """The folder a relative path written at this location is relative to."""
        return Path(self.base) if self.base else Path(self.file).resolve().parent


NOTE = "note"  # a cloud-only field podium ignores: listed by `podium validate`, not a warning


@dataclass(frozen=True)
class Problem:
    """One error or warning about a bundle, printable as `file:line:col: error: message`."""

    location: Location
    message: str
    severity: str = "error"

    def __post_init__(self) -> None:
        # Messages quote user values; keep every problem on one line.
        one_line = self.message.replace("\r", "\\r").replace("\n", "\\n")
        object.__setattr__(self, "message", one_line)

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        """The problem as JSON-friendly data, for `podium validate --json`."""
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.col,
            "severity": self.severity,
            "message": self.message,
        }


class BundleError(Exception):
    """A bundle could not be loaded; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.location, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


def relative(path: Path, root: Path | None = None) -> str:
    """A path as shown in messages: relative to the current folder when below it, else
    absolute, so the text always opens the right file from where the user stands."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)
