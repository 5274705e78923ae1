"""Tables outlive runs, jobs, bundles and processes: the warehouse folder is the catalog."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from podium.compute.catalog import data_format, partition_columns, scan
from tests.cli.test_runs import ENV, PODIUM, cli
from tests.conftest import finish

WRITER = """# Databricks notebook source
dbutils.widgets.text("table", "")
dbutils.widgets.text("source", "")
name = dbutils.widgets.get("table")
spark.sql("CREATE SCHEMA IF NOT EXISTS sales")
if dbutils.widgets.get("source"):
    df = spark.table(dbutils.widgets.get("source")).selectExpr("id * 2 AS id", "part")
else:
    df = spark.range(10).selectExpr("id", "id % 3 AS part")
df.write.mode("overwrite").partitionBy("part").saveAsTable(name)
dbutils.notebook.exit(str(spark.table(name).count()))
"""

READER = """# Databricks notebook source
dbutils.widgets.text("tables", "")
sums = [spark.sql(f"SELECT sum(id) AS s FROM {t}").first()["s"]
        for t in dbutils.widgets.get("tables").split(",")]
# then overwrites the first, which another application wrote, as a daily job does
first = dbutils.widgets.get("tables").split(",")[0]
spark.range(10).selectExpr("id * 10 AS id", "id % 3 AS part").write.mode("overwrite") \
    .partitionBy("part").saveAsTable(first)
sums.append(spark.sql(f"SELECT sum(id) AS s FROM {first}").first()["s"])
dbutils.notebook.exit(",".join(str(s) for s in sums))
"""


def bundle(root: Path, name: str, job: str, notebook: str, params: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "nb.py").write_text(notebook)
    (root / "databricks.yml").write_text(
        f"bundle: {{name: {name}}}\nresources:\n  jobs:\n    {job}:\n      tasks:\n"
        f"        - task_key: t\n          notebook_task:\n            notebook_path: nb.py\n"
        f"            base_parameters: {json.dumps(params)}\n")
    return root


def exit_value(done: subprocess.CompletedProcess[str]) -> str:
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS", done.stderr
    return view["tasks"][0]["podium_exit_value"]


# Four cold runs, two at once: 165 s under the suite on a slow day of the VM.
@pytest.mark.timeout(400)
def test_a_table_written_by_one_bundle_is_read_by_name_in_another(tmp_path: Path) -> None:
    home = tmp_path / "home"
    writer = bundle(tmp_path / "w", "writer", "write", WRITER, {"table": "sales.base"})
    assert exit_value(cli("run", "write", "--bundle", str(writer), "--json", home=home)) == "10"

    # Two processes at once: each reads the first table and (over)writes its own.
    copies = [bundle(tmp_path / f"c{i}", f"copy{i}", "copy", WRITER,
                     {"table": f"sales.copy{i}", "source": "sales.base"}) for i in (1, 2)]
    both = [subprocess.Popen([*PODIUM, "run", "copy", "--bundle", str(b), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**ENV, "PODIUM_HOME": str(home)}) for b in copies]
    for process in both:
        out, err = finish(process, 240)
        assert exit_value(subprocess.CompletedProcess([], process.returncode, out, err)) == "10"

    reader = bundle(tmp_path / "r", "reader", "read", READER,
                    {"tables": "sales.base,sales.copy1,sales.copy2"})
    # It reads all three, then overwrites the first, as a later daily job does.
    assert exit_value(cli("run", "read", "--bundle", str(reader), "--json", home=home)) == \
        "45,90,90,450"


def test_the_warehouse_scan_finds_databases_tables_and_partitions(tmp_path: Path) -> None:
    (tmp_path / "sales.db" / "daily" / "day=1" / "shop=a").mkdir(parents=True)
    (tmp_path / "sales.db" / "daily" / "day=1" / "shop=a" / "part-0.snappy.parquet").touch()
    (tmp_path / "sales.db" / "writing" / "_temporary").mkdir(parents=True)
    (tmp_path / "empty.db").mkdir()
    (tmp_path / "sales.db" / "daily" / "_SUCCESS").touch()
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "part-0.orc").touch()
    (tmp_path / "top" / "_SUCCESS").touch()
    (tmp_path / "sales.db" / "delta_first_commit_pending").mkdir()  # data before the log
    (tmp_path / "sales.db" / "delta_first_commit_pending" / "part-0.snappy.parquet").touch()
    (tmp_path / "sales.db" / "committed" / "_delta_log").mkdir(parents=True)
    (tmp_path / "sales.db" / "committed" / "_delta_log" / f"{0:020d}.json").touch()
    databases, tables = scan(tmp_path)
    assert databases == {"sales", "empty"}
    assert sorted(tables) == [("default", "top"), ("sales", "committed"), ("sales", "daily"),
                              ("sales", "delta_first_commit_pending"), ("sales", "writing")]
    assert partition_columns(tables["sales", "daily"].path) == ["day", "shop"]
    assert data_format(tables["sales", "daily"].path) == "parquet"
    assert data_format(tables["default", "top"].path) == "orc"
    assert data_format(tables["sales", "writing"].path) is None  # still being written
    assert data_format(tables["sales", "delta_first_commit_pending"].path) is None
    assert data_format(tables["sales", "committed"].path) == "delta"
