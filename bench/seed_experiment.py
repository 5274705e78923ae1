"""Seed 001's experiment on this machine: N jobs, each reading a lineitem-like table
(`limit` rows) and writing a new table, run four ways in one invocation:

  dedicated        one Spark application per job (`spark-submit`, `local[1]`), as many at
                   once as the machine has cores: one job cluster per job
  hand_rolled      one SparkSession and a ThreadPoolExecutor with the default max_workers
  podium           `podium run` of a bundle job with N tasks on one job cluster
  podium_for_each  the same as one for_each_task
  podium_warm      the `podium` job through the Jobs API's run-now on a `podium serve`
                   whose cluster is already up (a run of the job before the timed ones
                   started it); core-seconds from the request to the run's end

For each: wall time, core-seconds held (wall time x cores of every application while it
is up) and the ratio to dedicated. Writes bench/results/seed_experiment.json and, when
matplotlib is installed (`pip install -e '.[bench]'`), docs/img/seed_experiment.png.
With `--format delta` every mode writes Delta tables, as Databricks does (the
spark-submit modes get Delta's jars and settings, podium's clusters have them by
default); `--format parquet` (the default, and the published figures) writes Parquet
(podium's clusters opt out with `spark.podium.delta: "false"`).
Usage: python bench/seed_experiment.py [--jobs 48] [--rows 1000000] [--rounds 1]
       [--format parquet|delta]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
FORMAT_CONF: list[str] = []  # spark-submit settings of the table format (`--format`)
SEED = HERE / "seed"
CORES = os.cpu_count() or 1

NOTEBOOK = """# Databricks notebook source
import uuid
dbutils.widgets.text("source", "")
dbutils.widgets.text("limit", "0")
name = f"bench.t_{uuid.uuid4().hex}"
spark.read.parquet(dbutils.widgets.get("source")).limit(int(dbutils.widgets.get("limit"))) \\
    .write.mode("overwrite").saveAsTable(name)
"""

SCHEMA = """# Databricks notebook source
spark.sql("CREATE DATABASE IF NOT EXISTS bench")
"""


def spark_submit() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def spark_env(warehouse: Path) -> dict[str, str]:
    return {**os.environ, "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_SUBMIT_OPTS": f"-Dspark.sql.warehouse.dir={warehouse}"}


def submit(script: Path, args: list[str], master: str, warehouse: Path) -> float:
    """Run one application with spark-submit; its wall time."""
    began = time.perf_counter()
    subprocess.run([spark_submit(), "--master", master, "--conf", "spark.ui.enabled=false",
                    "--conf", f"spark.sql.warehouse.dir={warehouse}", *FORMAT_CONF,
                    str(script), *args],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=spark_env(warehouse))
    return time.perf_counter() - began


def source_table(rows: int) -> Path:
    """The lineitem-like Parquet table, made once per row count."""
    path = Path(tempfile.gettempdir()) / "podium-seed-experiment" / f"lineitem_{rows}"
    if not (path / "_SUCCESS").exists():
        print(f"making the source table: {rows:,} rows at {path}")
        submit(SEED / "make_lineitem.py", [str(path), str(rows)], f"local[{CORES}]",
               path.parent / "warehouse-source")
    return path


def dedicated(source: Path, jobs: int, rows: int, work: Path) -> dict[str, float]:
    """One application per job, `CORES` at a time, each with one core."""
    warehouse = work / "warehouse"
    began = time.perf_counter()
    with ThreadPoolExecutor(CORES) as pool:
        walls = list(pool.map(lambda _: submit(SEED / "copy_job.py", [str(source), str(rows)],
                                               "local[1]", warehouse), range(jobs)))
    wall = time.perf_counter() - began
    return {"wall_s": wall, "core_s": sum(walls) * 1, "apps": jobs}


def hand_rolled(source: Path, jobs: int, rows: int, work: Path) -> dict[str, float]:
    """One application, a default ThreadPoolExecutor, as in the seed."""
    wall = submit(SEED / "hand_rolled.py", [str(source), str(rows), str(jobs)],
                  f"local[{CORES}]", work / "warehouse")
    return {"wall_s": wall, "core_s": wall * CORES, "apps": 1}


def delta_conf() -> list[str]:
    """spark-submit settings that make a plain Spark application write Delta, with the
    jars podium's clusters use (from its cache)."""
    from podium.compute.cluster_conf import spark_conf
    from podium.spec.models import ClusterSpec

    conf = spark_conf(ClusterSpec())
    return [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]


