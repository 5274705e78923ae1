"""podium vs a hand-written ThreadPoolExecutor: N small Spark tasks on one application.

Both run in this process on the same Spark application, alternately, best of `--rounds`.
Prints each wall time and the ratio; writes bench/results/overhead.json.
Usage: python bench/overhead.py [--tasks 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

NOTEBOOK = "# Databricks notebook source\nspark.range(1000).selectExpr('sum(id)').collect()\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("PODIUM_HOME", tempfile.mkdtemp(prefix="podium-bench-"))

    from podium.engine.executor import Executor
    from podium.engine.model import Run
    from podium.runtime import output
    from podium.spec import load_bundle

    folder = Path(tempfile.mkdtemp(prefix="podium-bench-bundle-"))
    (folder / "small.py").write_text(NOTEBOOK)
    tasks = "".join(f"        - {{task_key: t{i}, job_cluster_key: c, notebook_task: "
                    f"{{notebook_path: small.py}}}}\n" for i in range(args.tasks))
    (folder / "databricks.yml").write_text(
        "bundle: {name: bench}\nresources:\n  jobs:\n    j:\n      job_clusters:\n"
        "        - {job_cluster_key: c, new_cluster: {spark_conf: {spark.master: 'local[2]', "
        "spark.ui.enabled: 'false'}}}\n      tasks:\n" + tasks)
    bundle = load_bundle(folder)
    output.install()
    executor = Executor(keep_clusters=True)

    def podium_round() -> float:
        run = Run("j", bundle.jobs["j"], folder, {}, {})
        began = time.perf_counter()
        executor.submit(run)
        executor.run_until_done([run])
        assert run.result.value == "SUCCESS", run.message
        return time.perf_counter() - began

    podium_round()  # warm-up: starts the application
    cluster = next(iter(executor.clusters.slots.values())).cluster
    spark, workers = cluster.root, cluster.slots

    def pool_round() -> float:
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda _: spark.range(1000).selectExpr("sum(id)").collect(),
                          range(args.tasks)))
        return time.perf_counter() - began

    pool_round()
    podium_times, pool_times = [], []
    for _ in range(args.rounds):
        pool_times.append(pool_round())
        podium_times.append(podium_round())
    best_podium, best_pool = min(podium_times), min(pool_times)
    ratio = best_podium / best_pool
    per_task_ms = (best_podium - best_pool) / args.tasks * 1000
    print(f"{args.tasks} small Spark tasks, {workers} at a time, best of {args.rounds}")
    print(f"  hand-written pool : {best_pool:7.2f} s")
    print(f"  podium            : {best_podium:7.2f} s")
    print(f"  ratio podium/pool : {ratio:7.3f}  ({per_task_ms:+.1f} ms per task)")
    result = {"tasks": args.tasks, "workers": workers, "rounds": args.rounds,
              "pool_s": pool_times, "podium_s": podium_times, "ratio": ratio,
              "overhead_ms_per_task": per_task_ms, "cores": os.cpu_count()}
    out = Path(__file__).parent / "results" / "overhead.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    executor.clusters.stop_all()


if __name__ == "__main__":
    main()
