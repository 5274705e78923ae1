"""Workspace objects on disk, as Databricks' Workspace API sees them: notebooks (stored
with their extension, addressed without it), files and directories under
`$PODIUM_HOME/workspace`. Every write goes through `files.write_whole`, so a refused or
failed import leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from podium.files import TEMP_PREFIX, write_whole
from podium.spec import workspace
from podium.spec.workspace import NOTEBOOK_SUFFIXES, WorkspacePathError

LANGUAGE_SUFFIX = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}
HEADER = {"PYTHON": "# Databricks notebook source", "SQL": "-- Databricks notebook source",
          "SCALA": "// Databricks notebook source", "R": "# Databricks notebook source"}
SPLIT = {"PYTHON": "# COMMAND ----------", "SQL": "-- COMMAND ----------",
         "SCALA": "// COMMAND ----------", "R": "# COMMAND ----------"}


class WorkspaceError(ValueError):
    """A Workspace API request that cannot be done; `code` is Databricks' error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class WorkspaceObject:
    """What get-status and list say about an object."""

    path: str
    object_type: str  # NOTEBOOK, FILE or DIRECTORY
    local: Path
    language: str | None = None

    def view(self) -> dict[str, Any]:
        """The object in the Workspace API's shape."""
        stat = self.local.stat()
        out: dict[str, Any] = {
            "path": self.path, "object_type": self.object_type,
            "object_id": int(hashlib.sha256(self.path.encode()).hexdigest()[:13], 16),
            "created_at": int(stat.st_ctime * 1000), "modified_at": int(stat.st_mtime * 1000),
            "resource_id": hashlib.sha256(self.path.encode()).hexdigest()[:16]}
        if self.language:
            out["language"] = self.language
        if self.object_type == "FILE":
            out["size"] = stat.st_size
        return out


def _checked(path: str) -> tuple[str, Path]:
    """A workspace path's canonical name and local path; INVALID_PARAMETER_VALUE for a
    malformed path or one that leaves the workspace."""
    try:
        return workspace.normalized(path), workspace.local(path)
    except WorkspacePathError as exc:
        raise WorkspaceError("INVALID_PARAMETER_VALUE", str(exc)) from None


def find(path: str) -> WorkspaceObject | None:
    """The object at workspace path `path`, or None."""
    name, target = _checked(path)
    if target.is_dir():
        return WorkspaceObject(name, "DIRECTORY", target)
    for suffix, language in NOTEBOOK_SUFFIXES.items():
        notebook = target.with_name(target.name + suffix)
        if notebook.is_file() and _is_notebook(notebook):
            if suffix != ".ipynb":
                language = next(k for k, v in LANGUAGE_SUFFIX.items() if v == suffix)
            return WorkspaceObject(name, "NOTEBOOK", notebook, language)
    if target.is_file() and not (target.suffix in NOTEBOOK_SUFFIXES and _is_notebook(target)):
        return WorkspaceObject(name, "FILE", target)  # (a notebook's own file is not one)
    return None


