"""A task log as the log viewer shows it: Spark's JSON log lines (`{"ts", "level",
"logger", "msg", "exception"}`) made readable lines with the exception folded, plain
output kept as it is, each line with a level to filter on."""

from __future__ import annotations

import json
from dataclasses import dataclass

LEVELS = ("ALL", "INFO", "WARN", "ERROR")
RANK = {"TRACE": 0, "DEBUG": 0, "INFO": 1, "WARN": 2, "WARNING": 2, "ERROR": 3, "FATAL": 3,
        "CRITICAL": 3}


@dataclass(frozen=True)
class LogLine:
    """One shown line: its level, and for a structured line its parts."""

    text: str
    level: str = "INFO"
    time: str = ""
    logger: str = ""
    exception: str = ""

    @property
    def structured(self) -> bool:
        return bool(self.logger or self.time)


def _plain_level(text: str) -> str:
    if any(w in text for w in ("Traceback", "Error", "Exception", " ERROR ", "error:")):
        return "ERROR"
    if " WARN " in text or "Warning" in text or text.startswith("WARN"):
        return "WARN"
    return "INFO"


def parse(text: str) -> LogLine:
    """A log line as shown: a JSON record of Spark's made readable, else the text."""
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            record = json.loads(stripped)
        except ValueError:
            record = None
        if isinstance(record, dict) and "msg" in record and "level" in record:
            exception = record.get("exception") or ""
            if isinstance(exception, dict):
                stack = exception.get("stacktrace") or []
                exception = "\n".join(
                    [f"{exception.get('class', '')}: {exception.get('msg', '')}",
                     *(f"  at {f.get('class', '')}.{f.get('method', '')}"
                       f"({f.get('file', '')}:{f.get('line', '')})"
                       for f in stack if isinstance(f, dict))])
            level = str(record.get("level", "INFO")).upper()
            return LogLine(str(record.get("msg", "")), "WARN" if level == "WARNING" else level,
                           str(record.get("ts", "")), str(record.get("logger", "")),
                           str(exception))
    return LogLine(text, _plain_level(text))


def shown(lines: list[str], level: str = "ALL", search: str = "") -> list[LogLine]:
    """The lines at `level` or above that contain `search` (case-insensitive)."""
    least = RANK.get(level.upper(), 0) if level.upper() != "ALL" else 0
    needle = search.lower()
    out = []
    for line in map(parse, lines):
        if RANK.get(line.level, 1) < least:
            continue
        if needle and needle not in (line.text + line.logger + line.exception).lower():
            continue
        out.append(line)
    return out
