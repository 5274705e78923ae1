"""The DBFS API with databricks-sdk's `w.dbfs` and `w.dbutils.fs` from outside any task:
the `dbfs:/` tree tasks use, streamed uploads, reads in pieces, Databricks' errors, and
nothing half-written."""

from __future__ import annotations

import base64
import io
import os

import pytest
import requests
from databricks.sdk.dbutils import RemoteDbUtils
from databricks.sdk.errors import NotFound, ResourceAlreadyExists
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import Language

from tests.server.conftest import Server

NOTEBOOK = """# Databricks notebook source
seen = dbutils.fs.head("dbfs:/podium-tests/dbfs/in/greeting.txt")
dbutils.fs.put("dbfs:/podium-tests/dbfs/out/answer.txt", seen.upper(), True)
dbutils.notebook.exit(seen)
"""


def error_code(response: requests.Response) -> str:
    return response.json()["error_code"]


def client_dbutils(server: Server) -> RemoteDbUtils:
    """What `w.dbutils` is in a client's own process. (This test process also runs podium
    tasks, where databricks-sdk hands out the running task's dbutils instead.)"""
    return RemoteDbUtils(server.sdk().config)


def dbfs_get(server: Server, call: str, **params: object) -> requests.Response:
    """GET /api/2.0/dbfs/<call> with query `params` (one of them is `path`)."""
    return requests.get(f"{server.url}/api/2.0/dbfs/{call}", params=params,
                        headers=server.headers, timeout=30)


def test_a_client_and_a_task_share_the_dbfs_tree(server: Server) -> None:
    w, dbutils = server.sdk(), client_dbutils(server)
    dbutils.fs.rm("dbfs:/podium-tests/dbfs", recurse=True)
    dbutils.fs.put("dbfs:/podium-tests/dbfs/in/greeting.txt", "hello from a client")
    me = w.current_user.me().user_name
    w.workspace.mkdirs(f"/Users/{me}/dbfs")
    w.workspace.upload(f"/Users/{me}/dbfs/share", io.BytesIO(NOTEBOOK.encode()),
                       language=Language.PYTHON, overwrite=True)
    created = w.jobs.create(name="dbfs-share", tasks=[jobs.Task(
        task_key="t", notebook_task=jobs.NotebookTask(notebook_path=f"/Users/{me}/dbfs/share"))])
    run = w.jobs.run_now(created.job_id).result()
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert w.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == \
        "hello from a client"
    assert dbutils.fs.head("dbfs:/podium-tests/dbfs/out/answer.txt") == "HELLO FROM A CLIENT"
    listed = {f.name: f.size for f in dbutils.fs.ls("dbfs:/podium-tests/dbfs/out")}
    assert listed == {"answer.txt": len("HELLO FROM A CLIENT")}


def test_streamed_uploads_reads_in_pieces_moves_and_deletes(server: Server) -> None:
    w = server.sdk()
    base = "/podium-tests/dbfs-stream"
    w.dbfs.delete(base, recursive=True)
    data = os.urandom(2_500_000)  # three blocks of add-block, three reads
    w.dbfs.upload(f"{base}/a/blob.bin", io.BytesIO(data))
    status = w.dbfs.get_status(f"{base}/a/blob.bin")
    assert (status.path, status.is_dir, status.file_size) == (f"{base}/a/blob.bin", False,
                                                              len(data))
    assert w.dbfs.download(f"{base}/a/blob.bin").read() == data
    piece = dbfs_get(server, "read", path=f"dbfs:{base}/a/blob.bin", offset=10,
                       length=5).json()
    assert piece == {"bytes_read": 5, "data": base64.b64encode(data[10:15]).decode()}

    form = requests.post(f"{server.url}/api/2.0/dbfs/put", headers=server.headers,
                         data={"path": f"{base}/form.bin", "overwrite": "true"},
                         files={"contents": ("form.bin", data[:100_000])}, timeout=30)
    assert form.status_code == 200, form.text  # the multipart form curl -F sends
    assert w.dbfs.download(f"{base}/form.bin").read() == data[:100_000]
    w.dbfs.delete(f"{base}/form.bin")

    w.dbfs.move(f"{base}/a", f"{base}/b")
    assert [(f.path, f.is_dir) for f in w.dbfs.list(base)] == [(f"{base}/b", True)]
    client_dbutils(server).fs.cp(f"dbfs:{base}/b/blob.bin", f"dbfs:{base}/c/copy.bin")
    assert w.dbfs.download(f"{base}/c/copy.bin").read() == data
    client_dbutils(server).fs.mv(f"dbfs:{base}/c/copy.bin", f"dbfs:{base}/moved.bin")
    assert sorted(f.path for f in w.dbfs.list(base)) == [f"{base}/b", f"{base}/c",
                                                         f"{base}/moved.bin"]
    refused = server.post("/api/2.0/dbfs/delete", {"path": base})  # not empty
    assert (refused.status_code, error_code(refused)) == (400, "IO_ERROR")
    w.dbfs.delete(base, recursive=True)
    with pytest.raises(NotFound):
        w.dbfs.get_status(base)


