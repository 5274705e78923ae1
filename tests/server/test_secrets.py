"""The Secrets API with databricks-sdk, read by a notebook through dbutils.secrets and
kept out of its output."""

from __future__ import annotations

import base64
import io

import pytest
from databricks.sdk.errors import DatabricksError, NotFound, ResourceAlreadyExists
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import Language

from tests.server.conftest import Server

READER = """# Databricks notebook source
password = dbutils.secrets.get("etl", "db-password")
print(f"connecting with {password}")
dbutils.notebook.exit(str(len(password)))
"""


def test_scopes_and_secrets_reach_notebooks_and_never_their_output(server: Server) -> None:
    w = server.sdk()
    w.secrets.create_scope("etl")
    with pytest.raises(ResourceAlreadyExists):
        w.secrets.create_scope("etl")
    w.secrets.put_secret("etl", "db-password", string_value="hunter2-prod")
    w.secrets.put_secret("etl", "cert", bytes_value=base64.b64encode(b"\x00\x01").decode())
    assert "etl" in [s.name for s in w.secrets.list_scopes()]
    assert sorted(s.key for s in w.secrets.list_secrets("etl")) == ["cert", "db-password"]
    assert base64.b64decode(w.secrets.get_secret("etl", "cert").value) == b"\x00\x01"
    secrets_dir = server.home / "secrets" / "etl"
    assert (secrets_dir / "db-password").stat().st_mode & 0o777 == 0o600

    me = w.current_user.me().user_name
    w.workspace.upload(f"/Users/{me}/read_secret", io.BytesIO(READER.encode()),
                       language=Language.PYTHON, overwrite=True)
    job = w.jobs.create(name="uses-secret", tasks=[jobs.Task(
        task_key="read", notebook_task=jobs.NotebookTask(
            notebook_path=f"/Users/{me}/read_secret"))])
    run = w.jobs.run_now(job.job_id).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    output = w.jobs.get_run_output(run.tasks[0].run_id)
    assert output.notebook_output.result == "12"
    exported = server.get("/api/2.1/jobs/runs/export", run_id=run.tasks[0].run_id).text
    assert "hunter2-prod" not in exported and "[REDACTED]" in exported
    assert "hunter2-prod" not in server.log.read_text()

    with pytest.raises(NotFound):
        w.secrets.get_secret("etl", "missing")
    with pytest.raises(DatabricksError, match="must be 1 to 128"):
        w.secrets.put_secret("etl", "../escape", string_value="x")
    with pytest.raises(DatabricksError, match=r"not '\.' or '\.\.'"):  # was the workspace
        w.secrets.delete_scope("..")
    with pytest.raises(DatabricksError, match=r"not '\.' or '\.\.'"):
        w.secrets.put_secret("..", "podium.db", string_value="x")
    w.secrets.delete_secret("etl", "cert")
    w.secrets.delete_scope("etl")
    with pytest.raises(NotFound):
        w.secrets.list_secrets("etl")
    assert not secrets_dir.exists()
