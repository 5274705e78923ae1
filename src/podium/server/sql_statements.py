"""The Statement Execution API (`/api/2.0/sql/statements`): a SQL statement runs on a
warehouse (`sql_warehouses.py`, started if stopped) through a Spark Connect session of its
own, with the statement's catalog, schema and named parameters. The answer waits up to
`wait_timeout`, then the client polls; results come inline as JSON arrays (every value a
string, as Databricks sends them) or as an Arrow IPC stream, in chunks."""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from podium import defaults
from podium.compute import spark_mode
from podium.compute.catalog import WarehouseCatalog
from podium.compute.errors import ClusterError
from podium.compute.unity_objects import type_name, type_text
from podium.engine import shared_clusters
from podium.server import bodies
from podium.server.errors import ApiError, invalid
from podium.server.sql_warehouses import row_of
from podium.server.workspace import user, workspace

router = APIRouter(prefix="/api/2.0/sql/statements", dependencies=[Depends(user)])

CHUNK_ROWS = 10_000  # rows of one result chunk
KEEP_SECONDS = 3600  # an ended statement's result stays this long, as on Databricks
ENDED = ("SUCCEEDED", "FAILED", "CANCELED", "CLOSED")
TYPED = {"TINYINT": int, "SMALLINT": int, "INT": int, "BIGINT": int, "LONG": int,
         "FLOAT": float, "DOUBLE": float, "DECIMAL": decimal.Decimal,
         "BOOLEAN": lambda v: v.strip().lower() == "true",
         "DATE": datetime.date.fromisoformat, "TIMESTAMP": datetime.datetime.fromisoformat}


class Parameter(bodies.Body):
    name: str
    value: str | None = None
    type: str | None = None


class ExecuteBody(bodies.Body):
    statement: str
    warehouse_id: str
    catalog: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    parameters: list[Parameter] | None = None
    wait_timeout: str = "10s"
    on_wait_timeout: str = "CONTINUE"
    row_limit: bodies.Int64 | None = None
    byte_limit: bodies.Int64 | None = None
    disposition: str = "INLINE"
    format: str = "JSON_ARRAY"


@dataclass
class Statement:
    """A statement and, once it ended, its outcome."""

    statement_id: str
    format: str
    state: str = "PENDING"
    error: dict[str, str] | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)  # ResultData of each chunk
    total_rows: int = 0
    truncated: bool = False
    ended_at: float = 0.0
    session: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    def end(self, state: str, error: dict[str, str] | None = None) -> None:
        if self.state in ENDED:
            return
        self.state, self.error, self.ended_at = state, error, time.monotonic()
        self.done.set()


class Statements:
    """The statements of this server: running ones on a small pool, ended ones kept for
    an hour."""

    def __init__(self) -> None:
        self.by_id: dict[str, Statement] = {}
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="podium-sql")
        self.catalogs: dict[str, WarehouseCatalog] = {}
        self.lock = threading.Lock()

    def get(self, statement_id: str) -> Statement:
        with self.lock:
            now = time.monotonic()
            for key in [k for k, s in self.by_id.items()
                        if s.ended_at and now - s.ended_at > KEEP_SECONDS]:
                del self.by_id[key]
            found = self.by_id.get(statement_id)
        if found is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Statement {statement_id} does not "
                           "exist (results are kept for an hour)")
        return found


def _statements(request: Request) -> Statements:
    app = request.app
    if not hasattr(app.state, "sql_statements"):
        app.state.sql_statements = Statements()
    return app.state.sql_statements


def _wait_seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)s", text.strip())
    seconds = int(match.group(1)) if match else -1
    if seconds != 0 and not 5 <= seconds <= 50:
        raise invalid(f"wait_timeout must be 0s or from 5s to 50s, not '{text}'")
    return seconds


def _argument(parameter: Parameter) -> Any:
    if parameter.value is None:
        return None
    kind = (parameter.type or "STRING").upper().split("(")[0]
    try:
        return TYPED.get(kind, str)(parameter.value)
    except (ValueError, decimal.InvalidOperation):
        raise invalid(f"Parameter '{parameter.name}': '{parameter.value}' is not a "
                      f"{kind}") from None


def _text(value: Any) -> str | None:
    """A value as Databricks' JSON_ARRAY format sends it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    return str(value)


def _execute(statements: Statements, url: str, warehouse_id: str, body: ExecuteBody,
             run: Statement, arguments: dict[str, Any]) -> None:
    """Run the statement on the warehouse at `url` and keep its result in chunks."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    spark_mode.set_thread(remote=True)
    try:
        session = ConnectSession.builder.remote(url).create()
        run.session = session
        if run.state in ENDED:  # cancelled while connecting
            return
        run.state = "RUNNING"
        with statements.lock:
            catalog = statements.catalogs.setdefault(
                warehouse_id, WarehouseCatalog(defaults.warehouse_dir()))
        catalog.sync(session)
        if body.catalog:
            session.sql(f"USE CATALOG `{body.catalog}`")
        if body.schema_:
            session.sql(f"USE SCHEMA `{body.schema_}`")
        frame = session.sql(body.statement, args=arguments or None)
        table = (frame.limit(body.row_limit + 1) if body.row_limit else frame).toArrow()
        if body.row_limit is not None and table.num_rows > body.row_limit:
            table, run.truncated = table.slice(0, body.row_limit), True
        _keep(run, frame.schema, table)
        run.end("SUCCEEDED")
    except Exception as exc:  # the statement's own error, as Databricks reports it
        if run.state not in ENDED:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            run.end("FAILED", {"error_code": "BAD_REQUEST", "message": message})
    finally:
        with contextlib.suppress(Exception):
            if run.session is not None:
                run.session.stop()
        run.session = None


