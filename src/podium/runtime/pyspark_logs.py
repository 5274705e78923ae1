"""PySpark's own log lines in a task's log as plain text: PySpark 4 logs every SQL or
DataFrame error it raises to stderr as one JSON object carrying the whole Java stack, just
before the same error's traceback. In a podium process it is one readable line instead:
time, level, logger, message and, for a DataFrame error, the file and line that made it."""

from __future__ import annotations

import logging
import sys
from typing import Any

# The loggers `pyspark.errors.exceptions.base` writes a raised error's query context to.
QUERY_CONTEXT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


class PlainFormatter(logging.Formatter):
    """`2026-12-03 14:27:48 ERROR SQLQueryContextLogger: [DIVIDE_BY_ZERO] ...`; the
    exception itself is left to the traceback that follows."""

    def __init__(self) -> None:
        super().__init__(datefmt="%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one plain line (plus the message's own lines)."""
        fields = getattr(record, "context", None) or {}
        where = f" (at {fields['file']}:{fields['line']})" if fields.get("file") else ""
        return (f"{self.formatTime(record, self.datefmt)} {record.levelname} {record.name}: "
                f"{record.getMessage()}{where}")


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `sys.stderr` as it is when a line is logged (a task's own, while podium
    routes output per task), not as it was when the handler was made."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(PlainFormatter())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def install() -> None:
    """Give PySpark's query-context loggers plain text output on the current stderr
    (once)."""
    from pyspark.logger import PySparkLogger

    for name in QUERY_CONTEXT_LOGGERS:
        logger = PySparkLogger.getLogger(name)
        if any(isinstance(h, StderrHandler) for h in logger.handlers):
            continue
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logging.Logger.addHandler(logger, StderrHandler())  # PySparkLogger's sets JSON
