"""`dbutils` for task code: widgets, notebook.run/exit, jobs.taskValues, fs, secrets.

Inside a podium task it is bound to that task's context. Outside podium (a notebook's
unit test) `from podium.runtime import dbutils` gives a local one: widgets hold their
defaults, `taskValues.get` returns `debugValue`, `fs` works on local paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium import defaults
from podium.runtime import context as context_mod
from podium.runtime import notebooks, output, secret_store
from podium.runtime.context import ChildRun, TaskContext, TaskValues
from podium.runtime.errors import NotebookExit, NotebookRunError, TaskInterrupted, WidgetError
from podium.runtime.notebook_context import EntryPoint, NotebookContext


class Widgets:
    """`dbutils.widgets`: values come from task parameters, else the widget's default."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx
        self._defaults: dict[str, str] = {}

    def _define(self, name: str, default: Any) -> None:
        self._defaults[name] = "" if default is None else str(default)

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:
        """Declare a text widget."""
        self._define(name, defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str],
                 label: str | None = None) -> None:
        """Declare a dropdown widget."""
        self._define(name, defaultValue)

    def combobox(self, name: str, defaultValue: str, choices: list[str],
                 label: str | None = None) -> None:
        """Declare a combobox widget."""
        self._define(name, defaultValue)

    def multiselect(self, name: str, defaultValue: str, choices: list[str],
                    label: str | None = None) -> None:
        """Declare a multiselect widget."""
        self._define(name, defaultValue)

    def get(self, name: str) -> str:
        """The widget's value: the task parameter if given, else its default."""
        self._ctx.check_cancelled()
        if name in self._ctx.params:
            return str(self._ctx.params[name])
        if name in self._defaults:
            return self._defaults[name]
        raise WidgetError(f"InputWidgetNotDefined: no widget or parameter named '{name}'")

    def getArgument(self, name: str, optional: str | None = None) -> str | None:
        """Like `get`, but returns `optional` instead of raising."""
        try:
            return self.get(name)
        except WidgetError:
            return optional

    def getAll(self) -> dict[str, str]:
        """Every widget and parameter value."""
        return {**self._defaults, **{k: str(v) for k, v in self._ctx.params.items()}}

    def remove(self, name: str) -> None:
        """Forget a widget's declaration."""
        self._defaults.pop(name, None)

    def removeAll(self) -> None:
        """Forget every widget declaration."""
        self._defaults.clear()