def get(path: str) -> WorkspaceObject:
    """The object at `path`, or RESOURCE_DOES_NOT_EXIST."""
    found = find(path)
    if found is None:
        raise WorkspaceError("RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
    return found


def listing(path: str) -> list[WorkspaceObject]:
    """The objects directly in directory `path`, by name."""
    folder = get(path)
    if folder.object_type != "DIRECTORY":
        raise WorkspaceError("INVALID_PARAMETER_VALUE", f"Path ({path}) is not a directory")
    base = folder.path.rstrip("/")
    objects = []
    for entry in sorted(folder.local.iterdir()):
        name = entry.name
        if name.startswith(TEMP_PREFIX):  # an import being written
            continue
        if entry.is_file() and entry.suffix in NOTEBOOK_SUFFIXES and _is_notebook(entry):
            name = entry.name[: -len(entry.suffix)]
        found = find(f"{base}/{name}")
        if found is not None and found.local == entry:
            objects.append(found)
    return objects


def mkdirs(path: str) -> None:
    """Create directory `path` and its parents; a file or notebook in the way is
    RESOURCE_ALREADY_EXISTS."""
    _, target = _checked(path)
    for parent in [target, *target.parents]:
        if parent == workspace.root():
            break
        found = find("/" + parent.relative_to(workspace.root()).as_posix())
        if found is not None and found.object_type != "DIRECTORY":
            raise WorkspaceError("RESOURCE_ALREADY_EXISTS", f"Path ({found.path}) already "
                                 "exists as a " + found.object_type.lower())
    target.mkdir(parents=True, exist_ok=True)


def delete(path: str, recursive: bool = False) -> None:
    """Delete an object; a non-empty directory needs `recursive`."""
    found = get(path)
    if found.path == "/":
        raise WorkspaceError("INVALID_PARAMETER_VALUE", "The workspace root cannot be deleted")
    if found.object_type == "DIRECTORY":
        if any(found.local.iterdir()) and not recursive:
            raise WorkspaceError("DIRECTORY_NOT_EMPTY", f"Folder ({found.path}) is not empty; "
                                 "delete it with recursive=true")
        shutil.rmtree(found.local)
    else:
        found.local.unlink()


def import_object(path: str, content: bytes, fmt: str = "SOURCE",
                  language: str | None = None, overwrite: bool = False) -> WorkspaceObject:
    """Import `content` at `path` as Databricks does: SOURCE (with a language) and
    JUPYTER make notebooks, RAW a file, AUTO decides from the extension and header."""
    fmt = (fmt or "SOURCE").upper()
    name, target = _checked(path)
    kind, language, suffix, body = _decide(name, target, content, fmt, language)
    if kind == "NOTEBOOK" and suffix and name.endswith(suffix) and fmt == "AUTO":
        name, target = name[: -len(suffix)], target.with_name(target.name[: -len(suffix)])
    existing = find(name)
    if existing is not None:
        if existing.object_type == "DIRECTORY":
            raise WorkspaceError("RESOURCE_ALREADY_EXISTS", f"Path ({name}) is a directory")
        if not overwrite:
            raise WorkspaceError("RESOURCE_ALREADY_EXISTS", f"Path ({name}) already exists.")
    parent = target.parent
    if not parent.is_dir():
        if _is_home(name):
            parent.mkdir(parents=True, exist_ok=True)
        else:
            raise WorkspaceError("RESOURCE_DOES_NOT_EXIST", "The parent folder ("
                                 f"{name.rsplit('/', 1)[0] or '/'}) does not exist.")
    final = target.with_name(target.name + suffix) if kind == "NOTEBOOK" else target
    write_whole(final, body)
    if existing is not None and existing.local != final:
        existing.local.unlink()
    return get(name)


def export(path: str, fmt: str = "SOURCE") -> tuple[bytes, str]:
    """An object's content in `fmt` (SOURCE, JUPYTER, AUTO) and its file type."""
    found = get(path)
    fmt = (fmt or "SOURCE").upper()
    if found.object_type == "DIRECTORY":
        raise WorkspaceError("INVALID_PARAMETER_VALUE", f"Path ({path}) is a directory; "
                             "export a notebook or a file")
    data = found.local.read_bytes()
    if found.object_type == "FILE":
        return data, found.local.suffix.lstrip(".")
    is_ipynb = found.local.suffix == ".ipynb"
    if fmt == "JUPYTER":
        return (data if is_ipynb else _to_ipynb(data.decode(), found.language)), "ipynb"
    if fmt in ("SOURCE", "AUTO"):
        if is_ipynb:
            return _to_source(data), "py"
        return data, found.local.suffix.lstrip(".")
    raise WorkspaceError("INVALID_PARAMETER_VALUE", f"Export format {fmt} is not supported "
                         "here; use SOURCE, JUPYTER or AUTO")


def _decide(name: str, target: Path, content: bytes, fmt: str, language: str | None
            ) -> tuple[str, str | None, str, bytes]:
    """(kind, language, suffix, bytes to write) of an import."""
    if fmt == "RAW":
        return "FILE", None, "", content
    if fmt == "JUPYTER" or (fmt == "AUTO" and name.endswith(".ipynb")):
        _check_ipynb(content, name)
        return "NOTEBOOK", "PYTHON", ".ipynb", content
    if fmt == "AUTO":
        suffix = target.suffix.lower() if target.suffix.lower() in LANGUAGE_SUFFIX.values() \
            else ""
        lang = next((k for k, v in LANGUAGE_SUFFIX.items() if v == suffix), None)
        text = _text(content, name)
        if lang and text.startswith(HEADER[lang]):
            return "NOTEBOOK", lang, suffix, content
        return "FILE", None, "", content
    if fmt == "SOURCE":
        if not language or language.upper() not in LANGUAGE_SUFFIX:
            raise WorkspaceError("INVALID_PARAMETER_VALUE", "language is required to import "
                                 "SOURCE: PYTHON, SQL, SCALA or R (or use format AUTO)")
        lang = language.upper()
        text = _text(content, name)
        if not text.startswith(HEADER[lang]):
            text = f"{HEADER[lang]}\n{text}"
        return "NOTEBOOK", lang, LANGUAGE_SUFFIX[lang], text.encode()
    raise WorkspaceError("INVALID_PARAMETER_VALUE", f"Import format {fmt} is not supported "
                         "here; use SOURCE, JUPYTER, AUTO or RAW")


def _text(content: bytes, name: str) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkspaceError("INVALID_PARAMETER_VALUE", f"The content of {name} is not UTF-8 "
                             "text; import binary files with format RAW") from None


def _check_ipynb(content: bytes, name: str) -> None:
    try:
        raw = json.loads(content)
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise ValueError("it needs a JSON object with a list of cells")
        for i, cell in enumerate(raw["cells"]):
            cell.setdefault("id", f"cell-{i}")
        nbformat.validate(nbformat.from_dict(raw))
    except (ValueError, TypeError, AttributeError, nbformat.ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkspaceError("INVALID_PARAMETER_VALUE", f"{name} is not a valid Jupyter "
                             f"notebook: {first}") from None


def _to_source(data: bytes) -> bytes:
    """An .ipynb notebook as Databricks source (cells split by COMMAND lines)."""
    notebook = nbformat.reads(data.decode(), as_version=4)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cells.append("\n".join(["# MAGIC %md", *(f"# MAGIC {ln}".rstrip()
                                                    for ln in cell.source.split("\n"))]))
        elif cell.cell_type == "code":
            cells.append(cell.source)
    return (HEADER["PYTHON"] + "\n" + f"\n\n{SPLIT['PYTHON']}\n\n".join(cells) + "\n").encode()


def _to_ipynb(text: str, language: str | None) -> bytes:
    """A source notebook as .ipynb, one code cell per COMMAND block."""
    lang = language or "PYTHON"
    body = text.split("\n", 1)[1] if text.startswith(HEADER[lang]) else text
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["language_info"] = {"name": lang.lower()}
    notebook.cells = [nbformat.v4.new_code_cell(block.strip("\n"))
                      for block in body.split(SPLIT[lang])]
    return nbformat.writes(notebook).encode()


def _is_notebook(path: Path) -> bool:
    """Whether a file with a notebook extension is a notebook (an .ipynb, or source with
    Databricks' header), not a plain file that happens to end in .py."""
    if path.suffix == ".ipynb":
        return True
    try:
        with path.open("rb") as f:
            head = f.read(64).decode("utf-8", errors="replace")
    except OSError:
        return False
    return any(head.startswith(h) for h in HEADER.values())


def _is_home(name: str) -> bool:
    """Whether `name` is directly in a user's home folder (which always exists)."""
    parts = name.split("/")
    return len(parts) == 4 and parts[1] == "Users"
