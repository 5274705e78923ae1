"""Orchestration overhead per task, podium against Prefect 3 and Dagster, in one run:
N no-op tasks in a flat fan-out and a DEPTH-deep chain (pure Python, no Spark).

podium runs in this process twice: the engine alone, and the engine with its run history
(SQLite, every state change committed before it is acted on, as `podium run` does). The
peers run in their own venv (bench/peers/.venv, made with
`python3 -m venv bench/peers/.venv && bench/peers/.venv/bin/pip install -r
bench/peers/requirements.txt`), each after a warm-up. Per-task overhead is wall time / N.
Writes bench/results/overhead_peers.json.
Usage: python bench/overhead_peers.py [--tasks 1000] [--depth 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
PEERS = HERE / "peers"

NOOP = "def noop(**params):\n    return None\n"


def bundle(root: Path, n: int, depth: int) -> Path:
    """Two jobs of python_task no-ops: `fan_out` (n independent) and `chain` (depth long)."""
    root.mkdir(parents=True)
    (root / "noops.py").write_text(NOOP)
    task = "python_task: {function: 'noops:noop'}"
    fan = "".join(f"        - {{task_key: t{i}, {task}}}\n" for i in range(n))
    chain = "".join(f"        - {{task_key: t{i}, {task}"
                    + (f", depends_on: [{{task_key: t{i - 1}}}]" if i else "") + "}\n"
                    for i in range(depth))
    (root / "databricks.yml").write_text(
        "bundle: {name: peers}\nresources:\n  jobs:\n"
        "    fan_out:\n      max_concurrent_runs: 100\n      tasks:\n" + fan +
        "    chain:\n      max_concurrent_runs: 100\n      tasks:\n" + chain)
    return root


def podium_times(folder: Path, with_store: bool, rounds: int = 3) -> dict[str, float]:
    """Best-of-`rounds` wall time of each job through podium's executor."""
    from podium.engine.executor import Executor
    from podium.engine.model import Run
    from podium.engine.recorder import Recorder
    from podium.engine.restore import job_snapshot
    from podium.spec import load_bundle
    from podium.store import open_store
    from podium.store.admission import admit

    loaded = load_bundle(folder)
    store = open_store() if with_store else None
    times: dict[str, float] = {}
    for key in ("fan_out", "chain"):
        job = loaded.jobs[key]
        best = float("inf")
        for _ in range(rounds + 1):  # the first is a warm-up
            executor = Executor()
            run = Run(key, job, folder, {}, {}, jobs=loaded.jobs)
            tick = None
            began = time.perf_counter()
            if store is not None:
                recorder = Recorder(store, executor, (loaded.name, str(folder), "default"))
                job_id = store.record_job(key, key, loaded.name, str(folder), "default",
                                          job_snapshot(job))
                admit(store, run, job_id, job.max_concurrent_runs, queue=False)
                tick = recorder.tick
            executor.submit(run)
            executor.run_until_done([run], tick)
            elapsed = time.perf_counter() - began
            assert run.result is not None and run.result.value == "SUCCESS", run.message
            best = min(best, elapsed) if _ else best
        times[f"{key}_s"] = best
    return times


def peer_times(script: str, n: int, depth: int) -> dict[str, float] | None:
    """Run a peer's script in the peers' venv; None when that venv is missing."""
    python = PEERS / ".venv" / "bin" / "python"
    if not python.exists():
        print(f"  ({script}: no bench/peers/.venv; see this script's docstring)")
        return None
    env = {**os.environ, "PREFECT_HOME": tempfile.mkdtemp(prefix="prefect-"),
           "DAGSTER_HOME": tempfile.mkdtemp(prefix="dagster-"),
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    done = subprocess.run([str(python), str(PEERS / script), str(n), str(depth)],
                          capture_output=True, text=True, env=env, check=True)
    line = next(ln for ln in reversed(done.stdout.splitlines()) if ln.startswith("{"))
    return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
    os.environ["PODIUM_HOME"] = tempfile.mkdtemp(prefix="podium-peers-")
    folder = bundle(Path(tempfile.mkdtemp(prefix="podium-peers-bundle-")) / "b", args.tasks,
                    args.depth)
    from podium.runtime import output

    output.install()
    results: dict[str, dict[str, float] | None] = {
        "podium (engine)": podium_times(folder, with_store=False),
        "podium (with history)": podium_times(folder, with_store=True),
        "prefect 3": peer_times("prefect_flows.py", args.tasks, args.depth),
        "dagster": peer_times("dagster_jobs.py", args.tasks, args.depth),
    }
    per_task = {name: {"fan_out_ms": r["fan_out_s"] / args.tasks * 1000,
                       "chain_ms": r["chain_s"] / args.depth * 1000}
                for name, r in results.items() if r is not None}
    base = per_task["podium (with history)"]
    print(f"\nper-task overhead: {args.tasks} no-op tasks fanned out, a {args.depth}-deep chain")
    print(f"{'':<24} {'fan-out':>10} {'chain':>10} {'fan-out vs podium':>18} "
          f"{'chain vs podium':>16}")
    for name, r in per_task.items():
        print(f"{name:<24} {r['fan_out_ms']:>8.2f}ms {r['chain_ms']:>8.2f}ms "
              f"{r['fan_out_ms'] / base['fan_out_ms']:>17.1f}x "
              f"{r['chain_ms'] / base['chain_ms']:>15.1f}x")
    out = HERE / "results" / "overhead_peers.json"
    out.write_text(json.dumps({"tasks": args.tasks, "depth": args.depth,
                               "cores": os.cpu_count(), "seconds": results,
                               "per_task_ms": per_task}, indent=2) + "\n")


if __name__ == "__main__":
    main()
