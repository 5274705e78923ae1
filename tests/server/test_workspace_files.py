"""The Workspace API and the current user with databricks-sdk, a job whose notebooks are
workspace paths, and bad requests that write nothing."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
import requests
from databricks.sdk.errors import DatabricksError, NotFound, ResourceAlreadyExists
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from tests.server.conftest import Server

MAIN = """# COMMAND ----------
# MAGIC %run ./helper

# COMMAND ----------
child = dbutils.notebook.run("/Users/{me}/etl/child", 60, {{"n": "3"}})
path = dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()
dbutils.notebook.exit(f"{{greet()}} {{child}} {{path}}")
"""
SCRIPT = "import sys\nprint('script says', sys.argv[1], spark.range(2).count())\n"
HELPER = "def greet():\n    return 'hello'\n"
CHILD = """# Databricks notebook source
dbutils.widgets.text("n", "0")
dbutils.notebook.exit(str(int(dbutils.widgets.get("n")) * 2))
"""
IPYNB = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "x = 1\nprint(x)"}]}


def tree(home: Path) -> list[str]:
    """Every path under the workspace folder (what a refused request must not change)."""
    base = home / "workspace"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")) if base.exists() else []


def test_the_sdk_imports_lists_exports_and_deletes(server: Server) -> None:
    w = server.sdk()
    me = w.current_user.me()
    assert me.user_name and me.id and me.active
    base = f"/Users/{me.user_name}/files"
    w.workspace.mkdirs(base)
    w.workspace.upload(f"{base}/job", io.BytesIO(b"print('hi')\n"), language=Language.PYTHON)
    w.workspace.upload(f"{base}/analysis.ipynb", io.BytesIO(json.dumps(IPYNB).encode()),
                       format=ImportFormat.AUTO)
    w.workspace.upload(f"{base}/data.csv", io.BytesIO(b"a,b\n1,2\n"), format=ImportFormat.AUTO)
    w.workspace.import_(f"{base}/report", format=ImportFormat.SOURCE, language=Language.SQL,
                        content=base64.b64encode(b"SELECT 1").decode())
    listed = {o.path.rsplit("/", 1)[1]: o for o in w.workspace.list(base)}
    assert {k: (o.object_type, o.language) for k, o in listed.items()} == {
        "analysis": (ObjectType.NOTEBOOK, Language.PYTHON),
        "data.csv": (ObjectType.FILE, None),
        "job": (ObjectType.NOTEBOOK, Language.PYTHON),
        "report": (ObjectType.NOTEBOOK, Language.SQL)}
    assert w.workspace.get_status(f"/Workspace{base}/job").object_type == ObjectType.NOTEBOOK

    source = w.workspace.download(f"{base}/job").read().decode()
    assert source == "# Databricks notebook source\nprint('hi')\n"
    as_ipynb = json.loads(w.workspace.download(f"{base}/job",
                                               format=ExportFormat.JUPYTER).read())
    assert ["".join(c["source"]) for c in as_ipynb["cells"]] == ["print('hi')"]
    from_ipynb = w.workspace.download(f"{base}/analysis").read().decode()
    assert from_ipynb.startswith("# Databricks notebook source\n# MAGIC %md\n# MAGIC # Title")
    assert "x = 1\nprint(x)" in from_ipynb
    assert w.workspace.download(f"{base}/data.csv").read() == b"a,b\n1,2\n"
    exported = w.workspace.export(f"{base}/report")
    assert base64.b64decode(exported.content).decode().endswith("SELECT 1")

    with pytest.raises(ResourceAlreadyExists):
        w.workspace.upload(f"{base}/job", io.BytesIO(b"x = 2"), language=Language.PYTHON)
    w.workspace.upload(f"{base}/job", io.BytesIO(b"x = 2"), language=Language.PYTHON,
                       overwrite=True)
    assert w.workspace.download(f"{base}/job").read().endswith(b"x = 2")
    with pytest.raises(DatabricksError, match="not empty"):
        w.workspace.delete(base)
    w.workspace.delete(base, recursive=True)
    with pytest.raises(NotFound):
        w.workspace.get_status(base)


def test_a_job_runs_notebooks_named_by_workspace_paths(server: Server) -> None:
    w = server.sdk()
    me = w.current_user.me().user_name
    folder = f"/Users/{me}/etl"
    w.workspace.mkdirs(folder)
    for name, text in (("main", MAIN.format(me=me)), ("helper", HELPER), ("child", CHILD)):
        w.workspace.upload(f"{folder}/{name}", io.BytesIO(text.encode()),
                           language=Language.PYTHON, overwrite=True)
    w.workspace.upload(f"{folder}/script.py", io.BytesIO(SCRIPT.encode()),
                       format=ImportFormat.AUTO, overwrite=True)  # a file, not a notebook
    w.workspace.upload(f"{folder}/count.sql", io.BytesIO(b"SELECT 41 + 1 AS answer"),
                       format=ImportFormat.RAW, overwrite=True)
    created = w.jobs.create(name="from-workspace", tasks=[
        jobs.Task(task_key="main", notebook_task=jobs.NotebookTask(
            notebook_path=f"{folder}/main", source=jobs.Source.WORKSPACE)),
        jobs.Task(task_key="script", spark_python_task=jobs.SparkPythonTask(
            python_file=f"{folder}/script.py", parameters=["7"])),
        jobs.Task(task_key="query", sql_task=jobs.SqlTask(
            file=jobs.SqlTaskFile(path=f"{folder}/count.sql"), warehouse_id="local"))])
    assert w.jobs.get(created.job_id).settings.tasks[0].notebook_task.notebook_path == \
        f"{folder}/main"
    run = w.jobs.run_now(created.job_id).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert w.jobs.get_run(run.run_id).creator_user_name == me
    tasks = {t.task_key: t.run_id for t in run.tasks}
    output = w.jobs.get_run_output(tasks["main"])
    assert output.notebook_output.result == f"hello 6 {folder}/main"
    assert "script says 7" in w.jobs.get_run_output(tasks["script"]).logs
    assert "42" in w.jobs.get_run_output(tasks["query"]).logs


def test_refused_requests_write_nothing(server: Server, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (server.home / "workspace" / "Shared").mkdir(parents=True, exist_ok=True)
    link = server.home / "workspace" / "Shared" / "out"
    if not link.exists():
        os.symlink(outside, link)
    before = tree(server.home)

    def imported(body: dict) -> tuple[int, str, str]:
        answer = server.post("/api/2.0/workspace/import", body)
        return answer.status_code, answer.json()["error_code"], answer.json()["message"]

    content = base64.b64encode(b"print(1)").decode()
    cases = [
        ({"path": "/Users/me/../../../tmp/x", "content": content, "language": "PYTHON"},
         "INVALID_PARAMETER_VALUE", "'..'"),
        ({"path": "/Shared/out/evil", "content": content, "language": "PYTHON"},
         "INVALID_PARAMETER_VALUE", "outside the workspace"),
        ({"path": "relative/x", "content": content, "language": "PYTHON"},
         "INVALID_PARAMETER_VALUE", "must be absolute"),
        ({"path": "/Shared/nul\u0000x", "content": content, "language": "PYTHON"},
         "INVALID_PARAMETER_VALUE", "NUL"),
        ({"path": "/Shared/x", "content": "%%% not base64", "language": "PYTHON"},
         "INVALID_PARAMETER_VALUE", "not valid base64"),
        ({"path": "/Shared/x", "content": content},
         "INVALID_PARAMETER_VALUE", "language is required"),
        ({"path": "/Shared/x", "content": content, "format": "DBC"},
         "INVALID_PARAMETER_VALUE", "DBC is not supported"),
        ({"path": "/Shared/nb", "content": base64.b64encode(b'{"cells": 3}').decode(),
          "format": "JUPYTER"}, "INVALID_PARAMETER_VALUE", "not a valid Jupyter notebook"),
        ({"path": "/Shared/missing/x", "content": content, "language": "PYTHON"},
         "RESOURCE_DOES_NOT_EXIST", "parent folder (/Shared/missing) does not exist"),
        ({"path": "/Shared/x", "content": content, "language": "PYTHON", "colour": "red"},
         "INVALID_PARAMETER_VALUE", "colour"),
    ]
    for body, code, says in cases:
        status, error_code, message = imported(body)
        assert (error_code, status >= 400) == (code, True), (body, message)
        assert says in message, (body, message)
    assert server.post("/api/2.0/workspace/mkdirs", {"path": "/Shared/a/../../.."}
                       ).json()["error_code"] == "INVALID_PARAMETER_VALUE"
    listed = requests.get(f"{server.url}/api/2.0/workspace/list",
                          params={"path": "/Shared/out"}, headers=server.headers, timeout=30)
    assert listed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert tree(server.home) == before and list(outside.iterdir()) == []