def _keep(run: Statement, schema: Any, table: Any) -> None:
    import pyarrow as pa

    run.columns = [{"name": f["name"], "position": i,
                    "type_name": type_name(f["type"]),
                    "type_text": type_text(f["type"]).upper()}
                   for i, f in enumerate(json.loads(schema.json())["fields"])]
    run.total_rows = table.num_rows
    offsets = list(range(0, table.num_rows, CHUNK_ROWS)) or [0]
    for index, offset in enumerate(offsets):
        part = table.slice(offset, CHUNK_ROWS)
        chunk: dict[str, Any] = {"chunk_index": index, "row_offset": offset,
                                 "row_count": part.num_rows}
        if run.format == "ARROW_STREAM":
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, part.schema) as writer:
                writer.write_table(part)
            chunk["attachment"] = base64.b64encode(sink.getvalue().to_pybytes()).decode()
        else:
            chunk["data_array"] = [[_text(v) for v in row.values()]
                                   for row in part.to_pylist()]
        if index + 1 < len(offsets):
            chunk["next_chunk_index"] = index + 1
            chunk["next_chunk_internal_link"] = (f"/api/2.0/sql/statements/{run.statement_id}"
                                                 f"/result/chunks/{index + 1}")
        run.chunks.append(chunk)


def _answer(run: Statement) -> dict[str, Any]:
    out: dict[str, Any] = {"statement_id": run.statement_id, "status": {"state": run.state}}
    if run.error:
        out["status"]["error"] = run.error
    if run.state == "SUCCEEDED":
        out["manifest"] = {
            "format": run.format, "schema": {"column_count": len(run.columns),
                                             "columns": run.columns},
            "total_chunk_count": len(run.chunks), "total_row_count": run.total_rows,
            "truncated": run.truncated,
            "chunks": [{k: c[k] for k in ("chunk_index", "row_offset", "row_count")}
                       for c in run.chunks]}
        out["result"] = run.chunks[0]
    return out


@router.post("")
def execute(request: Request, body: ExecuteBody) -> dict[str, Any]:
    """Run a statement on a warehouse; its result if it ends within `wait_timeout`, else
    its id to poll (or, with `on_wait_timeout: CANCEL`, its cancellation)."""
    wait = _wait_seconds(body.wait_timeout)
    if body.disposition != "INLINE":
        raise invalid(f"disposition {body.disposition} is not available here; use INLINE "
                      "(results come in chunks of 10,000 rows)")
    if body.format not in ("JSON_ARRAY", "ARROW_STREAM"):
        raise invalid(f"format {body.format} is not available with INLINE; use JSON_ARRAY "
                      "or ARROW_STREAM")
    if body.on_wait_timeout not in ("CONTINUE", "CANCEL"):
        raise invalid(f"on_wait_timeout must be CONTINUE or CANCEL, not {body.on_wait_timeout}")
    if body.row_limit is not None and body.row_limit < 0:
        raise invalid("row_limit must be 0 or more")
    row = row_of(request, body.warehouse_id)
    arguments = {p.name: _argument(p) for p in body.parameters or []}
    statements = _statements(request)
    run = Statement(uuid.uuid4().hex, body.format)
    with statements.lock:
        statements.by_id[run.statement_id] = run
    store = workspace(request).store

    def work() -> None:
        try:
            url = shared_clusters.address(store, row.key, None, start_missing=True)
        except ClusterError as exc:
            run.end("FAILED", {"error_code": "INTERNAL_ERROR", "message": str(exc)})
            return
        _execute(statements, url, row.key, body, run, arguments)

    statements.pool.submit(work)
    if not run.done.wait(wait) and body.on_wait_timeout == "CANCEL":
        _cancel(run)
    return _answer(run)


def _cancel(run: Statement) -> None:
    session = run.session
    run.end("CANCELED")
    if session is not None:
        with contextlib.suppress(Exception):
            session.interruptAll()


@router.get("/{statement_id}")
def get(request: Request, statement_id: str) -> dict[str, Any]:
    """A statement's state, and its manifest and first chunk once it succeeded."""
    return _answer(_statements(request).get(statement_id))


@router.get("/{statement_id}/result/chunks/{chunk_index}")
def chunk(request: Request, statement_id: str, chunk_index: int) -> dict[str, Any]:
    """One chunk of a statement's result."""
    run = _statements(request).get(statement_id)
    if run.state != "SUCCEEDED" or not 0 <= chunk_index < len(run.chunks):
        raise invalid(f"Statement {statement_id} has no result chunk {chunk_index}")
    return run.chunks[chunk_index]


@router.post("/{statement_id}/cancel")
def cancel(request: Request, statement_id: str) -> dict[str, Any]:
    """Cancel a running statement (an ended one stays as it ended)."""
    _cancel(_statements(request).get(statement_id))
    return {}
