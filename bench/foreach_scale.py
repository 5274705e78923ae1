"""for_each_task cost against the number of inputs: 100, 1,000 and 10,000 trivial
iterations (a no-op python_task, concurrency 16) through the executor with the SQLite
run history, as `podium run` does. Prints time and peak memory per size and per
iteration; writes bench/results/foreach_scale.json.
Usage: python bench/foreach_scale.py [--sizes 100,1000,10000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.engine.funcs


def one(size: int, concurrency: int) -> dict[str, float]:
    from podium.engine.executor import Executor
    from podium.engine.model import Run
    from podium.engine.recorder import Recorder
    from podium.engine.restore import job_snapshot
    from podium.runtime import output
    from podium.spec import load_bundle
    from podium.store import open_store

    os.environ["PODIUM_HOME"] = tempfile.mkdtemp(prefix="podium-foreach-")
    folder = Path(tempfile.mkdtemp(prefix="podium-foreach-bundle-"))
    (folder / "databricks.yml").write_text(
        "bundle: {name: scale}\nresources:\n  jobs:\n    j:\n      tasks:\n"
        "        - task_key: loop\n          for_each_task:\n"
        f"            inputs: '{json.dumps(list(range(size)))}'\n"
        f"            concurrency: {concurrency}\n"
        "            task: {task_key: one, python_task: {function: "
        "'tests.engine.funcs:noop', parameters: {v: '{{input}}'}}}\n")
    job = load_bundle(folder).jobs["j"]
    store = open_store(f"sqlite:///{os.environ['PODIUM_HOME']}/podium.db")
    output.install()
    tracemalloc.start()
    began = time.perf_counter()
    run = Run("j", job, folder, {}, {})
    store.create_run(run, store.record_job("j", "j", "scale", str(folder), "default",
                                           job_snapshot(job)))
    executor = Executor()
    Recorder(store, executor)
    executor.submit(run)
    executor.run_until_done([run])
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert run.result.value == "SUCCESS", run.task_runs["loop"].error
    return {"inputs": size, "seconds": seconds, "ms_per_iteration": seconds / size * 1000,
            "peak_mb": peak / 2**20, "kb_per_iteration": peak / size / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    rows = [one(int(n), args.concurrency) for n in args.sizes.split(",")]
    print(f"for_each_task, no-op python iterations, concurrency {args.concurrency}, "
          "SQLite history")
    print(f"{'inputs':>8} {'seconds':>9} {'ms/iter':>8} {'peak MB':>8} {'KB/iter':>8}")
    for r in rows:
        print(f"{r['inputs']:>8} {r['seconds']:>9.2f} {r['ms_per_iteration']:>8.2f} "
              f"{r['peak_mb']:>8.1f} {r['kb_per_iteration']:>8.1f}")
    first, last = rows[0], rows[-1]
    print(f"time ratio {last['seconds'] / first['seconds']:.1f}x for "
          f"{last['inputs'] / first['inputs']:.0f}x the inputs")
    out = Path(__file__).parent / "results" / "foreach_scale.json"
    out.write_text(json.dumps({"concurrency": args.concurrency, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
