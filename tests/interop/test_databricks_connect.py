"""databricks-connect 16.1, unchanged and in a venv of its own (`make test` builds it),
develops against `podium serve --tls` as against a workspace: `remote(host, token,
cluster_id)`, a profile `podium login` wrote (with which the default Python template's
own tests pass), and `serverless()` — DataFrames, SQL, a Python UDF, tables shared with
jobs, a cancel — and is told clearly when its token or cluster is wrong
(docs/connect.md)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.server.conftest import (
    PODIUM,
    Server,
    env_for,
    start_server,
    stop_server,
    wait_run,
)

FOLDER = REPO / "interop" / "databricks-connect"
CONNECT_PYTHON = FOLDER / ".venv" / "bin" / "python"
TEMPLATE = REPO / "tests" / "cli" / "templates" / "default-python"  # as the CLI renders it
WRITE = """# Databricks notebook source
spark.range(100).write.mode("overwrite").saveAsTable("from_job")
"""
READ = """# Databricks notebook source
dbutils.notebook.exit(str(spark.table("from_job_from_ide").count()))
"""


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("tls_home"), 0, "--tls")
    yield running
    for cluster in api(running, "/api/2.1/clusters/list").get("clusters", []):
        # all-purpose clusters outlive their server, as on Databricks
        api(running, "/api/2.1/clusters/permanent-delete", {"cluster_id": cluster["cluster_id"]})
    stop_server(running)


def cert(server: Server) -> str:
    return str(server.verify)


def api(server: Server, path: str, body: dict | None = None, **params: str) -> dict:
    answer = server.post(path, body) if body is not None else server.get(path, **params)
    assert answer.ok, answer.text
    return answer.json()


def wait_state(server: Server, cluster_id: str, state: str) -> None:
    deadline = time.monotonic() + 240
    while api(server, "/api/2.1/clusters/get", cluster_id=cluster_id)["state"] != state:
        assert time.monotonic() < deadline, f"cluster {cluster_id} never became {state}"
        time.sleep(0.5)


def run_notebook(server: Server, cluster_id: str, path: Path) -> dict:
    run_id = api(server, "/api/2.1/jobs/runs/submit", {"run_name": path.stem, "tasks": [{
        "task_key": "t", "existing_cluster_id": cluster_id,
        "notebook_task": {"notebook_path": str(path)}}]})["run_id"]
    run = wait_run(server, run_id, timeout=180)
    assert run["state"]["result_state"] == "SUCCESS", run["state"]
    return api(server, "/api/2.1/jobs/runs/get-output", run_id=str(run["tasks"][0]["run_id"]))


def developer_env(server: Server, home: Path, **extra: str) -> dict[str, str]:
    """A developer's environment: trusting the server's certificate, profiles in `home`,
    no podium or Spark settings of the suite's."""
    assert CONNECT_PYTHON.exists(), "the databricks-connect venv is missing: `make test` builds it"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPARK", "PYSPARK", "DATABRICKS", "PODIUM", "PYTHON"))}
    env.update(HOME=str(home), DATABRICKS_CONFIG_FILE=str(home / ".databrickscfg"),
               REQUESTS_CA_BUNDLE=cert(server), GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=cert(server),
               **extra)
    return env


