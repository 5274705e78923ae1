"""A run's task graph and timeline as SVG, laid out on the server: the browser only
draws (a large graph never freezes a page on layout work, and no script is needed).

Layers are the longest path from a root (graphlib's order), nodes sit in rows by layer,
edges carry their `run_if` or condition outcome, nodes their state in colour and text.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

from markupsafe import Markup, escape

NODE_W, NODE_H, GAP_X, GAP_Y = 180, 46, 70, 18
COLOURS = {
    "SUCCESS": "#2e9d5b", "FAILED": "#d64545", "TIMEDOUT": "#d64545",
    "INTERNAL_ERROR": "#d64545", "CANCELED": "#8a8a8a", "UPSTREAM_FAILED": "#e0a030",
    "UPSTREAM_CANCELED": "#b0b0b0", "EXCLUDED": "#c8c8c8", "SKIPPED": "#c8c8c8",
    "RUNNING": "#2b7bd9", "PENDING": "#9bbbe0", "QUEUED": "#9bbbe0", "BLOCKED": "#e0a030",
    "WAITING_FOR_RETRY": "#e0a030", "TERMINATING": "#2b7bd9",
}


def state_of(task: dict[str, Any]) -> str:
    """A task's one state word: its result when ended, else its life-cycle state."""
    state = task.get("state", {})
    return state.get("result_state") or state.get("life_cycle_state") or "PENDING"


def colour(state: str) -> str:
    """The fill of a state (text says the state too, for colour-blind readers)."""
    return COLOURS.get(state, "#9bbbe0")


@dataclass
class Placed:
    key: str
    layer: int
    row: int

    @property
    def x(self) -> int:
        return 10 + self.layer * (NODE_W + GAP_X)

    @property
    def y(self) -> int:
        return 10 + self.row * (NODE_H + GAP_Y)


def layout(tasks: list[dict[str, Any]]) -> dict[str, Placed]:
    """Each task's layer (longest path from a root) and row within the layer."""
    deps = {t["task_key"]: [d["task_key"] for d in t.get("depends_on", [])] for t in tasks}
    layer: dict[str, int] = {}
    for key in TopologicalSorter(deps).static_order():
        layer[key] = 1 + max((layer[d] for d in deps.get(key, []) if d in layer), default=-1)
    rows: dict[int, int] = {}
    placed: dict[str, Placed] = {}
    for task in tasks:
        key = task["task_key"]
        number = layer.get(key, 0)
        placed[key] = Placed(key, number, rows.get(number, 0))
        rows[number] = rows.get(number, 0) + 1
    return placed


def _label(task: dict[str, Any]) -> str:
    state = state_of(task)
    each = task.get("for_each_task", {}).get("stats", {}).get("task_run_stats")
    if each:
        return f"{state} {each['completed_iterations']}/{each['total_iterations']}"
    return state


def task_graph(tasks: list[dict[str, Any]], link: Any) -> Markup:
    """The SVG of a run's tasks; `link(task)` gives the URL a node opens."""
    placed = layout(tasks)
    width = max((p.x for p in placed.values()), default=0) + NODE_W + 20
    height = max((p.y for p in placed.values()), default=0) + NODE_H + 20
    parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="task graph">']
    for task in tasks:
        to = placed[task["task_key"]]
        for dep in task.get("depends_on", []):
            start = placed.get(dep["task_key"])
            if start is None:
                continue
            x1, y1 = start.x + NODE_W, start.y + NODE_H // 2
            x2, y2 = to.x, to.y + NODE_H // 2
            parts.append(f'<path class="edge" d="M{x1},{y1} C{x1 + 35},{y1} {x2 - 35},{y2} '
                         f'{x2},{y2}" fill="none" stroke="#888"/>')
            note = dep.get("outcome") or (task.get("run_if") if task.get("run_if") not in
                                           (None, "ALL_SUCCESS") else None)
            if note:
                parts.append(f'<text class="edge-label" x="{(x1 + x2) // 2}" '
                             f'y="{(y1 + y2) // 2 - 4}" font-size="11" text-anchor="middle">'
                             f"{escape(str(note))}</text>")
    for task in tasks:
        at = placed[task["task_key"]]
        state = state_of(task)
        parts.append(
            f'<a href="{escape(link(task))}"><g class="node" data-task="{escape(at.key)}" '
            f'data-state="{escape(state)}"><rect x="{at.x}" y="{at.y}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="6" fill="{colour(state)}"/>'
            f'<text x="{at.x + 8}" y="{at.y + 19}" fill="#fff" font-weight="bold" '
            f'font-size="13">{escape(at.key[:24])}</text>'
            f'<text x="{at.x + 8}" y="{at.y + 37}" fill="#fff" font-size="12">'
            f"{escape(_label(task))}</text></g></a>")
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(run: dict[str, Any], now_ms: int) -> list[dict[str, Any]]:
    """One bar per task attempt, as percentages of the run's span: the wait before the
    attempt (queued, blocked, waiting for a cluster or a retry) apart from its running."""
    begin = run.get("start_time") or now_ms
    end = run.get("end_time") or now_ms
    span = max(1, end - begin)
    bars = []
    for task in run.get("tasks", []):
        previous_end = begin
        for attempt in task.get("attempts", []):
            start = attempt["start_time"] or now_ms
            stop = attempt["end_time"] or now_ms
            bars.append({
                "task": task["task_key"], "attempt": attempt["attempt_number"],
                "state": attempt["result_state"] or state_of(task),
                "wait_left": 100 * (previous_end - begin) / span,
                "wait_width": 100 * max(0, start - previous_end) / span,
                "run_left": 100 * (start - begin) / span,
                "run_width": max(0.3, 100 * (stop - start) / span),
                "seconds": (stop - start) / 1000})
            previous_end = stop
    return bars
