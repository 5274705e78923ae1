"""Databricks notebooks, read and run: source-format `.py`/`.sql` and `.ipynb`.

Cells keep their first line in the file, so an error says `notebook, cell N, line L`
with L the line in the file a person opens.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4.rwbase import rejoin_lines

from podium.runtime.errors import NotebookExit
from podium.spec import workspace
from podium.spec.paths import find_file

PY_HEADER = "# Databricks notebook source"
SQL_HEADER = "-- Databricks notebook source"
PY_SPLIT = re.compile(r"^# COMMAND -+\s*$", re.MULTILINE)
SQL_SPLIT = re.compile(r"^-- COMMAND -+\s*$", re.MULTILINE)
SQL_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Cell:
    """One notebook cell: its language, its code and the file line it starts on."""

    language: str  # python, sql, md, run, pip, sh, fs
    source: str
    first_line: int
    number: int


class CellError(Exception):
    """A notebook cell raised: names the notebook, cell and line."""

    def __init__(self, path: Path, cell: Cell, line: int, error: BaseException):
        self.path, self.cell, self.line, self.error = path, cell, line, error
        super().__init__(f"{path.name}: cell {cell.number}, line {line}: "
                         f"{type(error).__name__}: {error}")


def _magic(lines: list[str], prefix: str) -> tuple[str, list[str]]:
    """Strip `# MAGIC` prefixes and find the cell's magic (%sql, %md, ...)."""
    magic_prefix = f"{prefix} MAGIC"
    if lines and all(line.startswith(magic_prefix) or not line.strip() for line in lines):
        body = [line[len(magic_prefix):].removeprefix(" ") if line.startswith(magic_prefix)
                else line for line in lines]
        first = next((b for b in body if b.strip()), "")
        if first.startswith("%"):
            word = first.split()[0].lstrip("%")
            rest = first[len(first.split()[0]):].strip()
            index = body.index(first)
            remaining = body[index + 1:]
            if word == "run":
                return "run", [rest]
            return {"python": "python", "sql": "sql", "md": "md", "pip": "pip", "sh": "sh",
                    "fs": "fs", "scala": "scala", "r": "r"}.get(word, word), \
                [""] * (index + 1) + ([rest] if rest and word != "md" else []) + remaining
    return "", lines


def read_cells(path: Path) -> list[Cell]:
    """The cells of a notebook file, in order. Parsed once per version of the file (a
    job's tasks often share one notebook, and each is read before it runs to find its
    `%pip` cells)."""
    stat = path.stat()
    return list(_cells(path, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino))


@lru_cache(maxsize=256)
def _cells(path: Path, *version: int) -> tuple[Cell, ...]:
    if path.suffix == ".ipynb":
        return tuple(_ipynb_cells(path))
    return tuple(_source_cells(path))


def _source_cells(path: Path) -> list[Cell]:
    text = path.read_text(encoding="utf-8")
    default = "sql" if path.suffix == ".sql" else "python"
    prefix, header, split = ("--", SQL_HEADER, SQL_SPLIT) if default == "sql" else \
        ("#", PY_HEADER, PY_SPLIT)
    if not text.startswith(header):
        return [Cell(default, text, 1, 1)]
    lines = text.split("\n")
    lines[0] = ""  # the header line
    cells: list[Cell] = []
    start = 0
    for i, line in enumerate([*lines, "# COMMAND ---- end" if default == "python"
                              else "-- COMMAND ---- end"]):
        if split.match(line) or i == len(lines):
            magic, body = _magic(lines[start:i], prefix)
            cells.append(Cell(magic or default, "\n".join(body), start + 1, len(cells) + 1))
            start = i + 1
    return cells


def _ipynb_cells(path: Path) -> list[Cell]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(raw.get("cells", [])):
        cell.setdefault("id", f"cell-{i}")  # exported notebooks often have none
    # Saved notebooks may hold a cell's source as a list of lines (nbformat's own format).
    notebook = rejoin_lines(nbformat.from_dict(raw))
    language = notebook.metadata.get("language_info", {}).get("name", "python")
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        magic, body = _magic(["# MAGIC " + ln for ln in lines], "#") if \
            lines and lines[0].startswith("%") else ("", lines)
        cells.append(Cell(magic or language, "\n".join(body), 1, number))
    return cells


def split_sql(text: str) -> list[str]:
    """SQL statements separated by `;`, ignoring `;` inside quotes and comments."""
    statements, current, quote, i = [], [], "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def run_sql(spark: Any, text: str, params: dict[str, Any], show: Any) -> Any:
    """Run each statement with its `:name` parameters; show the last result."""
    result = None
    for statement in split_sql(text):
        result = sql_statement(spark, statement, params)
    if result is not None and result.columns:
        show(result)
    return result


def sql_statement(spark: Any, statement: str, params: dict[str, Any]) -> Any:
    """One statement, given the parameters its `:name` markers use (a missing one is an
    error that says where to add it)."""
    names = set(SQL_PARAM.findall(statement))
    missing = names - set(params)
    if missing:
        raise KeyError(f"SQL parameter(s) {', '.join(sorted(missing))} have no value; add "
                       "them to the task's `parameters`")
    args = {k: v for k, v in params.items() if k in names}
    return spark.sql(statement, args=args) if args else spark.sql(statement)