def developer(server: Server, home: Path, *args: str) -> dict:
    """interop/databricks-connect/session_check.py run as a developer runs it."""
    done = subprocess.run([str(CONNECT_PYTHON), str(FOLDER / "session_check.py"), *args],
                          capture_output=True, text=True, env=developer_env(server, home),
                          timeout=400, cwd=home)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_ide_session_by_host_token_and_cluster_works_and_shares_tables_with_jobs(
        tls_server: Server, tmp_path: Path) -> None:
    cluster_id = api(tls_server, "/api/2.1/clusters/create", {
        "cluster_name": "ide", "spark_version": "16.4.x-scala2.12", "num_workers": 0,
        "spark_conf": {"spark.master": "local[2]"}})["cluster_id"]
    (tmp_path / "write.py").write_text(WRITE)
    (tmp_path / "read.py").write_text(READ)
    wait_state(tls_server, cluster_id, "RUNNING")
    run_notebook(tls_server, cluster_id, tmp_path / "write.py")
    landing = "/Volumes/main/default/landing/people.csv"
    api(tls_server, "/api/2.0/dbfs/put", {"path": landing, "overwrite": True,
                                          "contents": base64.b64encode(b"name,age\nada,36\n")
                                          .decode()})

    seen = developer(tls_server, tmp_path, "remote", tls_server.url, tls_server.token,
                     cluster_id, "from_job", landing)
    assert seen["count"] == 10**6 and seen["sql"] == 2 and seen["udf"] == [1, 2, 3]
    assert seen["table"] == 100  # the job's table, read in the IDE
    assert seen["csv"] == [{"name": "ada", "age": "36"}]  # a volume's file
    cancel = seen["interrupted"]  # the cancel reached the cluster
    assert 0 <= cancel["after"] < 30 and "OPERATION_CANCELED" in cancel["error"], cancel
    output = run_notebook(tls_server, cluster_id, tmp_path / "read.py")
    assert output["notebook_output"]["result"] == "5"  # the IDE's table, read by a job

    wrong = developer(tls_server, tmp_path, "remote", tls_server.url, "dapi-wrong", cluster_id)
    assert "Invalid access token" in wrong["error"]
    unknown = developer(tls_server, tmp_path, "remote", tls_server.url, tls_server.token,
                        "0101-000000-nosuch00")
    assert "0101-000000-nosuch00 does not exist" in unknown["error"]


def test_a_profile_from_podium_login_and_a_serverless_session(
        tls_server: Server, tmp_path: Path) -> None:
    cluster_id = api(tls_server, "/api/2.1/clusters/create", {
        "cluster_name": "ide-profile", "spark_version": "17.3.x-scala2.13", "num_workers": 0,
        "spark_conf": {"spark.master": "local[1]"}})["cluster_id"]
    wait_state(tls_server, cluster_id, "RUNNING")
    api(tls_server, "/api/2.1/clusters/delete", {"cluster_id": cluster_id})
    wait_state(tls_server, cluster_id, "TERMINATED")
    login = subprocess.run(
        [*PODIUM, "login", "--host", tls_server.url, "--cluster-id", cluster_id],
        capture_output=True, text=True, timeout=60,
        env=env_for(tls_server.home, HOME=str(tmp_path),
                    DATABRICKS_CONFIG_FILE=str(tmp_path / ".databrickscfg")))
    assert login.returncode == 0, login.stderr
    assert f"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH={cert(tls_server)}" in login.stdout
    assert f"cluster_id = {cluster_id}" in (tmp_path / ".databrickscfg").read_text()

    seen = developer(tls_server, tmp_path, "profile", "podium")
    assert seen["count"] == 10**6 and seen["udf"] == [1, 2, 3]  # it started the cluster
    assert api(tls_server, "/api/2.1/clusters/get", cluster_id=cluster_id)["state"] == "RUNNING"

    project = shutil.copytree(TEMPLATE, tmp_path / "my_default_python")
    tests = subprocess.run(  # the template's own tests, unchanged, with the profile
        [str(CONNECT_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True, text=True, cwd=project, timeout=400,
        env=developer_env(tls_server, tmp_path, DATABRICKS_CONFIG_PROFILE="podium",
                          PYTHONPATH=str(project / "src")))
    assert tests.returncode == 0 and "1 passed" in tests.stdout, tests.stdout[-3000:]

    seen = developer(tls_server, tmp_path, "serverless", "podium")
    assert seen["count"] == 10**6 and seen["sql"] == 2
    serverless = api(tls_server, "/api/2.1/clusters/get", cluster_id="serverless")
    assert serverless["state"] == "RUNNING" and serverless["autotermination_minutes"] == 10
