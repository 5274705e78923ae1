"""Spark Connect through `podium serve`'s own port: a pyspark client with a workspace
token and `x-databricks-cluster-id` works on that all-purpose cluster, shows on the
clusters page (in Chromium) with its user, shares its tables with jobs, and is refused
with a clear status otherwise (databricks-connect itself, over
TLS, is tests/interop/test_databricks_connect.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import Language

from tests.server.conftest import Server

READ_BACK = """# Databricks notebook source
dbutils.notebook.exit(str(spark.table("ide_written").count()))
"""


def address(server: Server, token: str, **params: str) -> str:
    """The server's own port as a Spark Connect address, with `token` and metadata."""
    port = server.url.rsplit(":", 1)[1]
    extra = "".join(f";{name}={value}" for name, value in params.items())
    return f"sc://localhost:{port}/;token={token}{extra}"


def session(url: str):
    from pyspark.sql.connect.session import SparkSession

    return SparkSession.builder.remote(url).create()


def refusal(url: str) -> tuple[grpc.StatusCode, str]:
    """The status a client at `url` is refused with (its session closed, so pyspark does
    not retry its exit cleanup against a refusal)."""
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    spark = None
    try:
        spark = session(url)
        spark.range(1).count()
    except SparkConnectGrpcException as exc:
        return exc.getGrpcStatusCode(), str(exc)
    finally:
        if spark is not None:
            spark.stop()
    raise AssertionError(f"{url} was not refused")


@pytest.fixture(scope="module")
def cluster_id(server: Server) -> Iterator[str]:
    w = server.sdk()
    created = w.clusters.create(cluster_name="ide", spark_version="16.4.x-scala2.12",
                                num_workers=0, autotermination_minutes=30,
                                spark_conf={"spark.master": "local[1]"}
                                ).result(timeout=timedelta(minutes=4))
    yield created.cluster_id
    w.clusters.permanent_delete(created.cluster_id)


def test_a_session_on_the_servers_port_runs_on_the_cluster_and_shares_tables_with_jobs(
        server: Server, cluster_id: str, page) -> None:
    spark = session(address(server, server.token, **{"x-databricks-cluster-id": cluster_id}))
    try:
        assert spark.range(10**6).count() == 10**6
        assert spark.sql("SELECT 1 + 1 AS two").first().two == 2
        spark.range(42).write.mode("overwrite").saveAsTable("ide_written")
        # the version answer carries the cluster's runtime, which databricks-connect checks
        assert spark.version.startswith("4.")
        session_id = spark.client._session_id
    finally:
        spark.stop()
    w = server.sdk()
    me = w.current_user.me().user_name
    page.goto(f"{server.url}/clusters")  # the session, with its user, in the browser
    cells = page.locator(f'#connect-sessions tr[data-session="{session_id}"] td')
    assert cluster_id in cells.nth(0).inner_text() and cells.nth(1).inner_text() == me
    assert cells.nth(2).inner_text() and int(cells.nth(5).inner_text()) >= 4  # its calls
    w.workspace.upload(f"/Users/{me}/read_back", io.BytesIO(READ_BACK.encode()),
                       language=Language.PYTHON, overwrite=True)
    run = w.jobs.submit(run_name="after-the-ide", tasks=[jobs.SubmitTask(
        task_key="t", existing_cluster_id=cluster_id,
        notebook_task=jobs.NotebookTask(notebook_path=f"/Users/{me}/read_back"))]).result()
    assert w.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "42"


def test_a_wrong_token_no_cluster_or_an_unknown_one_is_refused_clearly(
        server: Server, cluster_id: str) -> None:
    code, message = refusal(address(server, "dapi-wrong",
                                    **{"x-databricks-cluster-id": cluster_id}))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "Invalid access token" in message
    code, message = refusal(address(server, server.token))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "x-databricks-cluster-id" in message
    code, message = refusal(address(server, server.token,
                                    **{"x-databricks-cluster-id": "0101-000000-nosuch00"}))
    assert code == grpc.StatusCode.NOT_FOUND and "0101-000000-nosuch00 does not exist" in message


def test_a_terminated_cluster_starts_when_a_session_uses_it(
        server: Server, cluster_id: str) -> None:
    w = server.sdk()
    w.clusters.delete(cluster_id).result(timeout=timedelta(minutes=2))
    assert w.clusters.get(cluster_id).state == compute.State.TERMINATED
    spark = session(address(server, server.token, **{"x-databricks-cluster-id": cluster_id}))
    try:
        assert spark.range(7).count() == 7  # waited for the start, as on Databricks
    finally:
        spark.stop()
    assert w.clusters.get(cluster_id).state == compute.State.RUNNING
