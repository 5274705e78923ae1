"""A mixed workload (small and large copies of seed 001's job in one run) four ways, side
by side in one invocation:

  pool_default   the hand-rolled ThreadPoolExecutor with Python's default worker count
  pool_best      the same pool with the worker count that was fastest of 2..16 (each tried
                 once, in a sweep before the rounds)
  podium_fixed   `podium run` of a job with one task per copy, fixed task slots
                 (`spark.podium.concurrency: fixed`: twice the cores)
  podium_adaptive  the same job with podium's default, adaptive concurrency

Every mode is one application holding every core, so core-seconds are wall x cores.
The sweep only picks pool_best's worker count; then `--rounds` rounds run the four modes
one after the other, and each mode's median is compared (the sweep's own fastest run is
the luckiest of many, so comparing with it would favour the pool).
Writes bench/results/mixed_workload.json.
Usage: python bench/mixed_workload.py [--small 40] [--large 8] [--small-rows 20000]
       [--large-rows 2000000] [--workers 2,3,4,6,8,12,16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from seed_experiment import CORES, NOTEBOOK, SEED, podium, source_table, spark_env, spark_submit

HERE = Path(__file__).parent


def limits(small: int, large: int, small_rows: int, large_rows: int) -> list[int]:
    """The copies in submission order: the large ones spread among the small ones."""
    order = [small_rows] * small
    step = max(1, len(order) // max(1, large))
    for i in range(large):
        order.insert(min(len(order), i * (step + 1)), large_rows)
    return order


def pool(source: Path, workers: int, order: list[int], work: Path) -> dict[str, float]:
    """The hand-rolled pool with `workers` threads (0: Python's default)."""
    warehouse = work / "warehouse"
    began = time.perf_counter()
    subprocess.run([spark_submit(), "--master", f"local[{CORES}]", "--conf",
                    "spark.ui.enabled=false", "--conf", f"spark.sql.warehouse.dir={warehouse}",
                    str(SEED / "mixed_pool.py"), str(source), str(workers),
                    *map(str, order)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=spark_env(warehouse))
    wall = time.perf_counter() - began
    return {"wall_s": wall, "core_s": wall * CORES, "workers": workers}


def bundle(root: Path, source: Path, order: list[int], mode: str) -> Path:
    """One job with a task per copy on one cluster, its concurrency `mode`."""
    root.mkdir(parents=True)
    (root / "copy.py").write_text(NOTEBOOK)
    (root / "schema.py").write_text("# Databricks notebook source\n"
                                    "spark.sql('CREATE DATABASE IF NOT EXISTS bench')\n")
    conf = (f"spark.master: 'local[{CORES}]', spark.podium.delta: 'false', "
            f"spark.podium.concurrency: '{mode}'")
    tasks = "".join(
        f"        - {{task_key: t{i:03d}, depends_on: [{{task_key: schema}}], "
        f"job_cluster_key: c, notebook_task: {{notebook_path: copy.py, base_parameters: "
        f"{{source: '{source}', limit: '{rows}'}}}}}}\n" for i, rows in enumerate(order))
    (root / "databricks.yml").write_text(
        "bundle: {name: mixed}\nresources:\n  jobs:\n    tasks:\n"
        "      job_clusters:\n        - {job_cluster_key: c, new_cluster: "
        f"{{spark_conf: {{{conf}}}}}}}\n      tasks:\n"
        "        - {task_key: schema, job_cluster_key: c, "
        "notebook_task: {notebook_path: schema.py}}\n" + tasks)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=40)
    parser.add_argument("--large", type=int, default=8)
    parser.add_argument("--small-rows", type=int, default=20_000)
    parser.add_argument("--large-rows", type=int, default=2_000_000)
    parser.add_argument("--workers", default=",".join(map(str, range(2, 17))),
                        help="the pool's worker counts to try for pool_best")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the four modes, one after the other, after the sweep")
    args = parser.parse_args()
    source = source_table(args.large_rows)
    order = limits(args.small, args.large, args.small_rows, args.large_rows)
    work = Path(tempfile.mkdtemp(prefix="podium-mixed-"))
    tried: dict[int, float] = {}
    rounds: dict[str, list[dict[str, float]]] = {
        "pool_default": [], "pool_best": [], "podium_fixed": [], "podium_adaptive": []}
    try:
        for workers in map(int, args.workers.split(",")):
            print(f"sweep: pool with {workers} workers ...", flush=True)
            tried[workers] = pool(source, workers, order, work / f"pool{workers}")["wall_s"]
        best = min(tried, key=tried.__getitem__)
        roots = {mode: bundle(work / f"bundle-{mode}", source, order, mode)
                 for mode in ("fixed", "adaptive")}
        for r in range(args.rounds):
            for name in rounds:
                print(f"round {r + 1}: {name} ...", flush=True)
                if name.startswith("pool"):
                    workers = best if name == "pool_best" else 0
                    done = pool(source, workers, order, work / f"{name}-{r}")
                else:
                    mode = name.removeprefix("podium_")
                    done = podium("tasks", roots[mode], work / f"run-{mode}-{r}")
                rounds[name].append(done)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    modes = {name: {**runs[0], "wall_s": statistics.median(m["wall_s"] for m in runs),
                    "core_s": statistics.median(m["core_s"] for m in runs),
                    "walls_s": [m["wall_s"] for m in runs]}
             for name, runs in rounds.items()}
    baseline = modes["pool_best"]["core_s"]
    print(f"\n{args.small} small ({args.small_rows:,} rows) and {args.large} large "
          f"({args.large_rows:,} rows) copies, {CORES} cores; medians of {args.rounds} "
          f"rounds; pool_best: {best} workers")
    print(f"{'mode':<16} {'wall':>8} {'core-s':>9} {'vs best pool':>13}  walls")
    for name, m in modes.items():
        m["ratio_to_best_pool"] = m["core_s"] / baseline
        print(f"{name:<16} {m['wall_s']:>7.1f}s {m['core_s']:>9.1f} "
              f"{m['ratio_to_best_pool']:>12.3f}  "
              + ", ".join(f"{w:.1f}" for w in m["walls_s"]))
    print("sweep, pool wall by workers: "
          + ", ".join(f"{w}: {s:.1f}s" for w, s in tried.items()))
    result = {"small": args.small, "large": args.large, "small_rows": args.small_rows,
              "large_rows": args.large_rows, "cores": CORES, "rounds": args.rounds,
              "best_workers": best, "modes": modes, "pool_wall_by_workers": tried}
    (HERE / "results" / "mixed_workload.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