def test_databricks_errors_and_nothing_half_written(server: Server) -> None:
    w = server.sdk()
    base = "/podium-tests/dbfs-errors"
    w.dbfs.delete(base, recursive=True)
    w.dbfs.put(f"{base}/kept.txt", contents=base64.b64encode(b"first").decode())
    with pytest.raises(ResourceAlreadyExists):
        w.dbfs.put(f"{base}/kept.txt", contents=base64.b64encode(b"second").decode())
    with pytest.raises(ResourceAlreadyExists):
        w.dbfs.mkdirs(f"{base}/kept.txt/below")  # a file on the way
    too_big = base64.b64encode(b"x" * ((1 << 20) + 1)).decode()
    answer = server.post("/api/2.0/dbfs/put", {"path": f"{base}/big", "contents": too_big})
    assert (answer.status_code, error_code(answer)) == (400, "MAX_BLOCK_SIZE_EXCEEDED")

    handle = w.dbfs.create(f"{base}/streamed.txt").handle
    w.dbfs.add_block(handle, base64.b64encode(b"half").decode())
    answer = server.post("/api/2.0/dbfs/add-block", {"handle": handle, "data": too_big})
    assert error_code(answer) == "MAX_BLOCK_SIZE_EXCEEDED"
    # an open stream is not there yet, and never a listed name
    assert [f.path for f in w.dbfs.list(base)] == [f"{base}/kept.txt"]
    w.dbfs.close(handle)
    assert w.dbfs.download(f"{base}/streamed.txt").read() == b"half"
    with pytest.raises(NotFound):
        w.dbfs.close(handle)
    with pytest.raises(NotFound):
        w.dbfs.add_block(987654321, "")

    for path, code in ((f"{base}/missing", "RESOURCE_DOES_NOT_EXIST"),
                       ("relative/path", "INVALID_PARAMETER_VALUE"),
                       (f"{base}/../../escape", "INVALID_PARAMETER_VALUE")):
        assert error_code(dbfs_get(server, "get-status", path=path)) == code
    assert error_code(dbfs_get(server, "read", path=base)) == "INVALID_PARAMETER_VALUE"
    assert error_code(dbfs_get(server, "read", path=f"{base}/kept.txt",
                                 length=(1 << 20) + 1)) == "MAX_READ_SIZE_EXCEEDED"
    denied = server.post("/api/2.0/dbfs/put", {"path": "/databricks-datasets/mine.txt",
                                               "contents": ""})
    assert (denied.status_code, error_code(denied)) == (403, "PERMISSION_DENIED")
    # the file system's own refusals are the client's errors too
    assert error_code(dbfs_get(server, "get-status", path="/" + "n" * 5000)) == "IO_ERROR"
    into_itself = server.post("/api/2.0/dbfs/move", {"source_path": base,
                                                     "destination_path": f"{base}/inner"})
    assert (into_itself.status_code, error_code(into_itself)) == (400, "IO_ERROR")
    assert w.dbfs.download(f"{base}/kept.txt").read() == b"first"
    w.dbfs.delete(f"{base}/missing")  # already gone: fine
