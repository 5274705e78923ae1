"""databricks-sql-connector's client API (`databricks.sql.connect`) over a task's Spark
session, so dbt-databricks runs a project's SQL on the task's own cluster, unchanged.

On Databricks, dbt-databricks sends SQL to a SQL warehouse (or a cluster) through the
connector. A `dbt_task` here installs this module as the connector's `connect` in the
task's process: each statement runs in the task's session, and a streaming table or
materialized view statement runs as a pipeline of its own, as the SQL task runs one
(`tasks/pipeline.py`). What dbt reads back — rows, their column names, the catalogs,
schemas and tables a cursor lists — comes as the connector gives it.
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.tasks import pipeline

DESCRIBE_EXTENDED = re.compile(r"(?is)^(?:/\*.*?\*/\s*)?DESCRIBE\s+(?:TABLE\s+)?EXTENDED\s+"
                               r"[^\s]+\s*$")
# What `SET spark.databricks.clusterUsageTags.sparkVersion` answers: the Databricks
# Runtime of the Spark podium runs (DBR 17 is Spark 4), for dbt's version checks.
RUNTIME_VERSION = "17.3.x-scala2.13"


def install(ctx: TaskContext) -> None:
    """Make `databricks.sql.connect` open connections on `ctx`'s Spark session."""
    import databricks.sql as dbsql

    dbsql.connect = lambda *args, **kwargs: Connection(ctx)  # type: ignore[assignment]


class Connection:
    """A connector connection: cursors over the task's one session."""

    def __init__(self, ctx: TaskContext):
        self.ctx = ctx
        self.spark = ctx.start_spark()
        self.session_id = uuid.uuid4()
        self.open = True

    def cursor(self, *args: Any, **kwargs: Any) -> Cursor:
        """A new cursor."""
        return Cursor(self)

    def get_session_id_hex(self) -> str:
        """The session's id, as the connector logs it."""
        return self.session_id.hex

    def close(self) -> None:
        """Nothing to free: the session is the task's."""
        self.open = False

    def commit(self) -> None:
        """Statements commit as they run."""

    def rollback(self) -> None:
        """Nothing to roll back (the connector has no transactions either)."""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Cursor:
    """A connector cursor: runs a statement, then hands out its rows."""

    arraysize = 10000

    def __init__(self, connection: Connection):
        self.connection = connection
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.query_id: str | None = None
        self._rows: list[Any] = []
        self._next = 0

    # statements

    def execute(self, operation: str, parameters: Any = None, **kwargs: Any) -> Cursor:
        """Run one statement in the task's session."""
        spark = self.connection.spark
        statement = _bound(operation, parameters).strip().rstrip(";")
        self.query_id = uuid.uuid4().hex
        if statement.upper().startswith("SET SPARK.DATABRICKS.CLUSTERUSAGETAGS.SPARKVERSION"):
            return self._answer(["key", "value"], [(statement.split()[1], RUNTIME_VERSION)])
        if pipeline.dataset_of(statement) is not None:
            pipeline.execute_statement(self.connection.ctx, statement,
                                       spark.catalog.currentCatalog(),
                                       spark.catalog.currentDatabase())
            return self._answer([], [])
        frame = spark.sql(statement)
        rows = frame.collect()
        if DESCRIBE_EXTENDED.match(statement):
            rows += _refresh_rows(rows)
        return self._answer(list(frame.columns), rows,
                            [f.dataType.simpleString() for f in frame.schema.fields])

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> Cursor:
        """Run one statement for each set of parameters."""
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
        return self

    # metadata, as the connector's Thrift calls give it

    def catalogs(self) -> Cursor:
        """Every catalog."""
        names = [r[0] for r in self.connection.spark.sql("SHOW CATALOGS").collect()]
        return self._answer(["TABLE_CAT"], [(n,) for n in names])

    def schemas(self, catalog_name: str | None = None, schema_name: str | None = None
                ) -> Cursor:
        """Schemas of a catalog (`schema_name` a LIKE pattern)."""
        query = "SELECT schema_name, catalog_name FROM system.information_schema.schemata"
        where = _filters(catalog_name=catalog_name, schema_name=schema_name)
        rows = self.connection.spark.sql(query + where).collect()
        return self._answer(["TABLE_SCHEM", "TABLE_CATALOG"], [tuple(r) for r in rows])

    def tables(self, catalog_name: str | None = None, schema_name: str | None = None,
               table_name: str | None = None, table_types: list[str] | None = None
               ) -> Cursor:
        """Tables (and views) of a schema, with their types."""
        query = ("SELECT table_catalog, table_schema, table_name, table_type, comment "
                 "FROM system.information_schema.tables")
        where = _filters(table_catalog=catalog_name, table_schema=schema_name,
                         table_name=table_name)
        rows = [(c, s, n, "VIEW" if t == "VIEW" else "TABLE", r) for c, s, n, t, r in
                self.connection.spark.sql(query + where).collect()]
        if table_types:
            rows = [r for r in rows if r[3] in table_types]
        return self._answer(["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE",
                             "REMARKS"], rows)

    def columns(self, catalog_name: str | None = None, schema_name: str | None = None,
                table_name: str | None = None, column_name: str | None = None) -> Cursor:
        """Columns of tables, in order."""
        query = ("SELECT table_catalog, table_schema, table_name, column_name, data_type, "
                 "full_data_type, ordinal_position, is_nullable, comment "
                 "FROM system.information_schema.columns")
        where = _filters(table_catalog=catalog_name, table_schema=schema_name,
                         table_name=table_name, column_name=column_name)
        rows = self.connection.spark.sql(query + where + " ORDER BY ordinal_position").collect()
        return self._answer(["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME",
                             "DATA_TYPE", "TYPE_NAME", "ORDINAL_POSITION", "IS_NULLABLE",
                             "REMARKS"], [tuple(r) for r in rows])

    # results

    def fetchone(self) -> Any:
        """The next row, or None."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` more rows."""
        size = size or self.arraysize
        rows = self._rows[self._next:self._next + size]
        self._next += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        """Every row left."""
        rows = self._rows[self._next:]
        self._next = len(self._rows)
        return rows

    def cancel(self) -> None:
        """Statements run to their end here; the task's cancel stops its Spark jobs."""

    def close(self) -> None:
        """Forget the rows."""
        self._rows, self._next = [], 0

    def __iter__(self) -> Any:
        return iter(self.fetchall())

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _answer(self, columns: list[str], rows: list[Any],
                types: list[str] | None = None) -> Cursor:
        from pyspark.sql import Row

        made = Row(*columns) if columns else None
        self._rows = [r if isinstance(r, Row) else made(*r) for r in rows] if made else []
        self._next = 0
        self.rowcount = len(self._rows)
        kinds = types or ["string"] * len(columns)
        self.description = [(c, k, None, None, None, None, None)
                            for c, k in zip(columns, kinds, strict=True)] or None
        return self


