"""A real standalone cluster from the pip package: a master and two workers; a job with
`spark.master: spark://…` runs its Spark work on their executors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.compute.cluster_conf import JIT_OPTIONS
from podium.compute.connect import spark_home
from podium.jvm import archive
from tests.cli.test_runs import cli

NOTEBOOK = ("# Databricks notebook source\n"
            "total = spark.range(0, 1000, numPartitions=4).selectExpr('sum(id)').first()[0]\n"
            "dbutils.notebook.exit(f\"{spark.conf.get('spark.master')}:{total}\")\n")


def read_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def wait_for(check, seconds: float = 90):
    """check()'s first true value; a daemon still starting raises OSError or says nothing."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if found := check():
                return found
        except OSError:
            pass
        assert time.monotonic() < deadline, "the standalone cluster did not come up"
        time.sleep(0.5)


def logged(log: Path, pattern: str) -> str | None:
    """The first match of pattern in a daemon's log, once it has written it."""
    found = re.search(pattern, log.read_text(errors="replace")) if log.exists() else None
    return found.group(1) if found else None


# The daemons of the suite's short-lived test clusters compile with C1 only, as its drivers
# and executors do (PODIUM_JIT=quick): a master and a worker never get warm in a test. They
# start with the driver's class path, so they map its class-data archive too.
QUICK_DAEMONS = {"SPARK_DAEMON_JAVA_OPTS": " ".join([*archive.jvm_options(),
                                                     JIT_OPTIONS["quick"]])}


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[str, str, list[str]]]:
    """(master URL, master UI URL, worker UI URLs); everything stopped after.

    Every daemon binds port 0 and the test reads the ports back: a port picked
    beforehand can be taken by another test's Spark UI before the daemon binds it."""
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(tmp_path / "logs"),
           "SPARK_WORKER_DIR": str(tmp_path / "work"), **QUICK_DAEMONS}
    spark_class = str(home / "bin" / "spark-class")
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> Path:
        log = tmp_path / f"{name}.log"
        with log.open("ab") as out:
            processes.append(subprocess.Popen([spark_class, *args], env=env, stdout=out,
                                              stderr=out))
        return log

    try:
        master_log = start("master", "org.apache.spark.deploy.master.Master", "--host",
                           "127.0.0.1", "--port", "0", "--webui-port", "0")
        master = wait_for(lambda: logged(master_log, r"(spark://127\.0\.0\.1:\d+)"))
        master_ui = wait_for(lambda: logged(master_log, r"MasterWebUI.*?(http://[\w.]+:\d+)"))
        for n in range(2):
            start(f"worker{n}", "org.apache.spark.deploy.worker.Worker", master, "--host",
                  "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", "0")
        workers = wait_for(lambda: len(w := read_json(f"{master_ui}/json/")["workers"]) == 2
                           and w)
        yield master, master_ui, [w["webuiaddress"] for w in workers]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


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
    # The suite's PODIUM_JIT=quick reaches the executors too (each worker logs its command)
    commands = [line for log in (tmp_path / "work" / app_id).rglob("stderr")
                for line in log.read_text(errors="replace").splitlines()
                if "Spark Executor Command" in line]
    assert len(commands) == 2 and all("-XX:TieredStopAtLevel=1" in c for c in commands)
