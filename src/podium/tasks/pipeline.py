"""`pipeline_task`: the bundle's pipeline (`resources.pipelines.<key>`) run on Spark
Declarative Pipelines, the engine in pyspark 4.1+, on the task's cluster.

As `spark-pipelines run` does, but in the task's thread and on the job's compute: a
dataflow graph with the pipeline's `catalog`, `schema` and `configuration`; its `libraries`
(`glob.include`, `file.path`, `notebook.path`) loaded — Python files run with `spark` set
(`from pyspark import pipelines as dp`, and `import dlt` through `runtime/dlt.py`), SQL
files registered — then one update, whose events go to the task's log. `full_refresh`
recomputes every dataset. SDP talks Spark Connect: a classic cluster's driver serves it.
Checkpoints live under `$PODIUM_HOME/pipelines/<key>`.

A `sql_task`'s `CREATE STREAMING TABLE` or `CREATE MATERIALIZED VIEW` statement is a
pipeline of one dataset (`execute_statement`), as Databricks SQL makes one.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from podium import defaults
from podium.runtime.context import TaskContext
from podium.runtime.output import append_to
from podium.spec.models import Task

SOURCE_SUFFIXES = (".py", ".sql")
NAME = r"(?:`[^`]+`|[\w-]+)"
DATASET = re.compile(r"(?is)\s*(?:(?:/\*.*?\*/|--[^\n]*\n)\s*)*CREATE\s+"
                     r"(?:OR\s+(?:REFRESH|REPLACE)\s+)?(STREAMING\s+TABLE|MATERIALIZED\s+VIEW)"
                     rf"\s+(?:IF\s+NOT\s+EXISTS\s+)?({NAME}(?:\.{NAME}){{0,2}})")
# Beside a dataset's files, what kind it is: its table carries no such mark, and tools
# (dbt-databricks) ask `information_schema.tables` whether it is a streaming table.
KIND_FILE = "_podium_dataset"
# SDP's event messages: "Flow main.s.t is RUNNING.", "Run is COMPLETED."
FLOW_EVENT = re.compile(r"Flow [`']?(?P<flow>[^\s`']+)[`']? (?:is|has) (?P<state>[A-Z_]+)\b")
RUN_EVENT = re.compile(r"Run (?:is|has) (?P<state>[A-Z_]+)\b")
REFRESH = re.compile(r"(?is)\s*(?:/\*.*?\*/\s*)*REFRESH\s+(?:STREAMING\s+TABLE|MATERIALIZED\s+VIEW)"
                     rf"\s+({NAME}(?:\.{NAME}){{0,2}})(\s+FULL)?\s*$")


class PipelineTaskError(RuntimeError):
    """The pipeline is not in the bundle, or a source of it cannot be loaded."""


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """One update of the pipeline; a failed flow fails the task with SDP's message."""
    spec = task.pipeline_task
    pipeline = spec.podium_pipeline
    if pipeline is None:
        raise PipelineTaskError(f"task '{task.task_key}': pipeline '{spec.pipeline_id}' is not "
                                "defined in this bundle (resources.pipelines)")
    events = defaults.pipeline_events_path(ctx.log_path)
    _on_connect(ctx, lambda spark: run(spark, pipeline, full_refresh=spec.full_refresh,
                                       events=events))
    return None


def event_of(message: str, when: Any) -> dict[str, Any]:
    """An SDP event message as Databricks' pipeline event fields: `event_type`
    (`flow_progress`, `update_progress` or `log`), `level`, the flow's name and state."""
    flow, update = FLOW_EVENT.search(message), RUN_EVENT.search(message)
    state = (flow or update).group("state") if (flow or update) else None
    return {"timestamp": when.isoformat().replace("+00:00", "Z"), "message": message,
            "level": "ERROR" if state == "FAILED" or message.startswith("Failed") else "INFO",
            "event_type": "flow_progress" if flow else "update_progress" if update else "log",
            "flow_name": flow.group("flow") if flow else None, "state": state}


def dataset_of(statement: str) -> str | None:
    """The name a `CREATE ... STREAMING TABLE`/`MATERIALIZED VIEW` statement defines, or a
    `REFRESH ...` statement refreshes, as written; None for any other statement."""
    found = DATASET.match(statement)
    if found:
        return found.group(2)
    found = REFRESH.match(statement)
    return found.group(1) if found else None