def _refresh_rows(rows: list[Any]) -> list[tuple[str, str, str]]:
    """What Databricks adds to DESCRIBE EXTENDED of a streaming table or materialized view
    and dbt-databricks reads back: its refresh schedule (podium's run when asked) and its
    query (for a materialized view, to see whether the model changed)."""
    from urllib.parse import urlparse

    info = {r[0]: r[1] for r in rows if r[0]}
    where = urlparse(info.get("Location") or "")
    try:
        kind = (Path(where.path) / pipeline.KIND_FILE).read_text().strip()
    except OSError:
        return []
    extra = [("Refresh Schedule", "MANUAL", "")]
    full = ".".join(str(info.get(k, "")) for k in ("Catalog", "Database", "Table"))
    query = pipeline.stored_query(full) if kind == "MATERIALIZED_VIEW" else None
    if query is not None:
        extra.append(("View Text", query, ""))
    return extra


def _literal(value: Any) -> str:
    """A Python value as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _bound(operation: str, parameters: Any) -> str:
    """`operation` with its parameters (`%s`, `%(name)s`, `:name`) filled in as literals,
    as the connector's inline parameters are."""
    if not parameters:
        return operation
    if isinstance(parameters, dict):
        text = operation
        for name, value in parameters.items():
            text = text.replace(f"%({name})s", _literal(value)).replace(f":{name}",
                                                                          _literal(value))
        return text
    parts = operation.split("%s")
    values = [_literal(v) for v in parameters]
    return "".join(p + (values[i] if i < len(values) else "") for i, p in enumerate(parts))


def _filters(**columns: str | None) -> str:
    """A WHERE clause: each given value compared with LIKE (`%` is the connector's)."""
    kept = [f"{name} LIKE {_literal(value)}" for name, value in columns.items()
            if value not in (None, "", "%", "*")]
    return (" WHERE " + " AND ".join(kept)) if kept else ""
