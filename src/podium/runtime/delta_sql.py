"""`DeltaTable` for task code on Spark Connect clusters, carried out as Delta SQL.

Delta's Python client sends its own Connect messages, which only a server with the Delta
Connect plugin understands (`io.delta:delta-connect-server_*`, not served by every Maven
mirror). Every Connect server podium starts has Delta's SQL extension, so here the same
calls become `MERGE INTO`, `UPDATE`, `DELETE`, `DESCRIBE HISTORY`, `OPTIMIZE`, `VACUUM`
and `RESTORE` statements. Conditions and values are SQL strings, or `F.col`, `F.lit` and
`F.expr` columns; other column expressions raise a TypeError that says so.
"""

from __future__ import annotations

import uuid
from typing import Any

NOT_SQL = ("on a Spark Connect cluster podium runs DeltaTable calls as Delta SQL: give "
           "conditions and values as SQL strings, F.col(...), F.lit(...) or F.expr(...)")


def sql_text(value: Any) -> str:
    """A condition or value as SQL text."""
    if isinstance(value, str):
        return value
    expr = getattr(value, "_expr", None)
    kind = type(expr).__name__
    if kind == "ColumnReference":
        return str(expr._unparsed_identifier)
    if kind == "SQLExpression":
        return str(expr._expr)
    if kind == "LiteralExpression":
        literal = expr._value
        if literal is None:
            return "NULL"
        if isinstance(literal, str):
            return "'" + literal.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return str(literal)
    raise TypeError(f"{NOT_SQL} (got {value!r})")


def _assignments(values: dict[str, Any]) -> str:
    return ", ".join(f"{column} = {sql_text(v)}" for column, v in values.items())


class DeltaTable:
    """A Delta table named by catalog name or path, on a Spark Connect session."""

    def __init__(self, spark: Any, ident: str, reader: Any, alias: str | None = None):
        self._spark, self._ident, self._reader, self._alias = spark, ident, reader, alias

    @classmethod
    def forName(cls, sparkSession: Any, tableOrViewName: str) -> DeltaTable:
        """The table with this catalog name."""
        return cls(sparkSession, tableOrViewName, lambda: sparkSession.table(tableOrViewName))

    @classmethod
    def forPath(cls, sparkSession: Any, path: str,
                hadoopConf: dict[str, str] | None = None) -> DeltaTable:
        """The table stored at `path`."""
        return cls(sparkSession, f"delta.`{path}`",
                   lambda: sparkSession.read.format("delta").load(path))

    @classmethod
    def isDeltaTable(cls, sparkSession: Any, identifier: str) -> bool:
        """Whether `identifier` (a path) holds a Delta table."""
        try:
            detail = sparkSession.sql(f"DESCRIBE DETAIL delta.`{identifier}`").first()
        except Exception:
            return False
        return detail is not None and detail.format == "delta"

    def _sql(self, statement: str) -> Any:
        return self._spark.sql(statement)

    def toDF(self) -> Any:
        """The table's current rows."""
        frame = self._reader()
        return frame.alias(self._alias) if self._alias else frame

    def alias(self, aliasName: str) -> DeltaTable:
        """The same table under an alias for conditions."""
        return DeltaTable(self._spark, self._ident, self._reader, aliasName)

    def _target(self) -> str:
        return f"{self._ident} AS {self._alias}" if self._alias else self._ident

    def delete(self, condition: Any = None) -> Any:
        """`DELETE FROM` the table, all rows or those matching `condition`."""
        where = f" WHERE {sql_text(condition)}" if condition is not None else ""
        return self._sql(f"DELETE FROM {self._target()}{where}")

    def update(self, condition: Any = None, set: dict[str, Any] | None = None) -> Any:
        """`UPDATE` the rows matching `condition` with the `set` assignments."""
        if not set:
            raise ValueError("DeltaTable.update needs `set`, a dict of column -> value")
        where = f" WHERE {sql_text(condition)}" if condition is not None else ""
        return self._sql(f"UPDATE {self._target()} SET {_assignments(set)}{where}")

    def merge(self, source: Any, condition: Any) -> DeltaMergeBuilder:
        """Start a `MERGE INTO` this table from a DataFrame."""
        return DeltaMergeBuilder(self, source, sql_text(condition))

    def history(self, limit: int | None = None) -> Any:
        """`DESCRIBE HISTORY`: the table's commits, newest first."""
        return self._sql(f"DESCRIBE HISTORY {self._ident}" + (f" LIMIT {int(limit)}"
                                                              if limit else ""))

    def detail(self) -> Any:
        """`DESCRIBE DETAIL`: format, location, size, files."""
        return self._sql(f"DESCRIBE DETAIL {self._ident}")

    def vacuum(self, retentionHours: float | None = None) -> Any:
        """`VACUUM` files no version needs any more."""
        retain = f" RETAIN {retentionHours} HOURS" if retentionHours is not None else ""
        return self._sql(f"VACUUM {self._ident}{retain}")

    def optimize(self) -> DeltaOptimizeBuilder:
        """Start an `OPTIMIZE` of the table."""
        return DeltaOptimizeBuilder(self)

    def restoreToVersion(self, version: int) -> Any:
        """`RESTORE` the table to an earlier version."""
        return self._sql(f"RESTORE TABLE {self._ident} TO VERSION AS OF {int(version)}")

    def restoreToTimestamp(self, timestamp: str) -> Any:
        """`RESTORE` the table to its state at a time."""
        return self._sql(f"RESTORE TABLE {self._ident} TO TIMESTAMP AS OF '{timestamp}'")

    def generate(self, mode: str) -> None:
        """`GENERATE` a manifest (e.g. `symlink_format_manifest`)."""
        self._sql(f"GENERATE {mode} FOR TABLE {self._ident}")


