"""databricks-sdk's SQL Warehouses and Statement Execution clients, unchanged, against a
real `podium serve`: statements read the tables jobs write, with parameters, inline JSON
and Arrow results, chunks, polling and cancel."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from databricks.sdk.errors import BadRequest, NotFound
from databricks.sdk.service import jobs, sql

from tests.conftest import ENDLESS_SQL
from tests.server.conftest import PODIUM, Server, env_for


@pytest.fixture(scope="module")
def warehouse(server: Server) -> Iterator[str]:
    """A running warehouse for the module; deleted afterwards (it outlives the server)."""
    w = server.sdk()
    made = w.warehouses.create(name=f"wh-{uuid.uuid4().hex[:6]}", cluster_size="2X-Small",
                               auto_stop_mins=10).result()
    yield made.id
    w.warehouses.delete(made.id)


def run(server: Server, warehouse: str, statement: str, **options) -> sql.StatementResponse:
    return server.sdk().statement_execution.execute_statement(
        statement=statement, warehouse_id=warehouse, wait_timeout="30s", **options)


def test_a_warehouse_is_listed_started_stopped_and_edited(server: Server,
                                                          warehouse: str) -> None:
    w = server.sdk()
    got = w.warehouses.get(warehouse)
    assert got.state == sql.State.RUNNING and got.auto_stop_mins == 10
    assert warehouse in {x.id for x in w.warehouses.list()}
    assert warehouse not in {c.cluster_id for c in w.clusters.list()}
    w.warehouses.edit(warehouse, name=got.name, auto_stop_mins=20)
    assert w.warehouses.get(warehouse).auto_stop_mins == 20
    with pytest.raises(BadRequest, match="auto_stop_mins"):
        w.warehouses.create(name="too-eager", auto_stop_mins=3)
    with pytest.raises(NotFound):
        w.warehouses.get("0123456789abcdef")


def test_statements_see_tables_with_parameters_json_and_arrow(server: Server,
                                                              warehouse: str) -> None:
    schema = f"sql_{uuid.uuid4().hex[:8]}"
    assert run(server, warehouse, f"CREATE SCHEMA main.{schema}").status.state == \
        sql.StatementState.SUCCEEDED
    made = run(server, warehouse, "CREATE TABLE trips AS SELECT id, id * 2.5 AS fare, "
               "CAST(id % 2 = 0 AS BOOLEAN) AS even, DATE'2026-12-01' AS day "
               "FROM range(25000)", catalog="main", schema=schema)
    assert made.status.state == sql.StatementState.SUCCEEDED, made.status.error

    small = run(server, warehouse, "SELECT id, fare, even, day FROM trips WHERE id < :n "
                "ORDER BY id", catalog="main", schema=schema,
                parameters=[sql.StatementParameterListItem(name="n", value="3", type="INT")])
    assert small.status.state == sql.StatementState.SUCCEEDED, small.status.error
    assert [(c.name, c.type_name.value, c.type_text) for c in small.manifest.schema.columns] \
        == [("id", "LONG", "BIGINT"), ("fare", "DECIMAL", "DECIMAL(23,1)"),
            ("even", "BOOLEAN", "BOOLEAN"), ("day", "DATE", "DATE")]
    assert small.result.data_array == [["0", "0.0", "true", "2026-12-01"],
                                       ["1", "2.5", "false", "2026-12-01"],
                                       ["2", "5.0", "true", "2026-12-01"]]

    # databricks-sdk's ResultData has no `attachment` yet: the Arrow stream, read raw
    arrow = server.post("/api/2.0/sql/statements", {
        "statement": f"SELECT id FROM main.{schema}.trips WHERE id < 4",
        "warehouse_id": warehouse, "format": "ARROW_STREAM", "wait_timeout": "30s"}).json()
    table = pa.ipc.open_stream(base64.b64decode(arrow["result"]["attachment"])).read_all()
    assert sorted(table.column("id").to_pylist()) == [0, 1, 2, 3]

    limited = run(server, warehouse, f"SELECT * FROM main.{schema}.trips", row_limit=5)
    assert (limited.manifest.total_row_count, limited.manifest.truncated) == (5, True)

    everything = run(server, warehouse, f"SELECT id FROM main.{schema}.trips ORDER BY id")
    assert everything.manifest.total_chunk_count == 3
    w = server.sdk()
    rows = list(everything.result.data_array)
    index = everything.result.next_chunk_index
    while index is not None:
        chunk = w.statement_execution.get_statement_result_chunk_n(
            everything.statement_id, index)
        rows += chunk.data_array
        index = chunk.next_chunk_index
    assert [int(r[0]) for r in rows] == list(range(25000))
    run(server, warehouse, f"DROP SCHEMA main.{schema} CASCADE")


def test_errors_polling_and_cancel(server: Server, warehouse: str) -> None:
    w = server.sdk()
    failed = run(server, warehouse, "SELECT * FROM no_such_table")
    assert failed.status.state == sql.StatementState.FAILED
    assert "TABLE_OR_VIEW_NOT_FOUND" in failed.status.error.message

    slow = ENDLESS_SQL
    started = w.statement_execution.execute_statement(statement=slow, warehouse_id=warehouse,
                                                      wait_timeout="0s")
    assert started.status.state in (sql.StatementState.PENDING, sql.StatementState.RUNNING)
    w.statement_execution.cancel_execution(started.statement_id)
    assert w.statement_execution.get_statement(started.statement_id).status.state == \
        sql.StatementState.CANCELED

    gave_up = w.statement_execution.execute_statement(
        statement=slow, warehouse_id=warehouse, wait_timeout="5s",
        on_wait_timeout=sql.ExecuteStatementRequestOnWaitTimeout.CANCEL)
    assert gave_up.status.state == sql.StatementState.CANCELED
    quick = w.statement_execution.execute_statement(statement="SELECT 1 AS one",
                                                    warehouse_id=warehouse, wait_timeout="0s")
    while (state := w.statement_execution.get_statement(quick.statement_id)).status.state \
            not in (sql.StatementState.SUCCEEDED, sql.StatementState.FAILED):
        time.sleep(0.05)
    assert state.result.data_array == [["1"]]
    with pytest.raises(BadRequest, match="wait_timeout"):
        w.statement_execution.execute_statement(statement="SELECT 1", warehouse_id=warehouse,
                                                wait_timeout="3s")
    with pytest.raises(NotFound):
        w.statement_execution.execute_statement(statement="SELECT 1",
                                                warehouse_id="0123456789abcdef")
    with pytest.raises(NotFound):
        w.statement_execution.get_statement("nope")


def test_a_sql_task_naming_the_warehouse_runs_on_it(server: Server, warehouse: str,
                                                    tmp_path: Path) -> None:
    w = server.sdk()
    schema = f"job_{uuid.uuid4().hex[:8]}"
    (tmp_path / "make.sql").write_text(
        f"CREATE SCHEMA main.{schema};\n"
        f"CREATE TABLE main.{schema}.made AS SELECT 7 AS n;\n")
    job = w.jobs.create(name="on-the-warehouse",
                        tasks=[jobs.Task(task_key="make", sql_task=jobs.SqlTask(
                            warehouse_id=warehouse,
                            file=jobs.SqlTaskFile(path=str(tmp_path / "make.sql"))))])
    done = w.jobs.run_now(job_id=job.job_id).result()
    assert done.state.result_state == jobs.RunResultState.SUCCESS, \
        w.jobs.get_run_output(done.tasks[0].run_id).error
    assert done.tasks[0].cluster_instance.cluster_id == warehouse
    read = run(server, warehouse, f"SELECT n FROM main.{schema}.made")
    assert read.result.data_array == [["7"]]
    run(server, warehouse, f"DROP SCHEMA main.{schema} CASCADE")


def test_a_bundle_looks_the_warehouse_up_by_name(server: Server, warehouse: str,
                                                 tmp_path: Path) -> None:
    name = server.sdk().warehouses.get(warehouse).name
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: lookup}\n"
        f"variables:\n  wh: {{lookup: {{warehouse: {name}}}}}\n")
    done = subprocess.run([*PODIUM, "validate", str(tmp_path), "--json"], text=True,
                          capture_output=True, env=env_for(server.home), timeout=120)
    assert json.loads(done.stdout)["variables"] == {"wh": warehouse}, done.stderr
