"""What the class-data archive saves a standalone cluster's executors, side by side in one
process: a master and a worker on this machine, then rounds of one application each, run
alternately with the executor options podium gives (the archive, then the JIT mode) and
with the JIT mode alone. Each application runs a small query and a Parquet write on its
executor; the executor JVM's CPU is read from /proc before the application stops.

Prints the medians and their ratio; writes bench/results/executor_archive.json.
Usage: python bench/executor_archive.py [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = """
import os, sys
from pyspark.sql import SparkSession
master, options, out = sys.argv[1:4]
spark = (SparkSession.builder.master(master).config("spark.ui.enabled", "false")
         .config("spark.executor.extraJavaOptions", options)
         .config("spark.executor.cores", "1").getOrCreate())
spark.range(200000).selectExpr("id % 7 AS k", "id").groupBy("k").count().collect()
spark.range(100000).write.mode("overwrite").parquet(out)
app = spark.sparkContext.applicationId
cpu = 0.0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        command = open(f"/proc/{pid}/cmdline").read()
        if "CoarseGrainedExecutorBackend" in command and app in command:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
print("EXECUTOR_CPU", cpu)
spark.stop()
"""


def wait_for(log: Path, pattern: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace")) if log.exists() else None
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise SystemExit(f"{log}: no line matching {pattern} in {seconds:.0f}s")


def executor_cpu(master: str, options: str, out: Path) -> float:
    done = subprocess.run([sys.executable, "-c", APP, master, options, str(out)],
                          capture_output=True, text=True, timeout=300, check=True)
    return float(done.stdout.split("EXECUTOR_CPU")[-1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    rounds = parser.parse_args().rounds

    from podium.compute.cluster_conf import EXECUTOR_OPTIONS, JIT_OPTIONS, executor_options
    from podium.compute.connect import spark_home
    from podium.jvm import archive
    from podium.spec.models import ClusterSpec

    if not archive.jvm_options():
        raise SystemExit("no class-data archive: run `make java` first")
    os.environ["PODIUM_JIT"] = "quick"
    modes = {"archive": executor_options(ClusterSpec())[EXECUTOR_OPTIONS],
             "no_archive": JIT_OPTIONS["quick"]}
    work = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(work / "logs"),
           "SPARK_WORKER_DIR": str(work / "work"), "SPARK_DAEMON_JAVA_OPTS": modes["archive"]}
    spark_class = str(home / "bin" / "spark-class")
    daemons = []
    try:
        with (work / "master.log").open("ab") as log:
            daemons.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", "0", "--webui-port", "0"], env=env, stdout=log, stderr=log))
        master = wait_for(work / "master.log", r"(spark://127\.0\.0\.1:\d+)")
        with (work / "worker.log").open("ab") as log:
            daemons.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", master, "--host",
                 "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", "0"],
                env=env, stdout=log, stderr=log))
        wait_for(work / "worker.log", r"(Successfully registered with master)")
        runs: dict[str, list[float]] = {mode: [] for mode in modes}
        for n in range(rounds):
            for mode, options in modes.items():
                runs[mode].append(executor_cpu(master, options, work / f"out-{mode}-{n}"))
                print(f"round {n + 1} {mode}: executor {runs[mode][-1]:.2f} CPU-s", flush=True)
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            daemon.wait(30)
    medians = {mode: statistics.median(values) for mode, values in runs.items()}
    ratio = medians["archive"] / medians["no_archive"]
    print(f"executor CPU, medians of {rounds}: archive {medians['archive']:.2f} s, "
          f"without {medians['no_archive']:.2f} s, ratio {ratio:.3f}")
    result = {"rounds": rounds, "executor_cpu_s": runs, "medians": medians, "ratio": ratio}
    out = Path(__file__).parent / "results" / "executor_archive.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