class TaskValuesApi:
    """`dbutils.jobs.taskValues`: pass small JSON values to downstream tasks."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    def set(self, key: str, value: Any) -> None:
        """Publish `value` under `key` for tasks downstream of this one."""
        self._ctx.check_cancelled()
        self._ctx.values.set(self._ctx.task_key, key, value)

    def get(self, taskKey: str, key: str, default: Any = None,
            debugValue: Any = None) -> Any:
        """Read a value set by an upstream task; `debugValue` outside a job run."""
        if not self._ctx.in_job:
            if debugValue is None:
                raise TypeError("taskValues.get outside a job run needs a debugValue")
            return debugValue
        if taskKey != self._ctx.task_key and taskKey not in self._ctx.upstream:
            raise ValueError(f"task '{taskKey}' is not upstream of '{self._ctx.task_key}'; "
                             "add it to depends_on")
        try:
            return self._ctx.values.get(taskKey, key)
        except KeyError:
            if default is not None:
                return default
            raise ValueError(f"task '{taskKey}' set no value '{key}'") from None


class Jobs:
    """`dbutils.jobs`."""

    def __init__(self, ctx: TaskContext):
        self.taskValues = TaskValuesApi(ctx)


class Notebook:
    """`dbutils.notebook`: run a child notebook on the same cluster, or exit."""

    def __init__(self, ctx: TaskContext, dbutils: DBUtils):
        self._ctx, self._dbutils = ctx, dbutils
        self._lock = threading.Lock()

    @property
    def entry_point(self) -> EntryPoint:
        """What `dbutils.notebook.entry_point.getDbutils().notebook().getContext()` reads."""
        return EntryPoint(self._ctx)

    def getContext(self) -> NotebookContext:
        """The notebook context: notebookPath(), tags(), currentRunId(), toJson()."""
        return NotebookContext(self._ctx)

    def exit(self, value: Any) -> None:
        """End the notebook with `value` as its exit value."""
        raise NotebookExit("" if value is None else str(value))

    def run(self, path: str, timeout_seconds: int = 0,
            arguments: dict[str, Any] | None = None) -> str | None:
        """Run a notebook in its own session on this task's cluster; return its exit value.

        Raises NotebookRunError if it fails or runs longer than `timeout_seconds` (0 = no
        limit). Safe to call from many threads at once.
        """
        parent = self._ctx
        parent.check_cancelled()
        base = parent.notebook_dir or parent.bundle_root
        target = notebooks.find_notebook(base / path if not Path(path).is_absolute()
                                         else Path(path))
        with self._lock:
            number = len(parent.children) + 1
            log = parent.log_path.with_name(f"{parent.log_path.stem}.child-{number}.log")
            record = ChildRun(str(target), {k: str(v) for k, v in (arguments or {}).items()},
                              log, time.time())
            parent.children.append(record)
        child = TaskContext(
            run_id=parent.run_id, job_key=parent.job_key, job_name=parent.job_name,
            task_key=parent.task_key, attempt=parent.attempt, task_run_id=parent.task_run_id,
            params=record.arguments, log_path=log, bundle_root=parent.bundle_root,
            values=TaskValues(), sessions=parent.sessions,
            tag=f"{parent.tag}-child-{number}", parent_tags=(*parent.parent_tags, parent.tag),
            cancel_event=parent.cancel_event, secret_values=parent.secret_values,
            notebook_dir=target.parent, in_job=parent.in_job,
            job_id=parent.job_id, cluster_id=parent.cluster_id, env=parent.env)
        timed_out = threading.Event()

        def time_out() -> None:
            timed_out.set()
            child.halt()

        timer = None
        if timeout_seconds and timeout_seconds > 0:
            timer = threading.Timer(timeout_seconds, time_out)
            timer.daemon = True
        previous = context_mod.bind(child)
        child.attach()
        with parent.lock:
            parent.running_children.append(child)
        try:
            if timer is not None:
                timer.start()
            try:
                with output.captured(log, child.secret_values):
                    record.exit_value = run_notebook(target, child)
            finally:
                if timer is not None:
                    timer.cancel()
                child.detach()
            record.result = "SUCCESS"
            return record.exit_value
        except TaskInterrupted:
            if not timed_out.is_set() or parent.cancel_event.is_set():
                raise
            record.result, record.error = "TIMEDOUT", f"timed out after {timeout_seconds}s"
            raise NotebookRunError(f"notebook {path} timed out after {timeout_seconds}s") \
                from None
        except Exception as exc:
            record.result, record.error = "FAILED", str(exc)
            raise NotebookRunError(f"notebook {path} failed: {exc}") from exc
        finally:
            with parent.lock:  # by identity: contexts compare by value
                parent.running_children[:] = [c for c in parent.running_children
                                              if c is not child]
            record.end_time = time.time()
            context_mod.bind(previous)
            child.close_spark()
            parent.check_cancelled()


@dataclass
class FileInfo:
    """One entry of `dbutils.fs.ls`, with Databricks' field names."""

    path: str
    name: str
    size: int
    modificationTime: int


DATASETS = "/databricks-datasets"


