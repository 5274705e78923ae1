"""`podium runs cost`: a run's cost per task and per cluster as tables."""

from __future__ import annotations

from typing import Any


def print_cost(cost: dict[str, Any], console: Any) -> None:
    """The cost as two tables: tasks, then clusters."""
    from rich.table import Table

    tasks = Table("task", "executor s", "cpu s", "rows in", "MB in", "rows out", "MB out",
                  "share", "core-s", title=f"run {cost['run_id']}: cost per task")
    for t in cost["tasks"]:
        tasks.add_row(t["task_key"], f"{t['executor_run_time_ms'] / 1000:.2f}",
                      f"{t['executor_cpu_time_ms'] / 1000:.2f}", f"{t['input_rows']:,}",
                      f"{t['input_bytes'] / 1e6:.1f}", f"{t['output_rows']:,}",
                      f"{t['output_bytes'] / 1e6:.1f}", f"{t['share_of_cluster']:.1%}",
                      f"{t['attributed_core_seconds']:.1f}")
    console.print(tasks)
    clusters = Table("cluster", "spark_context_id", "cores", "tasks", "held s", "core-s",
                     "executor s", "utilization")
    for c in cost["clusters"]:
        clusters.add_row(c["cluster_id"], c["spark_context_id"], str(c["cores"]),
                         str(c["tasks"]), f"{c['held_seconds']:.1f}",
                         f"{c['held_core_seconds']:.1f}",
                         f"{c['executor_run_time_ms'] / 1000:.2f}", f"{c['utilization']:.1%}")
    console.print(clusters)
