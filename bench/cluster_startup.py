"""What each way of getting Spark compute costs, side by side in one process: starting the
embedded classic driver, starting a Spark Connect server (with Delta Lake, as every
cluster podium starts, and without: `spark.podium.delta: "false"`), attaching to a
running shared cluster, and opening a task's session (plus its first tiny query) on each.

Prints the times and their ratios to the classic start; writes
bench/results/cluster_startup.json.
Usage: python bench/cluster_startup.py [--sessions 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def session_times(cluster: Any, count: int) -> dict[str, float]:
    """Median seconds to open a task session, and to open one and run `SELECT 1`."""
    opened, queried = [], []
    for _ in range(count):
        seconds, session = timed(cluster.new_session)
        opened.append(seconds)
        seconds, _ = timed(lambda s=session: s.sql("SELECT 1").collect())
        queried.append(opened[-1] + seconds)
        cluster.release(session)
    return {"open_s": statistics.median(opened), "open_and_query_s": statistics.median(queried)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    os.environ["PODIUM_HOME"] = tempfile.mkdtemp(prefix="podium-startup-")
    from podium.compute.classic import ClassicCluster
    from podium.compute.connect import ConnectCluster
    from podium.spec.models import ClusterSpec

    spec = ClusterSpec.model_validate({"spark_conf": {"spark.master": "local[2]"}})
    classic = ClassicCluster("classic", spec)
    server = ConnectCluster("server", spec)
    plain = ConnectCluster("plain", ClusterSpec.model_validate(
        {"spark_conf": {"spark.master": "local[2]", "spark.podium.delta": "false"}}))
    results: dict[str, dict[str, float]] = {}
    try:
        results["classic embedded"] = {"start_s": timed(classic.start)[0]}
        results["connect server"] = {"start_s": timed(server.start)[0]}
        results["connect, no Delta"] = {"start_s": timed(plain.start)[0]}
        attached = ConnectCluster("attached", ClusterSpec.model_validate(
            {"spark_conf": {"spark.remote": server.url}}))
        results["attach to shared"] = {"start_s": timed(attached.start)[0]}
        results["classic embedded"] |= session_times(classic, args.sessions)
        results["connect server"] |= session_times(server, args.sessions)
        results["connect, no Delta"] |= session_times(plain, args.sessions)
        results["attach to shared"] |= session_times(attached, args.sessions)
    finally:
        server.stop()
        plain.stop()
        classic.stop()
    base = results["classic embedded"]["start_s"]
    print(f"{'compute':<18} {'start':>8} {'vs classic':>10} {'session':>9} "
          f"{'session+query':>14}")
    for name, r in results.items():
        print(f"{name:<18} {r['start_s']:>7.2f}s {r['start_s'] / base:>9.2f}x "
              f"{r['open_s'] * 1000:>7.1f}ms {r['open_and_query_s'] * 1000:>12.1f}ms")
    out = Path(__file__).parent / "results" / "cluster_startup.json"
    out.write_text(json.dumps({"sessions": args.sessions, "cpus": os.cpu_count(),
                               "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