class Fs:
    """`dbutils.fs` on local files; `dbfs:/` lives under `$PODIUM_HOME/dbfs`, and
    `/databricks-datasets` is the machine's read-only copy of the sample files."""

    @staticmethod
    def local(path: str) -> Path:
        """The local path for a `dbfs:/`, `file:/` or plain path."""
        if path.startswith("file:"):
            return Path(re.sub(r"^file:/*", "/", path))
        stripped = "/" + re.sub(r"^dbfs:", "", path).lstrip("/")
        if stripped == DATASETS or stripped.startswith(DATASETS + "/"):
            return defaults.datasets_dir() / stripped.removeprefix(DATASETS).lstrip("/")
        return defaults.dbfs_root() / stripped.lstrip("/")

    @classmethod
    def writable(cls, path: str) -> Path:
        """The local path of a path to change; `/databricks-datasets` is read-only, as on
        Databricks."""
        local = cls.local(path)
        if local.is_relative_to(defaults.datasets_dir()):
            raise PermissionError(f"{path}: {DATASETS} is read-only")
        return local

    def ls(self, path: str) -> list[FileInfo]:
        """The entries of a folder (or the file itself)."""
        local = self.local(path)
        entries = sorted(local.iterdir()) if local.is_dir() else [local]
        base = path.rstrip("/")
        return [FileInfo(f"{base}/{e.name}" + ("/" if e.is_dir() else "") if local.is_dir()
                         else path, e.name + ("/" if e.is_dir() else ""),
                         e.stat().st_size if e.is_file() else 0, int(e.stat().st_mtime * 1000))
                for e in entries]

    def mkdirs(self, path: str) -> bool:
        """Create a folder and its parents."""
        self.writable(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        """Write a text file; refuses to replace one unless `overwrite`."""
        local = self.writable(path)
        if local.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents)
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:
        """The first `maxBytes` of a file, as text."""
        with self.local(path).open("rb") as f:
            return f.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, src: str, dst: str, recurse: bool = False) -> bool:
        """Copy a file (or a folder with `recurse=True`)."""
        a, b = self.local(src), self.writable(dst)
        b.parent.mkdir(parents=True, exist_ok=True)
        if a.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{src} is a folder; pass recurse=True")
            shutil.copytree(a, b, dirs_exist_ok=True)
        else:
            shutil.copy2(a, b)
        return True

    def mv(self, src: str, dst: str, recurse: bool = False) -> bool:
        """Move a file or folder."""
        b = self.writable(dst)
        b.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.writable(src)), str(b))
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        """Delete a file (or a folder with `recurse=True`); False if it was not there."""
        local = self.writable(path)
        if local.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{path} is a folder; pass recurse=True")
            shutil.rmtree(local)
        elif local.exists():
            local.unlink()
        else:
            return False
        return True