def execute(path: Path, namespace: dict[str, Any], seen: tuple[Path, ...] = ()) -> str | None:
    """Run a notebook's cells in `namespace`; `%run` inlines other notebooks into it.

    Returns the value passed to `dbutils.notebook.exit`, or None.
    """
    path = path.resolve()
    try:
        for cell in read_cells(path):
            _execute_cell(path, cell, namespace, seen)
    except NotebookExit as done:
        return done.value
    return None


class ShellCellError(Exception):
    """A `%sh` cell's command exited with a non-zero status."""


def _execute_cell(path: Path, cell: Cell, namespace: dict[str, Any],
                  seen: tuple[Path, ...]) -> None:
    dbutils = namespace.get("dbutils")
    if dbutils is not None:
        dbutils.check_cancelled()
    if cell.language in ("md", "") or not cell.source.strip():
        return
    if cell.language == "pip":
        done = "installed before the task started, in its own Python environment" if \
            cell.source.split()[:1] == ["install"] else "not run locally; skipped"
        print(f"[podium] {path.name} cell {cell.number}: %pip {done}")
        return
    if cell.language in ("scala", "r"):
        raise CellError(path, cell, magic_line(cell), NotImplementedError(
            f"%{cell.language} cells cannot run on podium (Python and SQL only); rewrite the "
            "cell in Python or SQL"))
    if cell.language == "sh":
        _run_shell(path, cell)
        return
    if cell.language == "fs":
        _run_fs(path, cell, dbutils or namespace["dbutils"])
        return
    if cell.language == "run":
        target = find_notebook(path.parent / cell.source.strip().split()[0])
        if target in seen:
            raise CellError(path, cell, cell.first_line, RecursionError(f"%run cycle: {target}"))
        execute(target, namespace, (*seen, path))
        return
    try:
        if cell.language == "sql":
            params = dbutils.widgets.getAll() if dbutils is not None else {}
            run_sql(namespace["spark"], cell.source, params, namespace["display"])
            return
        code = compile("\n" * (cell.first_line - 1) + cell.source, str(path), "exec")
        exec(code, namespace)
    except (NotebookExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        if type(exc).__name__ == "TaskInterrupted":
            raise
        line = _error_line(exc, path) or cell.first_line
        traceback.print_exception(exc)
        raise CellError(path, cell, line, exc) from exc


def _run_shell(path: Path, cell: Cell) -> None:
    """A `%sh` cell: bash in the notebook's folder; its output goes to the task's log."""
    code = subprocess.call(["bash", "-c", cell.source], cwd=path.parent)
    if code != 0:
        raise CellError(path, cell, magic_line(cell), ShellCellError(
            f"%sh cell exited with status {code}"))


FS_FLAGS = {"-r": "recurse", "--recurse": "recurse", "-f": "overwrite",
            "--overwrite": "overwrite"}


def _run_fs(path: Path, cell: Cell, dbutils: Any) -> None:
    """A `%fs` cell: `%fs ls dbfs:/x`, `%fs head`, `cp`, `mv`, `rm -r`, `mkdirs`, `put`,
    each through `dbutils.fs`; what it returns is printed."""
    words = shlex.split(cell.source.strip())
    command, flags = words[0], {FS_FLAGS[w]: True for w in words[1:] if w in FS_FLAGS}
    args = [w for w in words[1:] if w not in FS_FLAGS]
    method = getattr(dbutils.fs, command, None) if not command.startswith("_") else None
    if method is None:
        raise CellError(path, cell, magic_line(cell), ValueError(
            f"%fs {command} is not a dbutils.fs command (ls, head, cp, mv, rm, mkdirs, put)"))
    try:
        result = method(*args, **flags)
    except Exception as exc:
        raise CellError(path, cell, magic_line(cell), exc) from exc
    if isinstance(result, list):
        for entry in result:
            print(f"{entry.path}\t{entry.size}\t{entry.modificationTime}")
    else:
        print(result)


def magic_line(cell: Cell) -> int:
    """The file line of a magic cell's `%sh`/`%scala` line (its code starts below it)."""
    lines = cell.source.split("\n")
    first_code = next((i for i, text in enumerate(lines) if text.strip()), 1)
    return cell.first_line + max(first_code - 1, 0)


def workspace_path(path: Path) -> str:
    """A notebook's path as Databricks names it: without its extension, and as a
    workspace path (`/Users/...`) when it lives in the workspace folder."""
    bare = path.with_suffix("") if path.suffix in (".py", ".sql", ".ipynb") else path
    base = workspace.root().resolve()
    if base in bare.parents:
        return "/" + bare.relative_to(base).as_posix()
    return str(bare)


def _error_line(exc: BaseException, path: Path) -> int | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    if frames:
        return frames[-1].lineno
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return exc.lineno
    return None


def find_notebook(path: Path) -> Path:
    """A notebook named with or without its extension, or FileNotFoundError."""
    found = find_file(path)
    if found is None:
        raise FileNotFoundError(f"notebook {path} does not exist")
    return found
