"""A Spark standalone cluster over three hosts (network namespaces with their own
addresses, on a bridge): the master on one, a worker on each of two others; podium's
driver on this host, the warehouse on a path all of them see (as a shared file system
would be). A job runs with executors on both workers; one worker is killed mid-task and
Spark reschedules its work; with the master down a run fails at once naming it, and a
repair after the master is back succeeds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podium.compute.connect import spark_home
from tests.cli.test_runs import ENV, PODIUM, cli, get
from tests.compute.test_standalone import QUICK_DAEMONS, read_json, wait_for
from tests.conftest import finish
from tests.hosts import Network, network

MASTER_PORT = 7077  # each host has ports of its own: fixed ones are free

NOTEBOOK = """# Databricks notebook source
import pathlib
spark.range(0, 2, 1, 2).count()  # the first job waits for both executors (cores.max, ratio)
pathlib.Path({started!r}).write_text("started")
slow = spark.range(0, 8, 1, 8).selectExpr(
    "java_method('java.lang.Thread', 'sleep', cast(1200 as bigint)) AS slept")
assert len(slow.collect()) == 8
spark.range(0, 1000, numPartitions=4).write.mode("overwrite").format("parquet").saveAsTable(
    "spread")
dbutils.notebook.exit(str(spark.table("spread").selectExpr("sum(id)").first()[0]))
"""


@dataclass
class Cluster:
    """The standalone daemons on their hosts, restartable."""

    net: Network
    folder: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def master(self) -> str:
        return f"spark://{self.net['master'].address}:{MASTER_PORT}"

    @property
    def master_ui(self) -> str:
        return f"http://{self.net['master'].address}:8080"

    def start(self, name: str) -> None:
        home = spark_home()
        main = (["org.apache.spark.deploy.master.Master", "--port", str(MASTER_PORT)]
                if name == "master" else
                ["org.apache.spark.deploy.worker.Worker", self.master, "--cores", "1",
                 "--memory", "1g"])
        env = {**os.environ, "SPARK_HOME": str(home),
               "SPARK_WORKER_DIR": str(self.folder / f"work-{name}"),
               "SPARK_LOCAL_IP": self.net[name].address, **QUICK_DAEMONS}
        with (self.folder / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                self.net[name].command([str(home / "bin" / "spark-class"), *main,
                                        "--host", self.net[name].address]),
                env=env, stdout=log, stderr=log)

    def kill(self, name: str) -> None:
        """Kill every process of a host (a worker and its executors), as a host dies."""
        pids = subprocess.run(["ip", "netns", "pids", self.net[name].netns],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        self.processes.pop(name).wait(10)

    def workers_alive(self) -> set[str]:
        return {w["host"] for w in read_json(f"{self.master_ui}/json/")["workers"]
                if w["state"] == "ALIVE"}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with network("master", "w1", "w2") as net:
        running = Cluster(net, tmp_path)
        running.start("master")
        wait_for(lambda: read_json(f"{running.master_ui}/json/"))
        running.start("w1")
        running.start("w2")
        wait_for(lambda: running.workers_alive() == {net["w1"].address, net["w2"].address})
        yield running  # the network's end kills what is left in the namespaces


def executor_hosts(events: Path) -> tuple[set[str], int]:
    """(hosts executors were added on, executors removed), from Spark's event log."""
    hosts, removed = set(), 0
    for path in events.rglob("events_*"):  # Spark 4's rolling logs, one folder per app
        for line in path.read_text(errors="replace").splitlines():
            event = json.loads(line)
            if event["Event"] == "SparkListenerExecutorAdded":
                hosts.add(event["Executor Info"]["Host"])
            elif event["Event"] == "SparkListenerExecutorRemoved":
                removed += 1
    return hosts, removed


def test_a_job_on_a_multi_host_standalone_cluster_survives_a_worker_and_a_master(
    tmp_path: Path, cluster: Cluster
) -> None:
    home, bundle, events = tmp_path / "home", tmp_path / "bundle", tmp_path / "events"
    started = tmp_path / "started"
    for folder in (bundle, events):
        folder.mkdir()
    (bundle / "spread.py").write_text(NOTEBOOK.format(started=str(started)))
    (bundle / "databricks.yml").write_text(f"""bundle: {{name: multi_host}}
resources:
  jobs:
    spread:
      job_clusters:
        - job_cluster_key: standalone
          new_cluster:
            spark_conf:
              spark.master: "{cluster.master}"
              spark.driver.host: "{cluster.net.gateway}"
              spark.executor.memory: 512m
              spark.cores.max: "2"
              spark.scheduler.minRegisteredResourcesRatio: "1.0"
              spark.eventLog.enabled: "true"
              spark.eventLog.compress: "false"
              spark.eventLog.dir: "{events}"
      tasks:
        - task_key: spread
          job_cluster_key: standalone
          notebook_task: {{notebook_path: spread.py}}
""")
    command = [*PODIUM, "run", "spread", "--bundle", str(bundle), "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**ENV, "PODIUM_HOME": str(home)})
    wait_for(started.exists, seconds=120)
    time.sleep(1.5)  # both executors are sleeping in the slow stage's tasks
    cluster.kill("w1")
    out, err = finish(running, 180)
    task = json.loads(out)["tasks"][0]
    assert task["state"]["result_state"] == "SUCCESS", err
    assert task["podium_exit_value"] == "499500"
    hosts, removed = executor_hosts(events)
    assert hosts == {cluster.net["w1"].address, cluster.net["w2"].address}
    assert removed >= 1  # w1's executor, lost mid-stage; Spark reran its tasks on w2
    assert any((home / "warehouse").rglob("part-*")), "executors wrote to the shared path"

    cluster.kill("master")
    began = time.monotonic()
    failed = cli("run", "spread", "--bundle", str(bundle), "--json", home=home)
    assert failed.returncode == 1
    view = json.loads(failed.stdout)
    message = view["tasks"][0]["state"]["state_message"]
    assert f"cannot reach the standalone master {cluster.master}" in message, message
    assert time.monotonic() - began < 60

    cluster.start("master")
    cluster.start("w1")
    wait_for(lambda: cluster.workers_alive() == {cluster.net["w1"].address,
                                                 cluster.net["w2"].address}, seconds=120)
    repair = cli("runs", "repair", str(view["run_id"]), "--json", home=home)
    assert repair.returncode == 0, repair.stderr
    assert get(view["run_id"], home)["state"]["result_state"] == "SUCCESS"
