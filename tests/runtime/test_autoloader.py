"""Auto Loader as Databricks notebooks write it: `readStream.format("cloudFiles")` over a
volume's folder picks up each new file once, with the schema it inferred and kept at
`cloudFiles.schemaLocation` (all strings for CSV, as Auto Loader has them)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_runs import cli

BUNDLE = """bundle: {name: autoloader}
resources:
  schemas:
    raw: {catalog_name: main, name: raw}
  volumes:
    incoming: {catalog_name: main, schema_name: raw, name: incoming}
  jobs:
    ingest:
      tasks: [{task_key: ingest, notebook_task: {notebook_path: ./ingest.py}}]
"""

INGEST = """# Databricks notebook source
import json

folder = "/Volumes/main/raw/incoming"
checkpoint = "/Volumes/main/raw/incoming/_checkpoint"

def ingest():
    stream = (spark.readStream.format("cloudFiles")
              .option("cloudFiles.format", "csv")
              .option("cloudFiles.schemaLocation", checkpoint)
              .option("cloudFiles.schemaHints", "amount INT")
              .option("header", "true")
              .load(folder))
    (stream.writeStream.option("checkpointLocation", checkpoint)
     .trigger(availableNow=True).toTable("main.raw.orders").awaitTermination())
    return spark.table("main.raw.orders").count()

dbutils.fs.put(f"{folder}/a.csv", "id,amount\\n1,10\\n2,20\\n", True)
first = ingest()
dbutils.fs.put(f"{folder}/b.csv", "id,amount\\n3,30\\n", True)
second = ingest()
again = ingest()  # no new file: nothing read twice
types = {f.name: f.dataType.simpleString() for f in spark.table("main.raw.orders").schema}
dbutils.notebook.exit(json.dumps({"counts": [first, second, again], "types": types,
    "total": spark.table("main.raw.orders").agg({"amount": "sum"}).first()[0]}))
"""


def test_auto_loader_reads_each_new_file_once(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    (tmp_path / "ingest.py").write_text(INGEST)
    home = tmp_path / "home"
    view = json.loads(cli("run", "ingest", "--bundle", str(tmp_path), "--json",
                          home=home).stdout)
    task = view["tasks"][0]
    assert view["state"]["result_state"] == "SUCCESS", task.get("error")
    seen = json.loads(task["podium_exit_value"])
    assert seen["counts"] == [2, 3, 3] and seen["total"] == 60
    assert seen["types"] == {"id": "string", "amount": "int"}
    kept = home / "dbfs" / "Volumes" / "main" / "raw" / "incoming" / "_checkpoint" / "_schemas"
    assert json.loads((kept / "0").read_text())["fields"][0]["name"] == "id"
