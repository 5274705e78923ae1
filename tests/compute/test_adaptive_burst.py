"""A burst of 1,000 ready tasks on one cluster with adaptive concurrency, run as a user runs
it: every task succeeds, and Spark's own event log shows the driver never had more jobs at
once than the limit's ceiling allows."""

from __future__ import annotations

import json
from pathlib import Path

from podium.compute import concurrency
from tests.cli.test_runs import cli, get, run_ids

TASKS = 1000


def most_jobs_at_once(event_dir: Path) -> tuple[int, int]:
    """(jobs run, most jobs active at one instant), from Spark's event log."""
    spans = []
    for path in event_dir.rglob("events_*"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["Event"] == "SparkListenerJobStart":
                spans.append((event["Submission Time"], 1))
            elif event["Event"] == "SparkListenerJobEnd":
                spans.append((event["Completion Time"], -1))
    active = most = 0
    for _, step in sorted(spans):
        active += step
        most = max(most, active)
    return sum(1 for _, step in spans if step == 1), most


def test_a_thousand_task_burst_keeps_the_drivers_jobs_bounded(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (tmp_path / "one.py").write_text(
        "import sys\nfrom pyspark.sql import SparkSession\n"
        f"assert int(sys.argv[1]) in range({TASKS})  # its own input\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "# One job of one Spark task, the same query in every task: the driver compiles\n"
        "# its code once, not once for each task's own bounds.\n"
        "assert spark.range(0, 1000, 1, 1).count() == 1000\n")
    (tmp_path / "databricks.yml").write_text(f"""bundle: {{name: burst}}
resources:
  jobs:
    burst:
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_conf:
              spark.master: "local[2]"
              spark.eventLog.enabled: "true"
              spark.eventLog.compress: "false"
              spark.eventLog.dir: "{events}"
      tasks:
        - task_key: fan
          for_each_task:
            inputs: '{json.dumps(list(range(TASKS)))}'
            concurrency: 100
            task:
              task_key: one
              job_cluster_key: main
              spark_python_task: {{python_file: ./one.py, parameters: ["{{{{input}}}}"]}}
""")
    home = tmp_path / "home"
    done = cli("run", "burst", "--bundle", str(tmp_path), home=home)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    fan = get(run_ids(home)[-1], home)["tasks"][0]
    stats = fan["for_each_task"]["stats"]["task_run_stats"]
    assert stats["succeeded_iterations"] == TASKS
    jobs, most = most_jobs_at_once(events)
    assert jobs >= TASKS  # every task ran its Spark work on the cluster
    # Each task runs one job at a time, so the limit bounds the jobs: at most its ceiling.
    assert 1 <= most <= concurrency.CEILING_PER_CORE * 2
    # Every change of the limit is a line of the run's output, with its reason.
    changes = [line for line in done.stdout.splitlines() if "task limit" in line]
    for line in changes:
        assert line.startswith("cluster main: task limit ") and ": " in line[26:], line
