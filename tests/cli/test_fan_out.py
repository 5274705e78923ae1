"""Fan-out and concurrent runs as a user runs them: for_each_task, parameter sets,
max_concurrent_runs with and without a queue, controller jobs, output conflicts."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.cli.test_runs import ENV, cli, get, run_ids
from tests.cli.test_validate import PODIUM
from tests.conftest import EXAMPLES, finish


def overlap(spans: list[tuple[int, int]]) -> int:
    """The most spans open at one instant."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_for_each_50_inputs_at_most_5_at_once_each_with_its_log(tmp_path: Path) -> None:
    inputs = json.dumps([f"item-{i}" for i in range(50)])
    (tmp_path / "databricks.yml").write_text(f"""bundle: {{name: fe}}
resources:
  jobs:
    j:
      tasks:
        - task_key: loop
          for_each_task:
            inputs: '{inputs}'
            concurrency: 5
            task:
              task_key: one
              max_retries: 1
              python_task:
                function: 'tests.engine.funcs:nap'
                parameters: {{v: '{{{{input}}}}'}}
""")
    done = cli("run", "j", "--bundle", str(tmp_path), "--json", home=tmp_path / "h")
    view = json.loads(done.stdout)
    loop = view["tasks"][0]
    assert view["state"]["result_state"] == "SUCCESS"
    stats = loop["for_each_task"]["stats"]["task_run_stats"]
    assert stats["total_iterations"] == stats["succeeded_iterations"] == 50
    iterations = loop["for_each_task"]["iterations"]
    assert [i["input"] for i in iterations] == [f"item-{i}" for i in range(50)]
    assert overlap([(i["start_time"], i["end_time"]) for i in iterations]) == 5
    logs = {Path(i["log_path"]).read_text().strip() for i in iterations}
    assert logs == {f"iteration item-{i}" for i in range(50)}


