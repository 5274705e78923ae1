"""The fixed cost of a cold `podium run`: from process start to the first task's start,
and from the last task's end to the process's exit, for seed 001's job shape (N
table-copy notebook tasks on one job cluster).

With `--compare DIR`, the same runs are made alternately with another checkout's code
(`DIR/src` first on PYTHONPATH), e.g. the commit before a change, and the ratios printed;
with `--no-archive`, alternately with this code and `PODIUM_JVM_CDS=0` (drivers without
the class-data archive); with `--jit-quick`, alternately with `PODIUM_JIT=full` (this)
and `quick` (compare). CPU seconds are those of the run's processes (podium and its JVM).
Writes bench/results/cold_run.json (cold_run_jit.json for `--jit-quick`).
Usage: python bench/cold_run.py [--jobs 12] [--rows 200000] [--repeat 3]
       [--compare DIR | --no-archive | --jit-quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from seed_experiment import podium_bundle, source_table  # noqa: E402


def one_run(bundle: Path, home: Path, src: Path | None,
            extra: dict[str, str]) -> dict[str, float]:
    """Seconds before the first task starts, of tasks, and after the last task ends."""
    env = {**os.environ, "PODIUM_HOME": str(home), **extra}
    if src is not None:
        env["PYTHONPATH"] = f"{src / 'src'}:{src}"
    began, cpu = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "podium", "run", "tasks", "--bundle",
                           str(bundle), "--json"], capture_output=True, text=True, env=env,
                          cwd=src or HERE.parent)
    ended, used = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS", done.stderr[-2000:]
    first = min(t["start_time"] for t in view["tasks"]) / 1000
    last = max(t["end_time"] for t in view["tasks"]) / 1000
    return {"before_first_task_s": first - began, "tasks_s": last - first,
            "after_last_task_s": ended - last, "total_s": ended - began,
            "cpu_s": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime}


def medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout to run alternately (its src/ and tests)")
    parser.add_argument("--no-archive", action="store_true",
                        help="compare with drivers that do not map the class-data archive")
    parser.add_argument("--jit-quick", action="store_true",
                        help="compare PODIUM_JIT=full (this) with quick (compare)")
    args = parser.parse_args()
    source = source_table(args.rows)
    work = Path(tempfile.mkdtemp(prefix="podium-cold-"))
    bundle = podium_bundle(work / "bundle", source, args.jobs, args.rows)
    versions: dict[str, tuple[Path | None, dict[str, str]]] = {"this": (None, {})}
    if args.jit_quick:
        versions = {"this": (None, {"PODIUM_JIT": "full"}),
                    "compare": (None, {"PODIUM_JIT": "quick"})}
    elif args.compare:
        versions["compare"] = (args.compare, {})
    elif args.no_archive:
        versions["compare"] = (None, {"PODIUM_JVM_CDS": "0"})
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    for i in range(args.repeat):
        for name, (src, extra) in versions.items():
            samples[name].append(one_run(bundle, work / f"home-{name}-{i}", src, extra))
            print(f"{name} #{i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                     samples[name][-1].items()), flush=True)
    result = {"jobs": args.jobs, "rows": args.rows,
              "medians": {name: medians(s) for name, s in samples.items()}}
    print(f"\n{'':<9} {'before 1st task':>16} {'tasks':>8} {'after last':>11} {'total':>8} "
          f"{'cpu':>8}")
    for name, m in result["medians"].items():
        print(f"{name:<9} {m['before_first_task_s']:>15.2f}s {m['tasks_s']:>7.2f}s "
              f"{m['after_last_task_s']:>10.2f}s {m['total_s']:>7.2f}s {m['cpu_s']:>7.1f}s")
    if len(versions) > 1:
        result["compared_with"] = (str(args.compare) if args.compare else "PODIUM_JIT=quick"
                                   if args.jit_quick else "PODIUM_JVM_CDS=0")
        this, other = result["medians"]["this"], result["medians"]["compare"]
        result["ratio_total"] = this["total_s"] / other["total_s"]
        result["ratio_cpu"] = this["cpu_s"] / other["cpu_s"]
        print(f"this / compare total: {result['ratio_total']:.3f}, "
              f"cpu: {result['ratio_cpu']:.3f}")
    name = "cold_run_jit.json" if args.jit_quick else "cold_run.json"
    (HERE / "results" / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
