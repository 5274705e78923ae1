"""How fast `podium runs cancel` from another process stops a running Spark task.

Starts `podium run` of a job whose task runs `spark.range(10**12).count()`, waits until the
task is RUNNING, records a cancel request from this process (what `podium runs cancel`
does), and measures until the task is CANCELED in the store and until the run's process
exits. Prints the times; writes bench/results/cancel_latency.json.
Usage: python bench/cancel_latency.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUNDLE = """bundle: {name: cancel-bench}
resources:
  jobs:
    j:
      job_clusters: [{job_cluster_key: c, new_cluster: {spark_conf: {spark.master: 'local[2]'}}}]
      tasks:
        - {task_key: long, job_cluster_key: c, notebook_task: {notebook_path: long.py}}
"""


def once(home: Path, bundle: Path, run_id: int) -> tuple[float, float]:
    os.environ["PODIUM_HOME"] = str(home)
    from podium.store import open_store
    from podium.store.db import dispose_all

    proc = subprocess.Popen([sys.executable, "-m", "podium", "run", "j", "--bundle",
                             str(bundle)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (home / "podium.db").exists():
        time.sleep(0.1)
    store = open_store()

    def task_state() -> str:
        rows = store.task_rows(run_id)
        return rows[0][0].life if rows else "NONE"

    while task_state() != "RUNNING":
        time.sleep(0.05)
    time.sleep(3)  # the Spark job is well under way
    began = time.perf_counter()
    store.request_cancel(run_id)
    while store.task_rows(run_id)[0][0].result != "CANCELED":
        time.sleep(0.01)
    canceled = time.perf_counter() - began
    proc.wait(60)
    exited = time.perf_counter() - began
    dispose_all()
    return canceled, exited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="podium-cancel-"))
    bundle = Path(tempfile.mkdtemp(prefix="podium-cancel-bundle-"))
    (bundle / "databricks.yml").write_text(BUNDLE)
    (bundle / "long.py").write_text("# Databricks notebook source\nspark.range(10**12).count()\n")
    samples = [once(home, bundle, run_id) for run_id in range(1, args.repeat + 1)]
    canceled = [s[0] for s in samples]
    exited = [s[1] for s in samples]
    print(f"cancel from another process, {args.repeat} runs")
    print(f"  task CANCELED in the store : median {statistics.median(canceled):.2f} s, "
          f"max {max(canceled):.2f} s")
    print(f"  run's process exited       : median {statistics.median(exited):.2f} s, "
          f"max {max(exited):.2f} s (includes stopping the Spark application)")
    out = Path(__file__).parent / "results" / "cancel_latency.json"
    out.write_text(json.dumps({"canceled_s": canceled, "exited_s": exited}, indent=2) + "\n")


if __name__ == "__main__":
    main()
