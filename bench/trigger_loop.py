"""What the trigger loop costs a server: the time of one `TriggerLoop.step(now)` with N
registry jobs that have a schedule, against the same step with no scheduled job, on
SQLite. The loop steps once a second on the service's loop thread, so its step time is
time that loop does not spend on runs.

Measures, side by side in one invocation, for each N: the median time of a step where
every job fires (a schedule due for all at once, each run created and claimed in its own
transaction), of the step after it (each job's next fire time is worked out once), and of
a steady quiet step (the common case: two reads, nothing written).
Prints the medians and ratios; writes bench/results/trigger_loop.json.
Usage: python bench/trigger_loop.py [--jobs 1,100,500] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
TASK = {"task_key": "t", "python_task": {"function": "tests.engine.funcs:ok"}}
START = 1_795_500_000_000  # a fixed instant (ms), a whole minute


def measure(count: int, steps: int) -> dict[str, float]:
    """Median step times (ms) with `count` jobs scheduled every minute."""
    from podium.store import open_store, registry
    from podium.triggers.loop import TriggerLoop

    with tempfile.TemporaryDirectory() as home:
        os.environ["PODIUM_HOME"] = home
        store = open_store(f"sqlite:///{Path(home) / 'podium.db'}")
        for i in range(count):
            registry.create(store, {"name": f"s{i}", "max_concurrent_runs": 1000,
                                    "tasks": [TASK], "schedule": {
                                        "quartz_cron_expression": "0 * * * * ?",
                                        "timezone_id": "UTC"}}, "bench")
        loop = TriggerLoop(store, lambda run: None)
        loop.step(START - 30_000)  # first look: states made
        times: dict[str, list[float]] = {"firing": [], "after_firing": [], "quiet": []}
        for minute in range(steps):
            base = START + minute * 60_000
            for kind, now in (("firing", base + 1), ("after_firing", base + 1000),
                              ("quiet", base + 2000)):
                began = time.perf_counter()
                loop.step(now)
                times[kind].append((time.perf_counter() - began) * 1000)
        return {"jobs": count, **{f"{k}_step_ms": statistics.median(v)
                                  for k, v in times.items()}}


def main() -> None:
    """Run the measurements and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,100,500")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    counts = [int(c) for c in args.jobs.split(",")]
    baseline = measure(0, args.steps)
    rows = [measure(c, args.steps) for c in counts]
    for row in rows:
        for kind in ("firing", "after_firing", "quiet"):
            row[f"{kind}_per_job_ms"] = (row[f"{kind}_step_ms"] -
                                         baseline["quiet_step_ms"]) / row["jobs"]
        print(f"{row['jobs']:>5} jobs: quiet step {row['quiet_step_ms']:.1f} ms "
              f"({row['quiet_per_job_ms']:.3f} ms/job); the step after a firing "
              f"{row['after_firing_step_ms']:.0f} ms ({row['after_firing_per_job_ms']:.2f} "
              f"ms/job); a step firing all {row['firing_step_ms']:.0f} ms "
              f"({row['firing_per_job_ms']:.1f} ms/job); no jobs "
              f"{baseline['quiet_step_ms']:.2f} ms")
    out = HERE / "results" / "trigger_loop.json"
    out.write_text(json.dumps({"baseline": baseline, "rows": rows, "steps": args.steps},
                              indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
