"""A pipeline update's events as the task that ran it kept them (`tasks/pipeline.py`), and
what they say: the state of each flow and of the update."""

from __future__ import annotations

import json
from typing import Any

from podium import defaults

FINAL = ("COMPLETED", "FAILED", "CANCELED", "STOPPED")


def events_of(log_path: str | None) -> list[dict[str, Any]]:
    """The events of the attempt whose log is `log_path`, oldest first (none yet: [])."""
    if not log_path:
        return []
    try:
        text = defaults.pipeline_events_path(log_path).read_text(encoding="utf-8")
    except OSError:
        return []
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return events


def summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Each flow's last state, in the order the flows first appear, and the update's."""
    flows: dict[str, str] = {}
    state = "RUNNING" if events else "WAITING"
    for event in events:
        if event.get("event_type") == "flow_progress" and event.get("flow_name"):
            flows[event["flow_name"]] = event.get("state") or ""
        elif event.get("event_type") == "update_progress" and event.get("state"):
            state = event["state"]
    return {"state": state, "flows": [{"name": n, "state": s} for n, s in flows.items()],
            "events": len(events)}