def test_a_failed_iteration_fails_the_loop_after_the_others_finish(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("""bundle: {name: fe}
resources:
  jobs:
    j:
      tasks:
        - task_key: loop
          for_each_task:
            inputs: '["a", "fail-me", "b", "c"]'
            concurrency: 2
            task: {task_key: one, python_task: {function: 'tests.engine.funcs:nap',
                   parameters: {v: '{{input}}'}}}
""")
    view = json.loads(cli("run", "j", "--bundle", str(tmp_path), "--json",
                          home=tmp_path / "h").stdout)
    loop = view["tasks"][0]
    assert loop["state"]["result_state"] == "FAILED"
    assert loop["error"] == "1 of 4 iterations failed"
    states = [i["state"]["result_state"] for i in loop["for_each_task"]["iterations"]]
    assert states == ["SUCCESS", "FAILED", "SUCCESS", "SUCCESS"]


def test_twelve_parameter_sets_share_one_spark_application(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("""bundle: {name: sets}
resources:
  jobs:
    j:
      max_concurrent_runs: 12
      parameters: [{name: region, default: none}, {name: n, default: "1"}]
      job_clusters: [{job_cluster_key: c, new_cluster: {spark_conf: {spark.master: 'local[2]'}}}]
      tasks:
        - {task_key: count, job_cluster_key: c, notebook_task: {notebook_path: count.py}}
""")
    (tmp_path / "count.py").write_text(
        "# Databricks notebook source\n"
        "n = spark.range(int(dbutils.widgets.get('n'))).count()\n"
        "dbutils.notebook.exit(f\"{dbutils.widgets.get('region')}:{n}\")\n")
    (tmp_path / "sets.jsonl").write_text("".join(
        json.dumps({"region": f"r{i}", "n": i}) + "\n" for i in range(12)))
    done = cli("run", "j", "--bundle", str(tmp_path), "--params-file",
               str(tmp_path / "sets.jsonl"), "--json", home=tmp_path / "h")
    views = json.loads(done.stdout)["runs"]
    assert len(views) == 12
    assert {v["state"]["result_state"] for v in views} == {"SUCCESS"}
    apps = {v["tasks"][0]["cluster_instance"]["spark_context_id"] for v in views}
    assert len(apps) == 1
    for i, view in enumerate(views):
        assert view == get(view["run_id"], tmp_path / "h")
        assert view["job_parameters"] == [{"name": "region", "value": f"r{i}"},
                                          {"name": "n", "value": str(i)}]
        assert view["tasks"][0]["podium_exit_value"] == f"r{i}:{i}"


def _limited(tmp_path: Path, queue: bool) -> Path:
    marker = tmp_path / "release"
    (tmp_path / "databricks.yml").write_text(f"""bundle: {{name: limited}}
resources:
  jobs:
    j:
      max_concurrent_runs: 2
      queue: {{enabled: {str(queue).lower()}}}
      tasks:
        - {{task_key: wait, python_task: {{function: 'tests.engine.funcs:nap',
           parameters: {{v: x, seconds: '1.5'}}}}}}
""")
    return marker


def test_max_concurrent_runs_with_a_queue_across_processes(tmp_path: Path) -> None:
    _limited(tmp_path, queue=True)
    home = tmp_path / "h"
    procs = []
    for _ in range(5):
        procs.append(subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True, env={**ENV, "PODIUM_HOME": str(home)}))
        time.sleep(0.3)
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read()
    views = [get(i, home) for i in run_ids(home)]
    assert len(views) == 5
    assert {v["state"]["result_state"] for v in views} == {"SUCCESS"}
    spans = [(v["start_time"], v["end_time"]) for v in views]
    assert overlap(spans) == 2
    starts = [v["tasks"][0]["start_time"] for v in views]
    # The first two start at once; the queued ones in the order they were submitted.
    assert max(starts[:2]) <= min(starts[2:]) and starts[2:] == sorted(starts[2:])


def test_without_a_queue_extra_runs_are_skipped_with_the_reason(tmp_path: Path) -> None:
    _limited(tmp_path, queue=False)
    home = tmp_path / "h"
    procs = [subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**ENV, "PODIUM_HOME": str(home)}) for _ in range(3)]
    results = [json.loads(finish(p, 120)[0]) for p in procs]
    states = sorted(r["state"].get("result_state") for r in results)
    assert states == ["MAXIMUM_CONCURRENT_RUNS_REACHED", "SUCCESS", "SUCCESS"]
    skipped = next(r for r in results if r["state"]["life_cycle_state"] == "SKIPPED")
    assert "max_concurrent_runs is 2" in skipped["state"]["state_message"]
    assert [p.returncode for p in procs].count(1) == 1


def test_no_wait_returns_the_run_id_and_the_run_finishes_in_the_background(
        tmp_path: Path) -> None:
    _limited(tmp_path, queue=True)
    home = tmp_path / "h"
    done = cli("run", "j", "--bundle", str(tmp_path), "--no-wait", home=home)
    assert json.loads(done.stdout) == {"run_ids": [1], "states": ["PENDING"]}
    deadline = time.monotonic() + 60
    while get(1, home)["state"]["life_cycle_state"] != "TERMINATED":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert get(1, home)["state"]["result_state"] == "SUCCESS"


def test_controller_runs_children_in_parallel_or_in_sequence(tmp_path: Path) -> None:
    home = tmp_path / "home"  # the second target's run finds the shared cluster running
    views = []
    for target in ("parallel", "sequential"):
        views.append(cli("run", "controller", "--bundle", str(EXAMPLES / "seed002_controller"),
                         "-t", target, "--start-clusters", "--json", home=home))
    cli("cluster", "stop", "shared_compute", home=home)
    for done, overlapping in zip(views, (True, False), strict=True):
        view = json.loads(done.stdout)
        assert view["state"]["result_state"] == "SUCCESS", done.stderr
        tasks = {t["task_key"]: t for t in view["tasks"]}
        children = [get(tasks[f"run_pipeline_{x}"]["run_job_task"]["run_id"], home)
                    for x in "abc"]
        assert [c["podium_job_key"] for c in children] == ["pipeline_a", "pipeline_b",
                                                          "pipeline_c"]
        assert all(c["trigger"] == "RUN_JOB_TASK" for c in children)
        assert children[0]["job_parameters"][0] == {"name": "run_date", "value": "2025-10-15"}
        spans = [(c["start_time"], c["end_time"]) for c in children]
        assert (overlap(spans) > 1) is overlapping
        assert tasks["finalize"]["podium_exit_value"] == json.dumps(
            {"pipeline_a": "success", "pipeline_b": "success", "pipeline_c": "success"})