class DeltaMergeBuilder:
    """The clauses of one `MERGE INTO`, run by `execute`."""

    def __init__(self, table: DeltaTable, source: Any, condition: str):
        self._table, self._source, self._condition = table, source, condition
        self._clauses: list[str] = []
        self._evolve = False

    def _when(self, head: str, condition: Any, action: str) -> DeltaMergeBuilder:
        extra = f" AND {sql_text(condition)}" if condition is not None else ""
        self._clauses.append(f"WHEN {head}{extra} THEN {action}")
        return self

    def whenMatchedUpdate(self, condition: Any = None,
                          set: dict[str, Any] | None = None) -> DeltaMergeBuilder:
        return self._when("MATCHED", condition, f"UPDATE SET {_assignments(set or {})}")

    def whenMatchedUpdateAll(self, condition: Any = None) -> DeltaMergeBuilder:
        return self._when("MATCHED", condition, "UPDATE SET *")

    def whenMatchedDelete(self, condition: Any = None) -> DeltaMergeBuilder:
        return self._when("MATCHED", condition, "DELETE")

    def whenNotMatchedInsert(self, condition: Any = None,
                             values: dict[str, Any] | None = None) -> DeltaMergeBuilder:
        values = values or {}
        return self._when("NOT MATCHED", condition,
                          f"INSERT ({', '.join(values)}) VALUES "
                          f"({', '.join(sql_text(v) for v in values.values())})")

    def whenNotMatchedInsertAll(self, condition: Any = None) -> DeltaMergeBuilder:
        return self._when("NOT MATCHED", condition, "INSERT *")

    def whenNotMatchedBySourceUpdate(self, condition: Any = None,
                                     set: dict[str, Any] | None = None
                                     ) -> DeltaMergeBuilder:
        return self._when("NOT MATCHED BY SOURCE", condition,
                          f"UPDATE SET {_assignments(set or {})}")

    def whenNotMatchedBySourceDelete(self, condition: Any = None
                                     ) -> DeltaMergeBuilder:
        return self._when("NOT MATCHED BY SOURCE", condition, "DELETE")

    def withSchemaEvolution(self) -> DeltaMergeBuilder:
        self._evolve = True
        return self

    def execute(self) -> Any:
        """Run the `MERGE INTO`; the source is a temporary view for the statement."""
        plan = getattr(self._source, "_plan", None)
        alias = getattr(plan, "_alias", None) if type(plan).__name__ == "SubqueryAlias" \
            else None
        view = f"podium_merge_source_{uuid.uuid4().hex[:12]}"
        self._source.createOrReplaceTempView(view)
        spark = self._table._spark
        try:
            evolve = " WITH SCHEMA EVOLUTION" if self._evolve else ""
            return spark.sql(
                f"MERGE{evolve} INTO {self._table._target()} USING {view}"
                f"{f' AS {alias}' if alias else ''} ON {self._condition} "
                + " ".join(self._clauses))
        finally:
            spark.catalog.dropTempView(view)


class DeltaOptimizeBuilder:
    """`OPTIMIZE`, optionally of some partitions, as compaction or Z-order."""

    def __init__(self, table: DeltaTable):
        self._table = table
        self._where = ""

    def where(self, partitionFilter: str) -> DeltaOptimizeBuilder:
        self._where = f" WHERE {partitionFilter}"
        return self

    def executeCompaction(self) -> Any:
        return self._table._sql(f"OPTIMIZE {self._table._ident}{self._where}")

    def executeZOrderBy(self, *cols: Any) -> Any:
        names = [c for col in cols for c in ([col] if isinstance(col, str) else col)]
        return self._table._sql(f"OPTIMIZE {self._table._ident}{self._where} "
                                f"ZORDER BY ({', '.join(names)})")


def install() -> None:
    """Make `delta.tables.DeltaTable` on a Spark Connect session use these classes."""
    try:
        import delta.connect.tables as remote
    except ImportError:  # delta-spark not installed: nothing to stand in for
        return
    remote.DeltaTable = DeltaTable  # type: ignore[misc, assignment]
