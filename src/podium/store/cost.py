"""What each task of a run cost on shared compute (seed 001: "costs cannot be estimated").

From a run's view (runs/get shape with `podium_usage` per task): each task's executor
run and CPU time, rows and bytes, its share of its cluster's executor time in the run, and
the core-seconds that share is worth of the time the cluster was held for the run (from
the first task's start to the last task's end on it, times its cores).
"""

from __future__ import annotations

from typing import Any

MEASURES = ("executor_run_time_ms", "executor_cpu_time_ms", "input_rows", "input_bytes",
            "output_rows", "output_bytes", "shuffle_read_bytes", "shuffle_write_bytes")


def run_cost(view: dict[str, Any]) -> dict[str, Any]:
    """Per-task and per-cluster cost of a run view; tasks without Spark usage are left out."""
    tasks = [t for t in view.get("tasks", []) if t.get("podium_usage")]
    clusters: dict[str, dict[str, Any]] = {}
    for task in tasks:
        instance = task.get("cluster_instance", {})
        app = instance.get("spark_context_id", "?")
        cluster = clusters.setdefault(app, {
            "spark_context_id": app, "cluster_id": instance.get("cluster_id", "-"),
            "cores": 0, "tasks": 0, "first_start": task["start_time"],
            "last_end": task["end_time"], **{m: 0 for m in MEASURES}})
        usage = task["podium_usage"]
        cluster["tasks"] += 1
        cluster["cores"] = max(cluster["cores"], usage.get("cluster_cores", 0))
        cluster["first_start"] = min(cluster["first_start"], task["start_time"])
        cluster["last_end"] = max(cluster["last_end"], task["end_time"])
        for measure in MEASURES:
            cluster[measure] += usage.get(measure, 0)
    for cluster in clusters.values():
        held_s = max(0, cluster.pop("last_end") - cluster.pop("first_start")) / 1000
        cluster["held_seconds"] = round(held_s, 3)
        cluster["held_core_seconds"] = round(held_s * cluster["cores"], 3)
        busy = cluster["executor_run_time_ms"] / 1000
        cluster["utilization"] = round(busy / cluster["held_core_seconds"], 4) \
            if cluster["held_core_seconds"] else 0.0
    rows = []
    for task in tasks:
        usage = task["podium_usage"]
        cluster = clusters[task.get("cluster_instance", {}).get("spark_context_id", "?")]
        share = usage.get("executor_run_time_ms", 0) / cluster["executor_run_time_ms"] \
            if cluster["executor_run_time_ms"] else 0.0
        rows.append({"task_key": task["task_key"], "spark_context_id":
                     cluster["spark_context_id"], **{m: usage.get(m, 0) for m in MEASURES},
                     "jobs": usage.get("jobs", 0), "stages": usage.get("stages", 0),
                     "share_of_cluster": round(share, 4),
                     "attributed_core_seconds": round(share * cluster["held_core_seconds"], 3)})
    return {"run_id": view.get("run_id"), "tasks": rows, "clusters": list(clusters.values()),
            "total_executor_run_time_ms": sum(c["executor_run_time_ms"]
                                              for c in clusters.values())}
