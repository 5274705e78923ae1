"""One execution context of the Command Execution API: a Python process attached to an
all-purpose cluster through Spark Connect, which keeps its variables from command to
command as a notebook does.

`python -m podium.runtime.command_repl URL` reads one JSON line per command
(`{"language": "python" | "sql", "command": "..."}`) and answers one JSON line with the
result in Databricks' shape: `text` (what the command printed, then the value of a last
expression), `table` (a SQL statement's rows and schema) or `error` (`summary` and
`cause`). SIGINT interrupts the running command (the server also interrupts its Spark
work through the session)."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import signal
import sys
import threading
import traceback
from typing import Any

MAX_ROWS = 1000  # rows a table result holds; more is `truncated`, as on Databricks


def python_result(source: str, scope: dict[str, Any]) -> dict[str, Any]:
    """Run Python `source` in `scope`: its printed output and the repr of a last
    expression as text."""
    printed = io.StringIO()
    tree = ast.parse(source, "<command>", "exec")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, "<command>", "exec"), scope)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<command>", "eval"), scope)
            if value is not None:
                print(f"Out[{scope.setdefault('_podium_count', 1)}]: {value!r}")
    scope["_podium_count"] = scope.get("_podium_count", 1) + 1
    return {"resultType": "text", "data": printed.getvalue().rstrip("\n")}


def sql_result(statement: str, spark: Any) -> dict[str, Any]:
    """Run a SQL statement: its rows (as JSON values) and schema."""
    frame = spark.sql(statement)
    rows = frame.limit(MAX_ROWS + 1).collect()
    schema = [{"name": f.name, "type": json.dumps(f.dataType.jsonValue()),
               "metadata": "{}"} for f in frame.schema.fields]
    data = [[_plain(v) for v in row] for row in rows[:MAX_ROWS]]
    return {"resultType": "table", "data": data, "schema": schema,
            "truncated": len(rows) > MAX_ROWS, "isJsonSchema": True}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def error_result(exc: BaseException) -> dict[str, Any]:
    """An error as Databricks gives it: one line and the traceback."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return {"resultType": "error", "summary": summary,
            "cause": "".join(traceback.format_exception(exc))}


def _on_interrupt(spark: Any) -> Any:
    """A SIGINT handler: interrupt the session's Spark work (from a thread, as the main
    thread may be waiting on it) and the command's Python code."""
    def interrupted(signum: int, frame: Any) -> None:
        threading.Thread(target=_interrupt_all, args=(spark,), daemon=True).start()
        raise KeyboardInterrupt("the command was cancelled")
    return interrupted


def _interrupt_all(spark: Any) -> None:
    with contextlib.suppress(Exception):  # nothing running, or the session is gone
        spark.interruptAll()


def serve(url: str) -> None:
    """Answer commands from stdin until it closes."""
    from pyspark.sql.connect.session import SparkSession

    out = os.fdopen(os.dup(1), "w")  # the answers; anything else written to fd 1 goes to
    os.dup2(2, 1)                    # the context's log, never into the protocol
    sys.stdout = sys.stderr
    spark = SparkSession.builder.remote(url).create()
    signal.signal(signal.SIGINT, _on_interrupt(spark))
    scope: dict[str, Any] = {"__name__": "__main__", "spark": spark}
    out.write(json.dumps({"ready": True, "session_id": spark.session_id}) + "\n")
    out.flush()
    while True:
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:  # a cancel that came after its command ended
            continue
        if not line:
            return
        request = json.loads(line)
        try:
            if request.get("language") == "sql":
                result = sql_result(request["command"], spark)
            else:
                result = python_result(request["command"], scope)
        except KeyboardInterrupt:
            result = {"resultType": "error", "summary": "Command cancelled",
                      "cause": "The command was cancelled"}
        except BaseException as exc:  # every failure, exit() too, is the command's result
            result = error_result(exc)
        out.write(json.dumps(result, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
