"""`sql_task`: a `.sql` file or inline query, statements split on `;`.

Parameters (the task's, then the job's, which win as on Databricks) reach a statement two
ways: `:name` markers, bound by Spark, and `{{name}}` (Databricks SQL's query parameters),
filled in as a string literal — or as the bare value inside a quoted identifier or string,
so `` USE CATALOG `{{catalog}}` ``, `USE IDENTIFIER({{schema}})` and `{{target}} = 'prod'`
all read as on Databricks. A `CREATE [OR REFRESH] STREAMING TABLE` or `CREATE [OR REPLACE]
MATERIALIZED VIEW` statement runs as a pipeline of its own (`pipeline.py`), as Databricks
SQL does, in the catalog and schema the statements before it chose; `REFRESH` runs it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.runtime.dbutils import display
from podium.runtime.notebooks import split_sql, sql_statement
from podium.spec.models import Task
from podium.spec.paths import find_file
from podium.tasks import pipeline

MUSTACHE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


class SqlParameterError(KeyError):
    """A `{{name}}` in a statement has no parameter of that name."""

    def __str__(self) -> str:
        return str(self.args[0])


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Run every statement in this task's session; the last result goes to the log."""
    spec = task.sql_task
    if spec.file is not None:  # a local or a workspace path
        text = (find_file(Path(spec.file.path)) or Path(spec.file.path)).read_text()
    else:
        text = spec.query.text
    spark = ctx.start_spark()
    params = {**{k: render(v) for k, v in spec.parameters.items()}, **ctx.params}

    def value_of(name: str) -> str:
        if name in params:
            return str(params[name])
        if "." in name:  # a dynamic value reference: {{job.id}}, {{job.parameters.x}}
            return str(render("{{" + name + "}}"))
        raise SqlParameterError(f"{{{{{name}}}}} has no value: add a job parameter or a task "
                                f"parameter named '{name}'")

    result = None
    for statement in split_sql(text):
        statement = fill(statement, value_of)
        if pipeline.dataset_of(statement) is not None:
            pipeline.execute_statement(ctx, statement, spark.catalog.currentCatalog(),
                                       spark.catalog.currentDatabase())
            result = None
        else:
            result = sql_statement(spark, statement, params)
    if result is not None and result.columns:
        display(result)
    return None


def fill(statement: str, value_of: Callable[[str], str]) -> str:
    """`statement` with each `{{name}}` replaced by its value, quoted for where it stands."""
    out: list[str] = []
    quote, i = "", 0
    while i < len(statement):
        found = MUSTACHE.match(statement, i) if statement.startswith("{{", i) else None
        if found:
            out.append(_quoted(value_of(found.group(1)), quote))
            i = found.end()
            continue
        ch = statement[i]
        if quote and ch == "\\" and quote != "`":  # an escaped character inside a string
            out.append(statement[i:i + 2])
            i += 2
            continue
        if quote and ch == quote:
            quote = ""
        elif not quote and ch in "'\"`":
            quote = ch
        out.append(ch)
        i += 1
    return "".join(out)


def _quoted(value: str, quote: str) -> str:
    if quote == "`":
        return value.replace("`", "``")
    escaped = value.replace("\\", "\\\\")
    if quote:
        return escaped.replace(quote, "\\" + quote)
    return "'" + escaped.replace("'", "\\'") + "'"
