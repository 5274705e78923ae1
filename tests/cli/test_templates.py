"""The bundles `databricks bundle init` writes run as they are: copies of the
`default-python`, `lakeflow-pipelines` (Python and SQL), `default-sql` and `dbt-sql`
templates, taken
from the Databricks CLI's own rendered test outputs (`acceptance/bundle/templates/*/output`,
with its placeholders for the workspace URL, user and UUID filled in), validate with exit 0
and their jobs run to SUCCESS: a notebook importing the project's package, a wheel built
from `artifacts` and run in its environment, the pipeline on Spark Declarative Pipelines
reading `samples.nyctaxi.trips`, SQL files that ingest `/databricks-datasets` JSON into a
streaming table and a materialized view, and the dbt project that does the same with
dbt-databricks."""

from __future__ import annotations

import getpass
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from podium import defaults
from tests.cli.test_runs import cli

TEMPLATES = Path(__file__).parent / "templates"
DATASETS = defaults.datasets_dir() / "retail-org" / "sales_orders"
SHORT_NAME = getpass.getuser().split("@")[0]  # `${workspace.current_user.short_name}`


def copy(name: str, tmp_path: Path) -> Path:
    """A fresh copy of a rendered template, as `databricks bundle init` leaves it."""
    root = tmp_path / name
    shutil.copytree(TEMPLATES / name, root)
    return root


def run(root: Path, job: str, home: Path, *options: str) -> dict:
    done = cli("run", job, "--bundle", str(root), "--json", *options, home=home)
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS", \
        [(t["task_key"], t["state"].get("state_message")) for t in view["tasks"]]
    return view


@pytest.mark.parametrize("name", ["default-python", "default-sql", "dbt-sql",
                                  "lakeflow-pipelines-python", "lakeflow-pipelines-sql"])
def test_each_template_validates_as_the_databricks_cli_accepts_it(name, tmp_path) -> None:
    done = cli("validate", str(copy(name, tmp_path)), home=tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_default_python_template_runs_its_notebook_wheel_and_pipeline(tmp_path) -> None:
    """With `--var catalog=main --var schema=default`, as a new user runs it: every
    catalog has its `default` schema, as in Unity Catalog."""
    home = tmp_path / "home"
    view = run(copy("default-python", tmp_path), "sample_job", home,
               "--var", "catalog=main", "--var", "schema=default")
    assert [t["task_key"] for t in view["tasks"]] == [
        "notebook_task", "python_wheel_task", "refresh_pipeline"]
    assert list((tmp_path / "default-python" / "dist").glob("my_default_python-*.whl"))
    pipeline = home / "warehouse" / "main__default.db"  # the pipeline's catalog: main
    for table in ("sample_trips_my_default_python", "sample_zones_my_default_python"):
        assert (pipeline / table / "_delta_log").is_dir(), table


@pytest.mark.parametrize("language", ["python", "sql"])
def test_the_lakeflow_pipelines_template_refreshes_its_pipeline(language, tmp_path) -> None:
    home = tmp_path / "home"
    run(copy(f"lakeflow-pipelines-{language}", tmp_path), "sample_job", home)
    schema = home / "warehouse" / f"main__{SHORT_NAME}.db"
    for table in ("sample_trips_my_lakeflow_pipelines", "sample_zones_my_lakeflow_pipelines"):
        assert (schema / table / "_delta_log").is_dir(), table


def test_the_default_sql_template_ingests_files_into_a_streaming_table_and_a_view(
        tmp_path) -> None:
    home = tmp_path / "home"
    (home / "warehouse" / f"main__{SHORT_NAME}.db").mkdir(parents=True)  # main.<short name>
    root = copy("default-sql", tmp_path)
    run(root, "my_default_sql_sql_job", home)
    schema = home / "warehouse" / f"main__{SHORT_NAME}.db"
    orders = [json.loads(line) for part in sorted(DATASETS.glob("*.json"))
              for line in part.read_text().splitlines()]
    august = [o for o in orders if datetime.fromtimestamp(
        int(o["order_datetime"]), timezone.utc).strftime("%Y-%m") == "2019-08"]
    raw = delta_rows(schema / "orders_raw")
    assert sorted(r["order_number"] for r in raw) == sorted(o["order_number"] for o in orders)
    # the dev target keeps August 2019: one row per day, each with that day's orders
    daily = delta_rows(schema / "orders_daily")
    assert len(daily) == 31
    assert sum(r["number_of_orders"] for r in daily) == len(august)


def delta_rows(table: Path) -> list[dict]:
    """A Delta table's rows as of its last commit, read from its log and Parquet files."""
    import pyarrow.parquet as pq

    files: set[str] = set()
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                files.add(action["add"]["path"])
            elif "remove" in action:
                files.discard(action["remove"]["path"])
    return [row for name in sorted(files) for row in pq.read_table(table / name).to_pylist()]
