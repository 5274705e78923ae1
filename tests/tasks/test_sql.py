"""`sql_task` reads parameters as Databricks does: `{{name}}` is a string literal in SQL
text and the bare value inside a quoted name or string; a streaming table or
materialized view statement is a pipeline of its own (run end to end by the default-sql
template's test, tests/cli/test_templates.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium.engine.states import Result
from podium.tasks import pipeline
from podium.tasks.sql import SqlParameterError, fill
from tests.conftest import CLUSTER

PARAMS = {"catalog": "main", "schema": "alice", "target": "dev", "quote": "it's"}


def value_of(name: str) -> str:
    if name not in PARAMS:
        raise SqlParameterError(f"{{{{{name}}}}} has no value")
    return PARAMS[name]


def test_a_parameter_is_a_literal_in_sql_and_bare_inside_quotes() -> None:
    assert fill("USE CATALOG `{{catalog}}`", value_of) == "USE CATALOG `main`"
    assert fill("USE IDENTIFIER({{ schema }})", value_of) == "USE IDENTIFIER('alice')"
    assert fill('WHERE if({{target}} = "prod", true, x)', value_of) == \
        "WHERE if('dev' = \"prod\", true, x)"
    assert fill("SELECT {{quote}}, '{{quote}} too'", value_of) == \
        "SELECT 'it\\'s', 'it\\'s too'"
    assert fill("SELECT '\\'{{catalog}}'", value_of) == "SELECT '\\'main'"


def test_a_parameter_without_a_value_is_named_in_the_error() -> None:
    with pytest.raises(SqlParameterError, match=r"\{\{region\}\} has no value"):
        fill("SELECT * FROM t WHERE region = {{region}}", value_of)


@given(st.text())
def test_any_value_comes_back_from_its_literal(value: str) -> None:
    literal = fill("{{v}}", lambda _name: value)
    assert literal[0] == literal[-1] == "'"
    unescaped = literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    assert unescaped == value


def test_streaming_tables_and_materialized_views_are_told_apart_from_other_statements(
) -> None:
    assert pipeline.dataset_of("CREATE OR REFRESH STREAMING TABLE\n  orders_raw AS ...") == \
        "orders_raw"
    assert pipeline.dataset_of("/* daily */ CREATE OR REPLACE MATERIALIZED VIEW "
                               "main.`my-schema`.daily AS SELECT 1") == "main.`my-schema`.daily"
    assert pipeline.dataset_of("CREATE MATERIALIZED VIEW IF NOT EXISTS v AS SELECT 1") == "v"
    assert pipeline.dataset_of("REFRESH STREAMING TABLE main.s.orders FULL") == "main.s.orders"
    assert pipeline.dataset_of("REFRESH MATERIALIZED VIEW daily") == "daily"
    assert pipeline.dataset_of("REFRESH TABLE t") is None
    assert pipeline.dataset_of("CREATE TABLE t AS SELECT 1") is None
    assert pipeline.dataset_of("SELECT 'CREATE STREAMING TABLE x'") is None


def test_job_parameters_fill_a_sql_file(run_job) -> None:
    files = {"q.sql": "CREATE SCHEMA IF NOT EXISTS IDENTIFIER({{schema}} || '_sql');\n"
                      "USE IDENTIFIER({{schema}} || '_sql');\n"
                      "CREATE OR REPLACE TABLE `{{table}}` AS SELECT {{label}} AS label, :n AS n;\n"
                      "SELECT label, n FROM `{{table}}`\n"}
    run = run_job(CLUSTER + """
      parameters:
        - {name: schema, default: params}
        - {name: label, default: "it's"}
      tasks:
        - task_key: q
          job_cluster_key: main
          sql_task: {file: {path: q.sql}, parameters: {n: "7", table: labels, label: no}}
""", files, params={"label": "job's"})
    assert run.result is Result.SUCCESS, run.task_runs["q"].error
    log = run.task_runs["q"].attempts[0].log_path.read_text()
    assert "| job's | 7 |" in log  # the job's parameter won over the task's


def test_a_streaming_table_is_refreshed_by_name_and_reads_each_file_once(
        run_job, tmp_path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.json").write_text('{"id": 1}\n{"id": 2}\n')
    files = {"st.sql": f"""
        CREATE SCHEMA IF NOT EXISTS main.refreshing;
        USE CATALOG main;
        USE SCHEMA refreshing;
        CREATE OR REFRESH STREAMING TABLE ids AS SELECT id FROM STREAM read_files('{landing}');
        REFRESH STREAMING TABLE ids;
        REFRESH STREAMING TABLE ids FULL;
        SELECT count(*) AS n, sum(id) AS total FROM ids
    """, "bad.sql": "REFRESH MATERIALIZED VIEW main.refreshing.never_made"}
    run = run_job(CLUSTER + """
      tasks:
        - {task_key: q, job_cluster_key: main, sql_task: {file: {path: st.sql}}}
        - {task_key: bad, job_cluster_key: main, sql_task: {file: {path: bad.sql}}}
""", files)
    task, bad = run.task_runs["q"], run.task_runs["bad"]
    assert task.result is Result.SUCCESS, task.error
    log = task.attempts[0].log_path.read_text()
    assert log.count("Pipeline 'main.refreshing.ids'") == 3  # created, refreshed twice
    assert re.search(r"\| 2 \| 3 +\|", log)  # each row once
    assert bad.result is Result.FAILED
    assert "REFRESH main.refreshing.never_made: no SQL task here has created" in bad.error
