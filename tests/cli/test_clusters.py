"""Shared clusters outlive runs: started once, found by every bundle and process, stopped
by `podium cluster stop` or after being idle."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.cli.test_runs import ENV, PODIUM, cli, get, task_states, wait_until
from tests.compute.test_connect import assert_refused_without_its_token
from tests.conftest import ENDLESS, finish

DEFINES = """bundle: {name: owner}
variables:
  shared_cluster_id: {default: team}
resources:
  clusters:
    team:
      cluster_name: team-cluster
      autotermination_minutes: 60
      spark_conf: {spark.master: 'local[2]', spark.podium.flavour: team%s}
  jobs:
    j:
      tasks:
        - {task_key: t, existing_cluster_id: '${var.shared_cluster_id}',
           notebook_task: {notebook_path: nb.py}}
"""

USES = """bundle: {name: user}
resources:
  jobs:
    j:
      tasks:
        - {task_key: t, existing_cluster_id: team-cluster,
           notebook_task: {notebook_path: nb.py}}
"""

NOTEBOOK = ("# Databricks notebook source\n"
            "dbutils.notebook.exit(spark.conf.get('spark.app.id') + ':' + "
            "spark.conf.get('spark.podium.flavour', 'none'))\n")


def bundle(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "databricks.yml").write_text(text)
    (root / "nb.py").write_text(NOTEBOOK)
    return root


def clusters(home: Path) -> dict[str, dict]:
    listed = json.loads(cli("cluster", "list", "--json", home=home).stdout)["clusters"]
    return {c["cluster_id"]: c for c in listed}


def test_two_bundles_in_two_processes_share_one_running_cluster(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner, user = bundle(tmp_path / "owner", DEFINES % ""), bundle(tmp_path / "user", USES)
    started = cli("cluster", "start", "team", "--bundle", str(owner), "--json", home=home)
    assert json.loads(started.stdout)["state"] == "RUNNING", started.stderr
    app_id = json.loads(started.stdout)["spark_context_id"]

    both = [subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(b), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**ENV, "PODIUM_HOME": str(home)}) for b in (owner, user)]
    views = [json.loads(finish(p, 180)[0]) for p in both]
    for view in views:
        task = view["tasks"][0]
        assert task["state"]["result_state"] == "SUCCESS", task
        assert task["cluster_instance"]["spark_context_id"] == app_id
        assert task["podium_exit_value"] == f"{app_id}:team"

    assert clusters(home)["team"]["state"] == "RUNNING"  # outlives both runs
    # its address is the owner's: whole in --json, without its token where it is shown
    remote = clusters(home)["team"]["spark_remote"]
    assert_refused_without_its_token(remote)
    token = remote.split(";token=")[1]
    assert token not in cli("cluster", "list", home=home).stdout
    assert token not in clusters(home)["team"]["state_message"]
    stopped = cli("cluster", "stop", "team-cluster", home=home)
    assert stopped.stdout.strip() == "cluster team: TERMINATED"
    assert clusters(home)["team"]["state_message"] == "Stopped by podium cluster stop"


def test_a_cluster_that_is_not_running_fails_the_task_with_how_to_start_it(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = cli("run", "j", "--bundle", str(bundle(tmp_path / "user", USES)), "--json",
               home=home)
    task = json.loads(done.stdout)["tasks"][0]
    assert task["state"]["result_state"] == "FAILED"
    assert task["state"]["state_message"] == (
        "shared cluster 'team-cluster' is not running (it is not in this bundle's "
        "resources.clusters; start it from the bundle that defines it); start it with "
        "`podium cluster start team-cluster --bundle DIR`, or run with --start-clusters")


def test_start_clusters_starts_it_and_idle_time_stops_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner = bundle(tmp_path / "owner", DEFINES % ", spark.podium.autoterminationSeconds: 10")
    done = cli("run", "j", "--bundle", str(owner), "--start-clusters", "--json", home=home)
    assert json.loads(done.stdout)["tasks"][0]["state"]["result_state"] == "SUCCESS"
    deadline = time.monotonic() + 60
    while clusters(home)["team"]["state"] != "TERMINATED":
        assert time.monotonic() < deadline, clusters(home)
        time.sleep(0.5)
    assert clusters(home)["team"]["state_message"] == "Auto-terminated after 10s without a task"


def test_starting_a_cluster_the_bundle_does_not_define_is_exit_2(tmp_path: Path) -> None:
    done = cli("cluster", "start", "nope", "--bundle", str(bundle(tmp_path / "o", DEFINES % "")),
               home=tmp_path / "home", check=False)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "no shared cluster 'nope' in resources.clusters (clusters: team); add it there")


def test_runs_cancel_interrupts_a_task_on_a_shared_connect_cluster(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner = bundle(tmp_path / "owner", DEFINES.replace("local[2]", "local[1]") % "")
    (owner / "long.py").write_text(f"# Databricks notebook source\n{ENDLESS}\n")
    (owner / "databricks.yml").write_text((owner / "databricks.yml").read_text() + """    long:
      tasks:
        - {task_key: long, existing_cluster_id: team, notebook_task: {notebook_path: long.py}}
""")
    cli("cluster", "start", "team", "--bundle", str(owner), home=home)
    try:
        proc = subprocess.Popen([*PODIUM, "run", "long", "--bundle", str(owner), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env={**ENV, "PODIUM_HOME": str(home)})
        wait_until(lambda: cli("runs", "get", "1", home=home, check=False).returncode == 0
                   and task_states(get(1, home)).get("long") == "RUNNING")
        time.sleep(2)
        cli("runs", "cancel", "1", home=home)
        view = json.loads(finish(proc, 60)[0])
        assert task_states(view) == {"long": "CANCELED"}
        # With one core, this only runs if the long Spark job was interrupted.
        done = cli("run", "j", "--bundle", str(owner), "--json", home=home)
        assert json.loads(done.stdout)["tasks"][0]["state"]["result_state"] == "SUCCESS"
    finally:
        cli("cluster", "stop", "team", home=home)


def test_a_detached_run_starts_its_shared_cluster_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner = bundle(tmp_path / "owner", DEFINES % "")
    done = cli("run", "j", "--bundle", str(owner), "--no-wait", "--start-clusters", home=home)
    assert json.loads(done.stdout)["run_ids"] == [1]
    try:
        wait_until(lambda: get(1, home)["state"]["life_cycle_state"] == "TERMINATED", 180)
        assert get(1, home)["state"]["result_state"] == "SUCCESS"
        assert clusters(home)["team"]["state"] == "RUNNING"
    finally:
        cli("cluster", "stop", "team", home=home)


def test_stopping_a_cluster_the_workspace_never_had_is_exit_2(tmp_path: Path) -> None:
    done = cli("cluster", "stop", "nope", home=tmp_path / "home", check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("cluster: error: no shared cluster 'nope' in this "
                                   "workspace; see podium cluster list")