def execute_statement(ctx: TaskContext, statement: str, catalog: str, schema: str) -> None:
    """A streaming table or materialized view defined outside a pipeline, as Databricks
    SQL runs one: a pipeline of its own, kept under the dataset's full name, so that a
    streaming table reads only what is new the next time; `REFRESH ... [FULL]` runs the
    kept definition again."""
    refresh = REFRESH.match(statement)
    name = dataset_of(statement) or ""
    parts = [p.strip("`") for p in re.findall(r"`[^`]+`|[^.]+", name)]
    full = ".".join([catalog, schema, *parts][-3:])
    storage = defaults.home() / "pipelines" / f"sql-{full}"
    definition = storage / "definition.sql"
    if refresh and not definition.is_file():
        raise PipelineTaskError(f"REFRESH {full}: no SQL task here has created a streaming "
                                "table or materialized view of that name; run its CREATE first")
    if not refresh:
        storage.mkdir(parents=True, exist_ok=True)
        definition.write_text(statement + "\n", encoding="utf-8")
    pipeline = {"name": full, "key": f"sql-{full}", "catalog": catalog, "schema": schema,
                "sources": [{"kind": "file", "path": str(definition)}],
                "root_path": str(storage)}
    full_refresh = bool(refresh and refresh.group(2))
    _on_connect(ctx, lambda spark: run(spark, pipeline, full_refresh=full_refresh))


def stored_query(full: str) -> str | None:
    """The query of the streaming table or materialized view `catalog.schema.name` a SQL
    statement defined (the text after its top-level AS), if one did."""
    try:
        text = (defaults.home() / "pipelines" / f"sql-{full}" / "definition.sql").read_text()
    except OSError:
        return None
    found = DATASET.search(text)
    depth, quote, i = 0, "", found.end() if found else 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and re.match(r"(?i)AS\b", text[i:i + 3]) and \
                not text[i - 1:i].isalnum():
            return text[i + 2:].strip().rstrip(";").strip()
        i += 1
    return None


def _on_connect(ctx: TaskContext, work: Any) -> None:
    """`work(spark)` on a Connect session to the task's cluster, tagged with the task's tag;
    the session's operations are interrupted if `work` fails or the task is stopped."""
    cluster = ctx.sessions
    if cluster is None or not hasattr(cluster, "connect_session"):
        raise PipelineTaskError(f"task '{ctx.task_key}' needs a Spark cluster")
    spark = cluster.connect_session(ctx.tag)
    stopped = False
    try:
        work(spark)
    except BaseException:  # a failure, or the task's cancel or timeout: stop the update too
        stopped = True
        with contextlib.suppress(Exception):
            spark.interruptAll()
        raise
    finally:
        cluster.release_connect(ctx.tag, spark, stopped=stopped)


def run(spark: Any, pipeline: dict[str, Any], full_refresh: bool = False,
        events: Path | None = None) -> None:
    """Create the pipeline's graph, load its sources and run one update on `spark`: all of
    it, or the pipeline's `refresh_selection` / `full_refresh_selection`, or only a check
    of the graph (`validate_only`); its events printed and, given `events`, kept there."""
    from pyspark.pipelines.spark_connect_graph_element_registry import (
        SparkConnectGraphElementRegistry,
    )
    from pyspark.pipelines.spark_connect_pipeline import create_dataflow_graph, start_run

    catalog, schema = pipeline.get("catalog"), pipeline.get("schema") or "default"
    configuration = pipeline.get("configuration") or {}
    for name, value in configuration.items():  # what the sources read with spark.conf.get
        spark.conf.set(name, value)
    if catalog:  # a catalog that does not exist is CATALOG_NOT_FOUND, as in a notebook
        spark.sql(f"USE CATALOG `{catalog}`")
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {_qualified(catalog, schema)}")
    sources = files(pipeline)
    refresh = list(pipeline.get("refresh_selection") or [])
    full = list(pipeline.get("full_refresh_selection") or [])
    dry = bool(pipeline.get("validate_only"))
    print(f"Pipeline '{pipeline['name']}': {len(sources)} source files, target "
          f"{_qualified(catalog, schema)}" + (", full refresh" if full_refresh else "")
          + (f", refresh {', '.join(refresh)}" if refresh else "")
          + (f", full refresh of {', '.join(full)}" if full else "")
          + (", validate only" if dry else ""))
    graph = create_dataflow_graph(spark, default_catalog=catalog, default_database=schema,
                                  sql_conf=configuration)
    registry = databricks_registry(SparkConnectGraphElementRegistry)(spark, graph)
    register(spark, graph, registry, sources,
             Path(pipeline.get("root_path") or _common_root(sources)))
    registry.flush()
    storage = defaults.home() / "pipelines" / pipeline["key"]
    storage.mkdir(parents=True, exist_ok=True)
    stream = start_run(spark, graph, full_refresh=full, full_refresh_all=full_refresh,
                       refresh=refresh, dry=dry, storage=storage.as_uri())
    _follow(stream, events)
    if not dry:
        kinds = {**registry.kinds, **{name: kind for path in sources if path.suffix == ".sql"
                                      for name, kind in sql_datasets(_sql_of(path))}}
        mark_kinds(spark, kinds, catalog, schema)


