"""dbutils as task code sees it, and as a notebook's unit test sees it outside podium."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from podium.runtime import context, dbutils, output, secret_store
from podium.runtime.context import TaskContext, TaskValues
from podium.runtime.dbutils import DBUtils
from podium.runtime.errors import NotebookExit, NotebookRunError, TaskInterrupted, WidgetError


def make_ctx(tmp_path: Path, **params: str) -> TaskContext:
    return TaskContext(run_id=1, job_key="j", job_name="j", task_key="t", attempt=0,
                       task_run_id=2, params=params, log_path=tmp_path / "t.log",
                       bundle_root=tmp_path, values=TaskValues(), upstream=frozenset({"up"}))


def test_local_dbutils_outside_podium() -> None:
    dbutils.widgets.text("region", "eu")
    assert dbutils.widgets.get("region") == "eu"
    assert dbutils.jobs.taskValues.get("up", "n", debugValue=7) == 7
    with pytest.raises(TypeError):
        dbutils.jobs.taskValues.get("up", "n")


def test_widgets_prefer_parameters_over_defaults(tmp_path: Path) -> None:
    utils = DBUtils(make_ctx(tmp_path, region="us"))
    utils.widgets.dropdown("region", "eu", ["eu", "us"])
    utils.widgets.combobox("size", "s", ["s", "m"])
    assert utils.widgets.get("region") == "us"
    assert utils.widgets.getAll() == {"region": "us", "size": "s"}
    assert utils.widgets.getArgument("missing", "fallback") == "fallback"
    with pytest.raises(WidgetError):
        utils.widgets.get("missing")
    utils.widgets.removeAll()
    assert utils.widgets.getAll() == {"region": "us"}


def test_task_values_only_from_upstream(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    ctx.values.set("up", "rows", 10)
    utils = DBUtils(ctx)
    assert utils.jobs.taskValues.get("up", "rows") == 10
    assert utils.jobs.taskValues.get("up", "other", default=3) == 3
    with pytest.raises(ValueError, match="not upstream"):
        utils.jobs.taskValues.get("elsewhere", "rows")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        utils.jobs.taskValues.set("bad", object())


def test_notebook_exit_raises_its_value(tmp_path: Path) -> None:
    with pytest.raises(NotebookExit) as done:
        DBUtils(make_ctx(tmp_path)).notebook.exit(42)
    assert done.value.value == "42"


def test_fs_maps_dbfs_under_the_workspace(tmp_path: Path, podium_home: Path) -> None:
    fs = DBUtils(make_ctx(tmp_path)).fs
    fs.mkdirs("dbfs:/data/in")
    fs.put("dbfs:/data/in/a.csv", "x,y\n1,2\n")
    assert (podium_home / "dbfs/data/in/a.csv").read_text() == "x,y\n1,2\n"
    with pytest.raises(FileExistsError):
        fs.put("/data/in/a.csv", "again")
    fs.cp("dbfs:/data/in", "dbfs:/data/copy", recurse=True)
    fs.mv("dbfs:/data/copy/a.csv", "dbfs:/data/b.csv")
    assert [f.name for f in fs.ls("dbfs:/data")] == ["b.csv", "copy/", "in/"]
    assert fs.head("dbfs:/data/b.csv", 3) == "x,y"
    assert fs.rm("dbfs:/data", recurse=True) and not (podium_home / "dbfs/data").exists()
    local = tmp_path / "local.txt"
    fs.put(f"file:{local}", "here")
    assert local.read_text() == "here"


def test_secrets_come_from_env_scopes_or_file_and_are_redacted_in_logs(
    tmp_path: Path, podium_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_SECRET_DB_PASSWORD", "hunter2")
    (podium_home / "secrets.json").write_text(json.dumps({"api": {"token": "tok-123"}}))
    secret_store.create_scope("jdbc")
    secret_store.put("jdbc", "url", b"jdbc:postgresql://db/x?password=s3cret")
    ctx = make_ctx(tmp_path)
    utils = DBUtils(ctx)
    previous = context.bind(ctx)
    try:
        with output.captured(ctx.log_path, ctx.secret_values):
            password = utils.secrets.get("db", "password")
            token = utils.secrets.get("api", "token")
            url = utils.secrets.get("jdbc", "url")
            print(f"connecting with {password} and {token} to {url}")
    finally:
        context.bind(previous)
    assert ctx.log_path.read_text() == \
        "connecting with [REDACTED] and [REDACTED] to [REDACTED]\n"
    assert [s.name for s in utils.secrets.listScopes()] == ["api", "jdbc"]
    assert [m.key for m in utils.secrets.list("jdbc")] == ["url"]
    folder = podium_home / "secrets" / "jdbc"
    assert (folder.stat().st_mode & 0o777, (folder / "url").stat().st_mode & 0o777) == \
        (0o700, 0o600)
    with pytest.raises(KeyError, match="PODIUM_SECRET_API_NOPE"):
        utils.secrets.get("api", "nope")


SLOW = "# Databricks notebook source\nimport time\nwhile True:\n    time.sleep(0.02)\n"


def test_a_child_notebooks_timeout_stops_only_the_child(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW)
    ctx = make_ctx(tmp_path)
    ctx.attach()
    try:
        with pytest.raises(NotebookRunError, match="timed out after 1s"):
            DBUtils(ctx).notebook.run("slow", 1)
        time.sleep(0.1)  # the parent goes on: nothing of the child's timeout reaches it
    finally:
        ctx.detach()
    assert not ctx.cancel_event.is_set()
    assert [c.result for c in ctx.children] == ["TIMEDOUT"]


def test_cancelling_a_task_interrupts_child_notebooks_in_its_threads(tmp_path: Path) -> None:
    """The seed's pattern: notebooks run from a thread pool inside one task."""
    (tmp_path / "slow.py").write_text(SLOW)
    ctx = make_ctx(tmp_path)

    def task() -> None:
        ctx.attach()
        try:
            with ThreadPoolExecutor(3) as pool:
                futures = [pool.submit(DBUtils(ctx).notebook.run, "slow", 0) for _ in range(3)]
                for future in futures:
                    with contextlib.suppress(TaskInterrupted):
                        future.result()
        except TaskInterrupted:
            pass  # the task's own thread is interrupted too
        finally:
            ctx.detach()

    thread = threading.Thread(target=task)
    thread.start()
    deadline = time.monotonic() + 30
    while len(ctx.running_children) < 3:
        assert time.monotonic() < deadline and thread.is_alive(), ctx.children
        time.sleep(0.02)
    ctx.interrupt()
    thread.join(timeout=10)
    assert not thread.is_alive()
    # each child ends, interrupted, and says so: in its own thread, which the task's
    # thread (interrupted itself while it waited for the pool) may not have waited for
    deadline = time.monotonic() + 10
    while ctx.running_children and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not ctx.running_children
    assert len(ctx.children) == 3 and all(c.end_time is not None for c in ctx.children)