def test_a_declared_output_held_by_another_run_makes_the_task_wait(tmp_path: Path) -> None:
    release = tmp_path / "release"
    (tmp_path / "databricks.yml").write_text(f"""bundle: {{name: out}}
resources:
  jobs:
    j:
      max_concurrent_runs: 5
      tasks:
        - {{task_key: write, python_task: {{function: 'tests.engine.funcs:wait_for',
           parameters: {{marker: '{release}', podium.writes: 'sales.daily'}}}}}}
""")
    home = tmp_path / "h"
    env = {**ENV, "PODIUM_HOME": str(home)}
    first = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=env)
    _wait_until(lambda: (home / "logs" / "1" / "write" / "0.log").exists())
    second = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    _wait_until(lambda: len(run_ids(home)) == 2 and "Waiting: output" in
                get(run_ids(home)[1], home)["tasks"][0]["state"]["state_message"])
    release.touch()
    first_view = json.loads(finish(first, 60)[0])
    out, err = finish(second, 60)
    second_view = json.loads(out)
    assert first_view["state"]["result_state"] == second_view["state"]["result_state"] == \
        "SUCCESS"
    assert second_view["tasks"][0]["start_time"] >= first_view["tasks"][0]["end_time"]
    assert (f"{second_view['run_id']} write: BLOCKED (Waiting: output 'sales.daily' is "
            f"being written by task 'write' of run {first_view['run_id']} (job 'j'))"
            ) in err


def _wait_until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def test_bad_parameter_sets_exit_2_with_the_line(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: p}\nresources:\n  jobs:\n    j:\n      parameters: [{name: a}]\n"
        "      tasks: [{task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}]\n")
    (tmp_path / "sets.jsonl").write_text('{"a": 1}\n{"a": \n')
    done = cli("run", "j", "--bundle", str(tmp_path), "--params-file",
               str(tmp_path / "sets.jsonl"), home=tmp_path / "h", check=False)
    assert done.returncode == 2 and "sets.jsonl:2:" in done.stderr and "invalid JSON" in \
        done.stderr
    done = cli("run", "j", "--bundle", str(tmp_path), "--param-set", '{"b": 1}',
               home=tmp_path / "h", check=False)
    assert done.returncode == 2 and "has no parameter 'b'" in done.stderr


def test_a_queued_run_cancelled_from_another_process_never_starts(tmp_path: Path) -> None:
    release = tmp_path / "release"
    (tmp_path / "databricks.yml").write_text(f"""bundle: {{name: queued}}
resources:
  jobs:
    j:
      max_concurrent_runs: 1
      queue: {{enabled: true}}
      tasks:
        - {{task_key: wait, python_task: {{function: 'tests.engine.funcs:wait_for',
           parameters: {{marker: '{release}'}}}}}}
""")
    home = tmp_path / "h"
    running = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**ENV, "PODIUM_HOME": str(home)})
    deadline = time.monotonic() + 60
    while not run_ids(home):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    queued = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**ENV, "PODIUM_HOME": str(home)})
    while len(ids := run_ids(home)) < 2 or \
            get(ids[1], home)["state"]["life_cycle_state"] != "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cli("runs", "cancel", str(ids[1]), home=home)
    view = json.loads(finish(queued, 60)[0])
    assert view["state"] == {"life_cycle_state": "TERMINATED", "result_state": "CANCELED",
                             "state_message": "Run cancelled while queued"}
    assert view["tasks"][0]["state"]["result_state"] == "CANCELED"
    assert view["tasks"][0]["attempts"] == []  # it never started
    release.write_text("")
    assert running.wait(60) == 0