def sql_datasets(text: str) -> list[tuple[str, str]]:
    """The streaming tables and materialized views a SQL source defines: (name, kind)."""
    from podium.runtime.notebooks import split_sql

    found = [DATASET.match(statement) for statement in split_sql(text)]
    return [(m.group(2), re.sub(r"\s+", "_", m.group(1).upper())) for m in found if m]


def mark_kinds(spark: Any, kinds: dict[str, str], catalog: str | None, schema: str) -> None:
    """Leave each dataset's kind (`STREAMING_TABLE`, `MATERIALIZED_VIEW`) beside its files,
    where `information_schema.tables` reads it."""
    from urllib.parse import urlparse

    for name, kind in kinds.items():
        parts = [p.strip("`") for p in re.findall(r"`[^`]+`|[^.]+", name)]
        full = ".".join(f"`{p}`" for p in [*([catalog] if catalog else []), schema, *parts][-3:])
        with contextlib.suppress(Exception):  # not a Delta table: nothing to say about it
            # DESCRIBE EXTENDED, not DETAIL: DETAIL sizes the table's files (a Spark job,
            # seconds on a fresh table), where only the location is wanted
            where = urlparse(next(r.data_type for r in spark.sql(
                f"DESCRIBE TABLE EXTENDED {full}").collect() if r.col_name == "Location"))
            mark = Path(where.path) / KIND_FILE
            if where.scheme in ("", "file") and mark.parent.is_dir() and \
                    (not mark.exists() or mark.read_text() != kind):
                mark.write_text(kind)


def _follow(stream: Any, events: Path | None) -> None:
    """Print each event of the update as SDP's own client does, and keep it as JSON."""
    import json
    from datetime import timezone

    out = append_to(events) if events is not None else None
    try:
        for result in stream:
            if "pipeline_event_result" not in result:
                continue  # the answer to StartRun itself
            event = result["pipeline_event_result"].event
            when = event.timestamp.ToDatetime().replace(tzinfo=timezone.utc)
            print(f"{when:%Y-%m-%d %H:%M:%S}: {event.message}")
            if out is not None:
                out.write(json.dumps(event_of(event.message, when)) + "\n")
                out.flush()
    finally:
        if out is not None:
            out.close()


def databricks_registry(base: type[Any]) -> type[Any]:
    """SDP's registry with Databricks' meaning of `@dp.table`/`@dlt.table`: a table whose
    query is a batch read becomes a materialized view (open-source SDP makes every such
    table a streaming table and rejects a batch query for it)."""
    from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context
    from pyspark.pipelines.flow import Flow
    from pyspark.pipelines.output import MaterializedView, StreamingTable

    class DatabricksRegistry(base):  # type: ignore[misc, valid-type]
        pending: dict[str, Any]
        kinds: dict[str, str]  # what each dataset registered is, for `mark_kinds`

        def register_output(self, output: Any) -> None:
            if type(output) is StreamingTable:  # sent once its query shows what it is
                self.pending = getattr(self, "pending", {})
                self.pending[output.name] = output
                return
            self._kind(output)
            super().register_output(output)

        def _kind(self, output: Any) -> None:
            self.kinds = getattr(self, "kinds", {})
            if isinstance(output, MaterializedView):
                self.kinds[output.name] = "MATERIALIZED_VIEW"
            elif isinstance(output, StreamingTable):
                self.kinds[output.name] = "STREAMING_TABLE"

        def register_flow(self, flow: Any) -> None:
            output = getattr(self, "pending", {}).pop(flow.target, None)
            if output is None:
                super().register_flow(flow)
                return
            with add_pipeline_analysis_context(spark=self._spark, flow_name=flow.name,
                                               dataflow_graph_id=self._dataflow_graph_id):
                frame = flow.func()
            if not streams(frame._plan.plan(self._client)):
                output = MaterializedView(**vars(output))
            self._kind(output)
            super().register_output(output)
            super().register_flow(Flow(name=flow.name, target=flow.target,
                                       spark_conf=flow.spark_conf,
                                       source_code_location=flow.source_code_location,
                                       func=lambda: frame))

        def flush(self) -> None:
            """Send the streaming tables no query of this pipeline has defined yet."""
            for output in getattr(self, "pending", {}).values():
                self._kind(output)
                super().register_output(output)
            self.pending = {}
            self.kinds = getattr(self, "kinds", {})

    return DatabricksRegistry