def podium_bundle(root: Path, source: Path, jobs: int, rows: int, slots: int = 0,
                  delta: bool = False) -> Path:
    """A bundle with both podium shapes: N tasks, and one for_each_task over N inputs
    (`slots` > 0 sets the cluster's task slots; else podium's default)."""
    root.mkdir(parents=True)
    (root / "copy.py").write_text(NOTEBOOK)
    (root / "schema.py").write_text(SCHEMA)
    params = f"{{source: '{source}', limit: '{rows}'}}"
    conf = f"spark.master: 'local[{CORES}]'" + \
        (f", spark.podium.maxConcurrentTasks: '{slots}'" if slots else "") + \
        ("" if delta else ", spark.podium.delta: 'false'")
    cluster = ("      job_clusters:\n        - {job_cluster_key: c, new_cluster: "
               f"{{spark_conf: {{{conf}}}}}}}\n")
    schema = "        - {task_key: schema, job_cluster_key: c, " \
             "notebook_task: {notebook_path: schema.py}}\n"
    tasks = "".join(f"        - {{task_key: t{i:03d}, depends_on: [{{task_key: schema}}], "
                    f"job_cluster_key: c, notebook_task: {{notebook_path: copy.py, "
                    f"base_parameters: {params}}}}}\n" for i in range(jobs))
    for_each = ("        - task_key: copies\n          depends_on: [{task_key: schema}]\n"
                "          for_each_task:\n"
                f"            inputs: '{json.dumps(list(range(jobs)))}'\n"
                f"            concurrency: {min(jobs, 100)}\n"
                "            task: {task_key: copy, job_cluster_key: c, notebook_task: "
                f"{{notebook_path: copy.py, base_parameters: {params}}}}}\n")
    (root / "databricks.yml").write_text(
        "bundle: {name: seed-experiment}\nresources:\n  jobs:\n"
        "    tasks:\n" + cluster + "      tasks:\n" + schema + tasks +
        "    for_each:\n" + cluster + "      tasks:\n" + schema + for_each)
    return root


def podium(job: str, bundle: Path, work: Path) -> dict[str, float]:
    """`podium run` as a user runs it, in its own process; its wall time."""
    home = work / f"home-{job}"
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "podium", "run", job, "--bundle", str(bundle),
                           "--json"], capture_output=True, text=True,
                          env={**os.environ, "PODIUM_HOME": str(home)})
    wall = time.perf_counter() - began
    view = json.loads(done.stdout)
    if view["state"]["result_state"] != "SUCCESS":
        raise SystemExit(f"podium run {job} failed:\n{done.stderr[-3000:]}")
    startup = next((float(line.split("started in ")[1].split("s")[0])
                    for line in done.stderr.splitlines() if "started in" in line), 0.0)
    executor_s = view["podium"]["cost"]["total_executor_run_time_ms"] / 1000
    return {"wall_s": wall, "core_s": wall * CORES, "apps": 1,
            "cluster_start_s": startup, "executor_s": executor_s}


def podium_warm(bundle: Path, work: Path) -> dict[str, float]:
    """The job through run-now on a `podium serve` whose cluster a first run started, from
    the request to the run's end. The server is started and stopped around the timed run,
    so it never idles beside the other modes."""
    import requests
    from api_load import Server

    print("  starting podium serve and its cluster (not timed) ...", flush=True)
    server = Server(work, bundle, "tasks")
    try:
        times = []
        for _ in range(2):  # the first starts the cluster, the second is timed
            began = time.perf_counter()
            run_id = requests.post(f"{server.url}/api/2.2/jobs/run-now",
                                   json={"job_id": server.job_id}, headers=server.headers,
                                   timeout=30).json()["run_id"]
            state = server.wait_run(run_id)
            if state.get("result_state") != "SUCCESS":
                raise SystemExit(f"run {run_id} of the warm server ended {state}")
            times.append(time.perf_counter() - began)
    finally:
        server.stop()
    return {"wall_s": times[-1], "core_s": times[-1] * CORES, "apps": 0}


