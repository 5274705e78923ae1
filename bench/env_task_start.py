"""What a task with its own Python environment costs to start, against the same task in
podium's process: one application, the environment already built, tasks one after
another (a chain), so each task's time is its start plus one tiny Spark query.

Both kinds run in this process on the same Spark application, alternately, best of
`--rounds`. Prints per-task medians and the difference; writes
bench/results/env_task_start.json. The target (issue 19) is under 300 ms more.
Usage: python bench/env_task_start.py [--tasks 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

NOTEBOOK = "# Databricks notebook source\nspark.range(1000).selectExpr('sum(id)').collect()\n"


def job_yaml(tasks: int, libraries: str) -> str:
    lines = []
    for i in range(tasks):
        after = f", depends_on: [{{task_key: t{i - 1}}}]" if i else ""
        lines.append(f"        - {{task_key: t{i}, job_cluster_key: c{after}, "
                     f"notebook_task: {{notebook_path: small.py}}{libraries}}}\n")
    return "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("PODIUM_HOME", tempfile.mkdtemp(prefix="podium-bench-"))

    from podium.engine.executor import Executor
    from podium.engine.model import Run
    from podium.runtime import output
    from podium.spec import load_bundle

    folder = Path(tempfile.mkdtemp(prefix="podium-bench-bundle-"))
    (folder / "small.py").write_text(NOTEBOOK)
    cluster = ("      job_clusters:\n        - {job_cluster_key: c, new_cluster: {spark_conf: "
               "{spark.master: 'local[2]', spark.ui.enabled: 'false'}}}\n      tasks:\n")
    own = ", libraries: [{pypi: {package: 'packaging==23.2'}}]"
    (folder / "databricks.yml").write_text(
        "bundle: {name: bench}\nresources:\n  jobs:\n"
        f"    here:\n{cluster}{job_yaml(args.tasks, '')}"
        f"    own:\n{cluster}{job_yaml(args.tasks, own)}")
    bundle = load_bundle(folder)
    output.install()
    executor = Executor(keep_clusters=True)

    def one_round(key: str) -> list[float]:
        run = Run(key, bundle.jobs[key], folder, {}, {})
        executor.submit(run)
        executor.run_until_done([run])
        assert run.result.value == "SUCCESS", [t.error for t in run.task_runs.values()]
        return [(t.attempts[0].end_ms - t.attempts[0].start_ms) / 1000
                for t in run.task_runs.values()]

    began = time.perf_counter()
    one_round("here")  # starts the application
    first = time.perf_counter()
    one_round("own")  # builds the environment
    build_s = time.perf_counter() - first
    print(f"application start + first round {first - began:.1f} s; environment build and "
          f"first round {build_s:.1f} s")
    here: list[float] = []
    own_times: list[float] = []
    for _ in range(args.rounds):
        here += one_round("here")
        own_times += one_round("own")
    here_ms, own_ms = statistics.median(here) * 1000, statistics.median(own_times) * 1000
    print(f"{args.tasks} chained tiny Spark tasks x {args.rounds} rounds, median per task")
    print(f"  in podium's process      : {here_ms:7.0f} ms")
    print(f"  in its own environment   : {own_ms:7.0f} ms")
    print(f"  difference               : {own_ms - here_ms:+7.0f} ms  "
          f"(ratio {own_ms / here_ms:.2f})")
    result = {"tasks": args.tasks, "rounds": args.rounds, "in_process_ms": here_ms,
              "own_environment_ms": own_ms, "difference_ms": own_ms - here_ms,
              "in_process_s": here, "own_environment_s": own_times,
              "first_build_and_round_s": build_s, "cores": os.cpu_count()}
    out = Path(__file__).parent / "results" / "env_task_start.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    executor.clusters.stop_all()


if __name__ == "__main__":
    main()
