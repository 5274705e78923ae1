"""`podium runs …` across real processes: crash and repair, cancel, concurrency, logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.test_validate import PODIUM
from tests.conftest import ENDLESS, finish

ENV = {**os.environ, "PYTHONPATH": str(Path.cwd())}

TWO_STEPS = """bundle: {name: crash}
resources:
  jobs:
    j:
      tasks:
        - {task_key: first, python_task: {function: 'tests.engine.funcs:publish',
           parameters: {key: k, value: kept}}}
        - {task_key: second, depends_on: [{task_key: first}],
           python_task: {function: 'tests.engine.funcs:wait_for',
                         parameters: {marker: '%s'}}}
        - {task_key: third, depends_on: [{task_key: second}],
           python_task: {function: 'tests.engine.funcs:ok',
                         parameters: {k: '{{tasks.first.values.k}}'}}}
"""


def cli(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `podium args` on workspace `home`; one still running after 240 s fails the test
    with its threads' stacks (`finish`)."""
    proc = subprocess.Popen([*PODIUM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**ENV, "PODIUM_HOME": str(home)})
    out, err = finish(proc, 240)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        assert done.returncode in (0, 1), done.stderr
    return done


def get(run_id: int, home: Path) -> dict:
    return json.loads(cli("runs", "get", str(run_id), home=home).stdout)


def run_ids(home: Path) -> list[int]:
    """The ids of the workspace's runs, oldest first (`podium runs list`); none before
    its history exists."""
    if not (home / "podium.db").exists():
        return []
    listed = cli("runs", "list", "--json", "--limit", "1000", home=home, check=False)
    if listed.returncode != 0:
        return []
    return sorted(r["run_id"] for r in json.loads(listed.stdout)["runs"])


def wait_until(predicate, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def task_states(view: dict) -> dict[str, str]:
    return {t["task_key"]: t["state"].get("result_state") or t["state"]["life_cycle_state"]
            for t in view["tasks"]}


def test_sigkill_mid_run_then_repair_reruns_exactly_the_unfinished(tmp_path: Path) -> None:
    home, bundle, marker = tmp_path / "home", tmp_path / "b", tmp_path / "go"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(TWO_STEPS % marker)
    proc = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(bundle)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**ENV, "PODIUM_HOME": str(home)})
    wait_until(lambda: (home / "podium.db").exists() and
               task_states(get(1, home)).get("second") == "RUNNING")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    crashed = get(1, home)
    assert crashed["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert "stopped without finishing it" in crashed["state"]["state_message"]
    assert task_states(crashed) == {"first": "SUCCESS", "second": "INTERNAL_ERROR",
                                    "third": "INTERNAL_ERROR"}

    marker.write_text("")
    repair = cli("runs", "repair", "1", "--json", home=home)
    assert repair.returncode == 0, repair.stderr
    assert "rerunning second, third" in repair.stderr
    repaired = json.loads(repair.stdout)
    assert repaired == get(1, home)
    assert repaired["state"]["result_state"] == "SUCCESS"
    tasks = {t["task_key"]: t for t in repaired["tasks"]}
    assert len(tasks["first"]["attempts"]) == 1
    assert tasks["third"]["podium_exit_value"] == "k=kept"
    assert [h["type"] for h in repaired["repair_history"]] == ["ORIGINAL", "REPAIR"]


def test_four_processes_share_one_sqlite_history(tmp_path: Path) -> None:
    home, bundle = tmp_path / "home", tmp_path / "b"
    bundle.mkdir()
    marker = tmp_path / "open"
    marker.write_text("")
    tasks = "".join(f"        - {{task_key: t{i}, python_task: {{function: "
                    f"'tests.engine.funcs:wait_for', parameters: {{marker: '{marker}'}}}}}}\n"
                    for i in range(12))
    (bundle / "databricks.yml").write_text(
        "bundle: {name: many}\nresources:\n  jobs:\n    j:\n      max_concurrent_runs: 4\n"
        "      tasks:\n" + tasks)
    procs = [subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(bundle), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**ENV, "PODIUM_HOME": str(home)}) for _ in range(4)]
    results = [finish(p, 120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert "database is locked" not in err
        assert proc.returncode == 0, err
        assert json.loads(out)["state"]["result_state"] == "SUCCESS"
    listed = json.loads(cli("runs", "list", "--json", home=home).stdout)["runs"]
    assert sorted(r["run_id"] for r in listed) == sorted(json.loads(out)["run_id"]
                                                         for out, _ in results)


def test_runs_cancel_from_another_process_stops_a_spark_task(tmp_path: Path) -> None:
    home, bundle = tmp_path / "home", tmp_path / "b"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(
        "bundle: {name: long}\nresources:\n  jobs:\n    j:\n      job_clusters: "
        "[{job_cluster_key: c, new_cluster: {spark_conf: {spark.master: 'local[1]'}}}]\n"
        "      tasks:\n        - {task_key: long, job_cluster_key: c, "
        "notebook_task: {notebook_path: long.py}}\n")
    (bundle / "long.py").write_text(f"# Databricks notebook source\n{ENDLESS}\n")
    proc = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(bundle), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**ENV, "PODIUM_HOME": str(home)})
    wait_until(lambda: (home / "podium.db").exists() and
               task_states(get(1, home)).get("long") == "RUNNING")
    time.sleep(2)
    done = cli("runs", "cancel", "1", home=home)
    assert "cancel requested for run 1" in done.stdout
    out, _ = finish(proc, 60)
    assert proc.returncode == 1
    view = json.loads(out)
    assert view["state"]["result_state"] == "CANCELED"
    assert task_states(view) == {"long": "CANCELED"}