def chart(result: dict, path: Path) -> None:
    """A bar chart of core-seconds per mode, with the ratio to dedicated."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no chart (pip install -e '.[bench]')")
        return
    names = list(result["modes"])
    values = [result["modes"][n]["core_s"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = ax.bar(names, values, color=["#999999", "#d9822b", "#2b7bd9", "#2bd97b",
                                        "#7b2bd9"][:len(names)])
    for bar, name in zip(bars, names, strict=True):
        ax.annotate(f"{result['modes'][name]['ratio_to_dedicated']:.1%}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom")
    ax.set_ylabel("core-seconds held")
    ax.set_title(f"{result['jobs']} jobs x {result['rows']:,} rows on {result['cores']} cores")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=48)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--modes",
                        default="dedicated,hand_rolled,podium,podium_for_each,podium_warm")
    parser.add_argument("--slots", type=int, default=0,
                        help="podium's task slots on the cluster (default: podium's own)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the modes this many times, alternating; report medians "
                        "(a small run varies by several percent from one run to the next)")
    parser.add_argument("--format", choices=("parquet", "delta"), default="parquet",
                        help="the format every mode writes its tables in")
    args = parser.parse_args()
    source = source_table(args.rows)
    if args.format == "delta":
        FORMAT_CONF[:] = delta_conf()
    work = Path(tempfile.mkdtemp(prefix="podium-seed-"))
    bundle = podium_bundle(work / "bundle", source, args.jobs, args.rows, args.slots,
                           delta=args.format == "delta")
    runners = {
        "dedicated": lambda w: dedicated(source, args.jobs, args.rows, w),
        "hand_rolled": lambda w: hand_rolled(source, args.jobs, args.rows, w),
        "podium": lambda w: podium("tasks", bundle, w),
        "podium_for_each": lambda w: podium("for_each", bundle, w),
        "podium_warm": lambda w: podium_warm(bundle, w),
    }
    samples: dict[str, list[dict[str, float]]] = {}
    try:
        for round_number in range(args.rounds):
            for name in args.modes.split(","):
                mode_dir = work / f"{name}-{round_number}"
                mode_dir.mkdir()
                print(f"running {name} (round {round_number + 1}) ...", flush=True)
                samples.setdefault(name, []).append(runners[name](mode_dir))
                shutil.rmtree(mode_dir, ignore_errors=True)  # the written tables
    finally:
        shutil.rmtree(work, ignore_errors=True)
    modes = {name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
             | {"core_s_runs": [s["core_s"] for s in runs]}
             for name, runs in samples.items()}
    base = modes.get("dedicated", next(iter(modes.values())))["core_s"]
    print(f"\n{args.jobs} jobs x {args.rows:,} rows, {CORES} cores")
    print(f"{'mode':<16} {'wall':>8} {'core-s':>9} {'vs dedicated':>13}")
    for name, m in modes.items():
        m["ratio_to_dedicated"] = m["core_s"] / base
        print(f"{name:<16} {m['wall_s']:>7.1f}s {m['core_s']:>9.1f} "
              f"{m['ratio_to_dedicated']:>12.1%}")
    if "hand_rolled" in modes:
        for name in ("podium", "podium_for_each", "podium_warm"):
            if name in modes:
                print(f"{name} / hand_rolled core-seconds: "
                      f"{modes[name]['core_s'] / modes['hand_rolled']['core_s']:.3f}")
    result = {"jobs": args.jobs, "rows": args.rows, "cores": CORES, "rounds": args.rounds,
              "format": args.format, "modes": modes}
    name = "seed_experiment" if (args.jobs, args.rows) == (48, 1_000_000) else \
        f"seed_experiment_{args.jobs}x{args.rows}"
    name += "_delta" if args.format == "delta" else ""
    (HERE / "results" / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    chart(result, HERE.parent / "docs" / "img" / f"{name}.png")


if __name__ == "__main__":
    main()