class Secrets:
    """`dbutils.secrets`: from `PODIUM_SECRET_<SCOPE>_<KEY>`, the workspace's secret scopes
    (the Secrets API's, `$PODIUM_HOME/secrets`), or `$PODIUM_HOME/secrets.json`
    (`{"scope": {"key": "value"}}`); every value read is redacted from the task's log."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    @staticmethod
    def _file() -> dict[str, dict[str, str]]:
        path = defaults.home() / "secrets.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def get(self, scope: str, key: str) -> str:
        """The secret's value."""
        env = "PODIUM_SECRET_" + re.sub(r"\W", "_", f"{scope}_{key}").upper()
        value = os.environ.get(env)
        if value is None:
            try:
                value = secret_store.get(scope, key).decode("utf-8", errors="replace")
            except secret_store.SecretError:
                value = self._file().get(scope, {}).get(key)
        if value is None:
            raise KeyError(f"secret {scope}/{key} not found; put it with the Secrets API "
                           f"(`databricks secrets put-secret`), set {env}, or add it to "
                           f"{defaults.home() / 'secrets.json'}")
        self._ctx.secret_values.append(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:
        """The secret's value as bytes."""
        return self.get(scope, key).encode()

    def listScopes(self) -> list[SecretScope]:
        """Every scope: the workspace's and the secrets file's."""
        return [SecretScope(name) for name in sorted({*secret_store.scopes(), *self._file()})]

    def list(self, scope: str) -> list[SecretMetadata]:
        """The keys of one scope."""
        try:
            found = {k for k, _ in secret_store.keys(scope)}
        except secret_store.SecretError:
            found = set()
        return [SecretMetadata(k) for k in sorted(found | set(self._file().get(scope, {})))]


@dataclass(frozen=True)
class SecretScope:
    """What `dbutils.secrets.listScopes()` gives: a scope's name."""

    name: str


@dataclass(frozen=True)
class SecretMetadata:
    """What `dbutils.secrets.list(scope)` gives: a secret's key."""

    key: str


class Library:
    """`dbutils.library`: a task's packages are installed before it starts (its own
    Python environment, from `libraries` and `%pip install` cells), so nothing restarts."""

    def restartPython(self) -> None:
        """Nothing to do: the interpreter already has the task's packages."""
        print("[podium] dbutils.library.restartPython(): the task's packages were installed "
              "before it started; nothing to restart")


class Podium:
    """`dbutils.podium`: podium's own additions for task code."""

    def __init__(self, ctx: TaskContext):
        self._ctx = ctx

    def writes(self, *names: str, poll_seconds: float = 0.5) -> None:
        """Declare that this task writes these tables or paths; waits while another
        running task holds one of them (said once in the log), cancel-aware."""
        claim = self._ctx.claim_output
        if claim is None:
            return
        for name in names:
            said = False
            while (holder := claim(name)) is not None:
                if not said:
                    print(f"[podium] waiting: {holder}")
                    said = True
                self._ctx.check_cancelled()
                time.sleep(poll_seconds)


class DBUtils:
    """The `dbutils` object one task sees."""

    def __init__(self, ctx: TaskContext):
        self.ctx = ctx
        self.widgets = Widgets(ctx)
        self.jobs = Jobs(ctx)
        self.notebook = Notebook(ctx, self)
        self.fs = Fs()
        self.secrets = Secrets(ctx)
        self.library = Library()
        self.podium = Podium(ctx)

    def check_cancelled(self) -> None:
        """Cooperative cancel point used between notebook cells."""
        self.ctx.check_cancelled()


def local_context() -> TaskContext:
    """A context for code run outside podium (tests of notebooks)."""
    return TaskContext(run_id=0, job_key="", job_name="", task_key="local", attempt=0,
                       task_run_id=0, params={}, log_path=defaults.logs_dir() / "local.log",
                       bundle_root=Path.cwd(), values=TaskValues(), in_job=False)


_local: dict[int, DBUtils] = {}
_by_context: dict[int, DBUtils] = {}


def for_context(ctx: TaskContext) -> DBUtils:
    """The one DBUtils of a task context (widget declarations live on it)."""
    key = id(ctx)
    if key not in _by_context:
        _by_context[key] = DBUtils(ctx)
    return _by_context[key]


def forget(ctx: TaskContext) -> None:
    """Drop a finished task's DBUtils."""
    _by_context.pop(id(ctx), None)


class _Current:
    """Resolves to the calling task's dbutils, or to a local one outside podium."""

    def __getattr__(self, name: str) -> Any:
        ctx = context_mod.current()
        if ctx is None:
            if 0 not in _local:
                _local[0] = DBUtils(local_context())
            return getattr(_local[0], name)
        return getattr(for_context(ctx), name)


dbutils: Any = _Current()


DISPLAY_ROWS = 20


def display(obj: Any, *args: Any, **kwargs: Any) -> None:
    """Show a DataFrame (first 20 rows) or any other value in the task's log; a
    DataFrame's rows are also kept beside the log (`<attempt>.display.jsonl`) for the
    task page to show as a table."""
    if not (hasattr(obj, "show") and hasattr(obj, "columns")):
        print(obj)
        return
    rows = obj.limit(DISPLAY_ROWS).collect()
    columns = list(obj.columns)
    print(_as_text(columns, rows))
    ctx = context_mod.current()
    if ctx is not None:
        table = {"columns": columns,
                 "rows": [[None if v is None else str(v) for v in row] for row in rows]}
        with output.append_to(display_path(ctx.log_path)) as sink:
            sink.write(json.dumps(table) + "\n")


def display_path(log_path: Path) -> Path:
    """Where an attempt's `display()` tables are kept: beside its log."""
    return log_path.with_suffix(".display.jsonl")


def _as_text(columns: list[str], rows: list[Any]) -> str:
    cells = [[str(c) for c in columns]] + [["null" if v is None else str(v) for v in r]
                                          for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    body = ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |"
            for row in cells]
    return "\n".join([line, body[0], line, *body[1:], line])


def spark_context(spark: Any) -> Any:
    """`sc` for a notebook: the SparkContext of a classic session; None on Spark Connect,
    which has none."""
    try:
        return spark.sparkContext if spark is not None else None
    except Exception:
        return None


def run_notebook(path: Path, ctx: TaskContext) -> str | None:
    """Run a notebook in a fresh namespace with spark, sc, dbutils and display. `path`
    may be a workspace path (`/Users/...`) or lack its extension."""
    path = notebooks.find_notebook(path)
    spark = ctx.start_spark()
    utils = for_context(ctx)
    namespace: dict[str, Any] = {
        "__name__": "__main__", "__file__": str(path), "spark": spark,
        "sc": spark_context(spark),
        "dbutils": utils, "display": display, "displayHTML": print,
    }
    ctx.notebook_dir = ctx.workdir = path.parent
    ctx.notebook_path = notebooks.workspace_path(path)
    try:
        return notebooks.execute(path, namespace)
    finally:
        forget(ctx)
