"""What the per-task working directory and environment cost (`runtime/workdir.py`,
`runtime/task_env.py`): both route process-wide functions (`os.stat`, `open`,
`os.environ[...]`) through the calling thread's task, so every call in the process pays a
lookup. Measures, side by side in one process, each call plain, routed outside a task,
and routed inside a task (a relative path taken from the task's folder; a variable of the
task's own), and prints the ratios; writes bench/results/task_routing.json.
Usage: python bench/task_routing.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import timeit
from pathlib import Path

from podium.runtime import context, task_env, workdir
from podium.runtime.context import TaskContext, TaskValues


def per_call(statement, calls: int) -> float:
    """Microseconds per call, best of three."""
    return min(timeit.repeat(statement, number=calls, repeat=3)) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls
    folder = Path(tempfile.mkdtemp(prefix="podium-bench-routing-"))
    (folder / "data.txt").write_text("x")
    absolute = str(folder / "data.txt")
    os.environ["PODIUM_BENCH_VAR"] = "plain"
    cases = {
        "os.stat(absolute)": lambda: os.stat(absolute),
        "open(absolute).close()": lambda: open(absolute).close(),
        "os.environ[var]": lambda: os.environ["PODIUM_BENCH_VAR"],
    }
    plain = {name: per_call(fn, calls // 10 if "open" in name else calls)
             for name, fn in cases.items()}
    workdir.install()
    task_env.install()
    routed = {name: per_call(fn, calls // 10 if "open" in name else calls)
              for name, fn in cases.items()}
    in_task: dict[str, float] = {}

    def as_task() -> None:
        ctx = TaskContext(run_id=1, job_key="j", job_name="j", task_key="t", attempt=0,
                          task_run_id=2, params={}, log_path=folder / "t.log",
                          bundle_root=folder, values=TaskValues(), workdir=folder,
                          env=task_env.TaskEnv(("DATABRICKS_TOKEN",),
                                               lambda: {"DATABRICKS_TOKEN": "dapi1"},
                                               secret=("DATABRICKS_TOKEN",)))
        context.bind(ctx)
        in_task["os.stat(relative)"] = per_call(lambda: os.stat("data.txt"), calls)
        in_task["open(relative).close()"] = per_call(
            lambda: open("data.txt").close(), calls // 10)
        in_task["os.environ[task's var]"] = per_call(
            lambda: os.environ["DATABRICKS_TOKEN"], calls)

    thread = threading.Thread(target=as_task)
    thread.start()
    thread.join()
    results = {
        "calls": calls,
        "microseconds_per_call": {"plain": plain, "routed_outside_a_task": routed,
                                  "routed_in_a_task": in_task},
        "ratio_routed_to_plain": {name: round(routed[name] / plain[name], 2)
                                  for name in cases},
    }
    for name in cases:
        print(f"{name:28} plain {plain[name]:6.2f} us   routed {routed[name]:6.2f} us   "
              f"x{results['ratio_routed_to_plain'][name]:.2f}")
    for name, value in in_task.items():
        print(f"{name:28} in a task {value:6.2f} us")
    out = Path(__file__).parent / "results" / "task_routing.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
