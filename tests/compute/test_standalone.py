"""A real standalone cluster from the pip package: a master and two workers; a job with
`spark.master: spark://…` runs its Spark work on their executors."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.compute.connect import free_port, spark_home
from tests.cli.test_runs import cli

NOTEBOOK = ("# Databricks notebook source\n"
            "total = spark.range(0, 1000, numPartitions=4).selectExpr('sum(id)').first()[0]\n"
            "dbutils.notebook.exit(f\"{spark.conf.get('spark.master')}:{total}\")\n")


def read_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def wait_for(check, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "the standalone cluster did not come up"
        time.sleep(0.5)


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[str, str, list[str]]]:
    """(master URL, master UI URL, worker UI URLs); everything stopped after."""
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(tmp_path / "logs"),
           "SPARK_WORKER_DIR": str(tmp_path / "work")}
    port, ui = free_port(), free_port()
    spark_class = str(home / "bin" / "spark-class")
    log = (tmp_path / "cluster.log").open("ab")
    processes = [subprocess.Popen([spark_class, "org.apache.spark.deploy.master.Master",
                                   "--host", "127.0.0.1", "--port", str(port),
                                   "--webui-port", str(ui)], env=env, stdout=log, stderr=log)]
    master, master_ui = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}"
    worker_uis = []
    for _ in range(2):
        worker_ui = free_port()
        worker_uis.append(f"http://127.0.0.1:{worker_ui}")
        processes.append(subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", master, "--host",
             "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(worker_ui)],
            env=env, stdout=log, stderr=log))
    try:
        wait_for(lambda: len(read_json(f"{master_ui}/json/")["workers"]) == 2)
        yield master, master_ui, worker_uis
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        log.close()


def test_a_job_runs_on_a_standalone_master_and_its_workers(tmp_path: Path, standalone) -> None:
    master, master_ui, worker_uis = standalone
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "nb.py").write_text(NOTEBOOK)
    (tmp_path / "b" / "databricks.yml").write_text(f"""bundle: {{name: standalone}}
resources:
  jobs:
    j:
      job_clusters:
        - job_cluster_key: cluster
          new_cluster:
            spark_conf: {{spark.master: '{master}', spark.driver.host: 127.0.0.1,
                         spark.executor.memory: 512m}}
      tasks:
        - {{task_key: t, job_cluster_key: cluster, notebook_task: {{notebook_path: nb.py}}}}
""")
    done = cli("run", "j", "--bundle", str(tmp_path / "b"), "--json", home=tmp_path / "home")
    task = json.loads(done.stdout)["tasks"][0]
    assert task["state"]["result_state"] == "SUCCESS", done.stderr
    assert task["podium_exit_value"] == f"{master}:499500"
    app_id = task["cluster_instance"]["spark_context_id"]

    state = read_json(f"{master_ui}/json/")
    apps = {a["id"]: a for a in state["activeapps"] + state["completedapps"]}
    assert apps[app_id]["name"] == "podium:j:cluster"
    assert apps[app_id]["cores"] >= 1
    executors = [e for ui in worker_uis for e in read_json(f"{ui}/json/")["finishedexecutors"]
                 + read_json(f"{ui}/json/")["executors"] if e["appid"] == app_id]
    assert len(executors) == 2  # one on each worker
