"""A cluster that dies under its tasks, as a user meets it: `podium run` of a job whose
two clusters (the process's classic driver, and a Spark Connect server podium starts)
have their JVMs killed mid-task, and a shared cluster's server killed under a run's
task. Each task fails within seconds with a message naming its cluster, and its retry
runs on a fresh start of that cluster (a shared one restarted by its supervisor)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from podium.store import clusters as registry
from podium.store import open_store
from tests.cli.test_runs import ENV, cli, get, run_ids
from tests.cli.test_validate import PODIUM
from tests.conftest import ENDLESS, finish

NOTEBOOK = """# Databricks notebook source
import os, pathlib
marks = pathlib.Path(r"{marks}")
print("application", spark.conf.get("spark.app.id"))
(marks / "{name}.running").write_text(str(os.getpid()))
if not (marks / "killed").exists():  # the first attempt: work until its cluster dies
    {endless}
else:
    assert spark.range(100).count() == 100
""".replace("{endless}", ENDLESS)


def application(log_path: str) -> str:
    """The Spark application an attempt ran on, as its notebook printed it."""
    return next((line.split()[-1] for line in Path(log_path).read_text().splitlines()
                 if line.startswith("application ")), "")


def java_children(pid: int) -> dict[str, int]:
    """The JVMs a process started, by kind: the classic driver and Connect servers."""
    found = {}
    for child in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                text=True).stdout.split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "java" in cmdline.split(" ", 1)[0]:
            found["connect" if "SparkConnectServer" in cmdline else "classic"] = int(child)
    return found


# Up to 240 s to start, then 150 s to recover: `finish` fails first, with the stacks.
@pytest.mark.timeout(400)
def test_a_dying_driver_and_server_fail_their_tasks_fast_and_retries_restart_them(
        tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(NOTEBOOK.format(marks=marks, name=name))
    (tmp_path / "databricks.yml").write_text("""bundle: {name: loss}
resources:
  jobs:
    j:
      job_clusters:
        - {job_cluster_key: main, new_cluster: {spark_conf: {spark.master: "local[1]"}}}
        - {job_cluster_key: other, new_cluster: {spark_conf: {spark.master: "local[1]",
            spark.sql.shuffle.partitions: "3"}}}
      tasks:
        - {task_key: a, job_cluster_key: main, max_retries: 1, timeout_seconds: 600,
           notebook_task: {notebook_path: ./a.py}}
        - {task_key: b, job_cluster_key: other, max_retries: 1, timeout_seconds: 600,
           notebook_task: {notebook_path: ./b.py}}
""")
    home = tmp_path / "home"
    proc = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**ENV, "PODIUM_HOME": str(home)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not all((marks / f"{n}.running").exists() for n in "ab"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.2)
        time.sleep(2)  # both tasks are inside their Spark jobs
        jvms = java_children(proc.pid)
        assert set(jvms) == {"classic", "connect"}, jvms
        (marks / "killed").write_text("")
        killed_ms = time.time() * 1000
        for pid in jvms.values():
            os.kill(pid, signal.SIGKILL)
        output, _ = finish(proc, 150)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, output[-3000:]
    view = get(run_ids(home)[-1], home)
    for task, cluster, words in (("a", "main", "driver JVM exited"),
                                 ("b", "other", "Spark Connect server exited")):
        attempts = next(t for t in view["tasks"] if t["task_key"] == task)["attempts"]
        first, retry = attempts[0], attempts[-1]
        assert first["result_state"] == "FAILED", json.dumps(attempts)
        assert f"cluster '{cluster}' stopped under the task" in first["error"]
        assert words in first["error"]
        # Far below the task's 600 s timeout; a loaded machine takes seconds to end a JVM.
        assert first["end_time"] - killed_ms < 60_000
        assert retry["result_state"] == "SUCCESS"
        apps = [application(a["log_path"]) for a in (first, retry)]
        assert apps[0] and apps[1] and apps[0] != apps[1]  # a fresh start of the cluster


@pytest.mark.timeout(400)
def test_a_shared_clusters_dying_server_fails_its_task_fast_and_is_restarted(
        tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "a.py").write_text(NOTEBOOK.format(marks=marks, name="a"))
    (tmp_path / "databricks.yml").write_text("""bundle: {name: shared_loss}
resources:
  clusters:
    team: {cluster_name: team, spark_conf: {spark.master: "local[1]"}}
  jobs:
    j:
      tasks:
        - {task_key: a, existing_cluster_id: team, max_retries: 1, timeout_seconds: 600,
           notebook_task: {notebook_path: ./a.py}}
""")
    home = tmp_path / "home"
    started = cli("cluster", "start", "team", "--bundle", str(tmp_path), "--json", home=home)
    assert json.loads(started.stdout)["state"] == "RUNNING", started.stderr
    store = open_store(f"sqlite:///{home / 'podium.db'}")
    proc = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**ENV, "PODIUM_HOME": str(home)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not (marks / "a.running").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.2)
        time.sleep(2)  # the task is inside its Spark job
        server = java_children(registry.find(store, "team").pid)["connect"]
        (marks / "killed").write_text("")
        killed_ms = time.time() * 1000
        os.kill(server, signal.SIGKILL)
        output, _ = finish(proc, 150)
        assert proc.returncode == 0, output[-3000:]
        attempts = get(run_ids(home)[-1], home)["tasks"][0]["attempts"]
        first, retry = attempts[0], attempts[-1]
        assert first["result_state"] == "FAILED", json.dumps(attempts)
        assert "cluster 'team' stopped under the task" in first["error"]
        assert "does not answer" in first["error"]
        assert first["end_time"] - killed_ms < 60_000
        assert retry["result_state"] == "SUCCESS"
        apps = [application(a["log_path"]) for a in (first, retry)]
        assert apps[0] and apps[1] and apps[0] != apps[1]  # the supervisor restarted it
        row = registry.find(store, "team")
        assert row.state == "RUNNING" and row.application_id == apps[1]
        restarting = [e for e in registry.events(store, "team") if e.type == "RESTARTING"]
        assert len(restarting) == 1
        assert "Its Spark Connect server exited (code -9)" in restarting[0].details_json
        assert "DRIVER_UNREACHABLE" in restarting[0].details_json
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        cli("cluster", "stop", "team", home=home)
