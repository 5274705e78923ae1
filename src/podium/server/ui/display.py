"""How the pages show values: times, durations, triggers and states in words and
symbols (a state is never told by colour alone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

TRIGGER_WORDS = {
    "ONE_TIME": "Manual", "PERIODIC": "Schedule", "FILE_ARRIVAL": "File arrival",
    "TABLE": "Table update", "CONTINUOUS": "Continuous", "RETRY": "Retry",
    "RUN_JOB_TASK": "Run job task",
}
# One symbol per kind of state, beside the word and the colour.
SYMBOLS = {
    "SUCCESS": "✓", "FAILED": "✗", "TIMEDOUT": "⏱", "INTERNAL_ERROR": "✗",
    "CANCELED": "⊘", "UPSTREAM_FAILED": "↑", "UPSTREAM_CANCELED": "↑", "EXCLUDED": "–",
    "SKIPPED": "–", "RUNNING": "▶", "TERMINATING": "▶", "PENDING": "…", "QUEUED": "…",
    "BLOCKED": "⏸", "WAITING_FOR_RETRY": "↻",
}


def when(ms: int | None) -> str:
    """An epoch time in milliseconds as the server's local date and time; '—' for none."""
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def duration(ms: int | float | None) -> str:
    """A length of time for people: `850 ms`, `4.2 s`, `3 min 05 s`, `2 h 01 min`."""
    if ms is None or ms <= 0:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


def trigger(run: dict[str, Any]) -> str:
    """How a run started, in words; a run that was repaired says so."""
    word = TRIGGER_WORDS.get(run.get("trigger") or "", run.get("trigger") or "—")
    repairs = sum(1 for r in run.get("repair_history", []) if r.get("type") == "REPAIR")
    return f"{word}, repaired {repairs}×" if repairs else word


def symbol(state: str) -> str:
    """The symbol shown before a state's word."""
    return SYMBOLS.get(state, "•")