def streams(message: Any) -> bool:
    """Whether a Spark Connect plan reads a stream anywhere (decided from the plan as
    written: a pipeline's datasets do not exist yet, so it cannot be analyzed)."""
    for descriptor, value in message.ListFields():
        if descriptor.name == "is_streaming" and value is True:
            return True
        if descriptor.type != descriptor.TYPE_MESSAGE:
            continue
        items = [value] if hasattr(value, "ListFields") else value  # one, or repeated
        if any(streams(item) for item in items if hasattr(item, "ListFields")):
            return True
    return False


def files(pipeline: dict[str, Any]) -> list[Path]:
    """The pipeline's source files, in the order its `libraries` list them."""
    found: list[Path] = []
    for source in pipeline.get("sources", []):
        path = source["path"]
        if source["kind"] == "glob":
            pattern = path + "/*" if path.endswith("/**") else path
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            found += [p for p in matches if p.is_file() and p.suffix in SOURCE_SUFFIXES
                      and "__pycache__" not in p.parts]
        else:
            candidates = [Path(path), *(Path(path + s) for s in SOURCE_SUFFIXES)]
            match = next((c for c in candidates if c.is_file()), None)
            if match is None:
                raise PipelineTaskError(f"pipeline '{pipeline['name']}': {source['kind']} "
                                        f"'{path}' not found")
            found.append(match)
    return list(dict.fromkeys(found))


def register(spark: Any, graph: str, registry: Any, sources: list[Path], root: Path) -> None:
    """Load each source into the graph: Python files run with `spark` (and `dlt`) set,
    SQL files registered as they are."""
    from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context
    from pyspark.pipelines.block_session_mutations import block_session_mutations
    from pyspark.pipelines.graph_element_registry import graph_element_registration_context

    from podium.runtime import dlt

    before = sys.modules.get("dlt")
    dlt.spark = spark
    sys.modules["dlt"] = dlt
    try:
        with graph_element_registration_context(registry):
            for path in sources:
                if path.suffix == ".sql":
                    registry.register_sql(_sql_of(path), _relative(path, root))
                    continue
                module_spec = importlib.util.spec_from_file_location(path.stem, str(path))
                if module_spec is None or module_spec.loader is None:
                    raise PipelineTaskError(f"cannot load pipeline source {path}")
                module = importlib.util.module_from_spec(module_spec)
                module.__dict__["spark"] = spark
                with add_pipeline_analysis_context(spark=spark, dataflow_graph_id=graph,
                                                   flow_name=None), block_session_mutations():
                    module_spec.loader.exec_module(module)
    finally:
        dlt.spark = None  # keeps no session alive past its task (its flows are registered)
        if before is None:
            sys.modules.pop("dlt", None)
        else:
            sys.modules["dlt"] = before


def _sql_of(path: Path) -> str:
    """A SQL source's statements (a SQL notebook's cell markers are comments already)."""
    return path.read_text(encoding="utf-8")


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return Path(path.name)


def _common_root(sources: list[Path]) -> Path:
    return Path(os.path.commonpath([str(p.parent) for p in sources])) if sources else Path()


def _qualified(catalog: str | None, schema: str) -> str:
    return f"`{catalog}`.`{schema}`" if catalog else f"`{schema}`"