def test_logs_list_prune_and_bad_input(tmp_path: Path) -> None:
    home, bundle = tmp_path / "home", tmp_path / "b"
    bundle.mkdir()
    (bundle / "databricks.yml").write_text(TWO_STEPS % (tmp_path / "m"))
    (tmp_path / "m").write_text("")
    run = cli("run", "j", "--bundle", str(bundle), "--json", home=home)
    assert json.loads(run.stdout) == get(1, home)
    logs = cli("runs", "logs", "1", "--task", "third", "--follow", home=home).stdout
    assert logs.splitlines()[0].startswith("==> third attempt 0 (")
    assert "ok {'k': 'kept'}" in logs
    table = cli("runs", "list", "--job", "j", home=home).stdout
    assert "TERMINATED" in table and "SUCCESS" in table
    for args, message in [
        (("runs", "get", "7"), "no run 7 in this workspace"),
        (("runs", "logs", "1", "--task", "nope"), "run 1 has no task 'nope'"),
        (("runs", "prune", "--older-than", "soon"), "'soon' is not an age"),
        (("runs", "repair", "1", "--task", "zzz"), "run 1 has no task 'zzz'"),
        # past what the history's database holds: a range error, not an OverflowError
        (("runs", "get", str(2**64)), "9223372036854775807"),
        (("runs", "list", "--limit", str(2**64)), "9223372036854775807"),
    ]:
        bad = cli(*args, home=home, check=False)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr
    assert "nothing to repair" in cli("runs", "repair", "1", home=home).stdout
    assert cli("runs", "prune", "--older-than", "30d", home=home).stdout.strip() == \
        "pruned 0 run(s)"


def test_unreachable_database_is_exit_2_with_the_reason(tmp_path: Path) -> None:
    done = subprocess.run([*PODIUM, "runs", "list"], capture_output=True, text=True,
                          check=False, env={**ENV, "PODIUM_HOME": str(tmp_path),
                                            "PODIUM_DATABASE_URL":
                                            "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    assert done.returncode == 2
    assert done.stderr.startswith("PODIUM_DATABASE_URL: error: cannot open the run history at "
                                  "postgresql+psycopg://nobody@127.0.0.1:1/x: ")
    assert len(done.stderr.strip().splitlines()) == 1
