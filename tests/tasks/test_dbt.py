"""A `dbt_task` runs a dbt project with dbt-databricks on the job's own cluster: a profile
made from the task's catalog and schema when it names no profiles_directory, seeds, models
and tests, what dbt built readable by the job's next task, and a broken model failing its
task with dbt's message; and the `dbt-sql` template as `databricks bundle init` writes it
(tests/cli/templates/dbt-sql), with its own `type: databricks` profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_runs import cli
from tests.cli.test_templates import DATASETS, SHORT_NAME, copy, delta_rows, run

BUNDLE = """bundle: {name: dbt_small}
resources:
  jobs:
    transform:
      tasks:
        - task_key: build
          dbt_task:
            project_directory: ./shop
            catalog: main
            schema: dbt_small
            commands: ["dbt seed", "dbt run", "dbt test"]
        - task_key: check
          depends_on: [{task_key: build}]
          notebook_task: {notebook_path: ./check.py}
        - task_key: broken
          dbt_task:
            project_directory: ./broken
            catalog: main
            schema: dbt_broken
            commands: ["dbt run"]
"""
PROJECT = """name: {name}
version: "1.0.0"
config-version: 2
profile: {name}
models:
  {name}:
    +materialized: table
"""
PEOPLE = "id,name,age\n1,ada,36\n2,bob,12\n3,cy,19\n"
ADULTS = "select id, name from {{ ref('people') }} where age >= 18"
SCHEMA = """version: 2
models:
  - name: adults
    columns:
      - name: id
        data_tests: [not_null, unique]
"""
CHECK = """# Databricks notebook source
adults = spark.table("main.dbt_small.adults").collect()
dbutils.notebook.exit(",".join(sorted(r.name for r in adults)))
"""


def test_dbt_builds_on_the_jobs_cluster_and_a_broken_model_fails_its_task(
        tmp_path: Path) -> None:
    files = {
        "databricks.yml": BUNDLE, "check.py": CHECK,
        "shop/dbt_project.yml": PROJECT.format(name="shop"),
        "shop/seeds/people.csv": PEOPLE, "shop/models/adults.sql": ADULTS,
        "shop/models/schema.yml": SCHEMA,
        "broken/dbt_project.yml": PROJECT.format(name="broken"),
        "broken/models/oops.sql": "select no_such_column from range(1)",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    done = cli("run", "transform", "--bundle", str(tmp_path), "--json", home=tmp_path / "h")
    tasks = {t["task_key"]: t for t in json.loads(done.stdout)["tasks"]}
    assert tasks["build"]["state"]["result_state"] == "SUCCESS", tasks["build"].get("error")
    assert tasks["check"]["podium_exit_value"] == "ada,cy"
    log = Path(tasks["build"]["log_path"]).read_text()
    assert "[podium] dbt test" in log and "PASS=2" in log
    assert "discovery probe" not in log  # no seconds lost asking a host that is not there
    assert tasks["broken"]["state"]["result_state"] == "FAILED"
    error = tasks["broken"]["error"]
    assert error.startswith("DbtTaskError: `dbt run` failed: oops: Database Error in model "
                            "oops (models/oops.sql): ")
    assert "no_such_column" in error


# Two cold runs with dbt: 100 s alone, 222 s under the suite on a slow day of the VM.
@pytest.mark.timeout(400)
def test_the_dbt_sql_template_runs_its_dbt_project_on_the_jobs_cluster(tmp_path) -> None:
    """`dbt deps`, `dbt seed` and `dbt run` with dbt-databricks and the template's own
    `type: databricks` profile; run twice, as its daily trigger would: the second run
    refreshes the streaming table and the materialized view dbt made the first time."""
    home = tmp_path / "home"
    root = copy("dbt-sql", tmp_path)
    for _ in range(2):
        view = run(root, "my_dbt_sql_job", home)
    log = Path(view["tasks"][0]["log_path"]).read_text()
    assert "[podium] dbt run --target=dev" in log and "Completed successfully" in log
    schema = home / "warehouse" / f"main__{SHORT_NAME}.db"  # the profile's main.<you>
    orders = [json.loads(line) for part in sorted(DATASETS.glob("*.json"))
              for line in part.read_text().splitlines()]
    raw = delta_rows(schema / "orders_raw")
    assert sorted(r["order_number"] for r in raw) == sorted(o["order_number"] for o in orders)
    assert len(delta_rows(schema / "orders_daily")) == 31  # the dev target's August 2019
