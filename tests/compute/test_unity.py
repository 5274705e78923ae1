"""Unity Catalog's three-level names work locally: catalogs kept apart, `USE CATALOG`,
`hive_metastore` as the default catalog, Databricks' `samples` tables, and a bundle's
`schemas` and `volumes` made by `podium run`."""

from __future__ import annotations

import json
from pathlib import Path

from podium.compute import unity
from podium.compute.cluster_conf import FLOW_THREADS_PLUGIN, spark_conf
from podium.spec.models import ClusterSpec
from tests.cli.test_runs import cli
from tests.conftest import CLUSTER

CATALOGS = """# Databricks notebook source
import json
spark.sql("CREATE SCHEMA IF NOT EXISTS main.sales")
spark.sql("CREATE OR REPLACE TABLE main.sales.orders AS SELECT id FROM range(3)")
spark.sql("USE CATALOG workspace")
spark.sql("CREATE SCHEMA IF NOT EXISTS sales")
spark.sql("CREATE OR REPLACE TABLE sales.orders AS SELECT id FROM range(5)")
where = spark.sql("SELECT current_catalog() AS c").first().c
spark.catalog.setCurrentCatalog("main")
main_orders = spark.table("sales.orders").count()
spark.sql("CREATE SCHEMA IF NOT EXISTS hive_metastore.legacy")
spark.range(7).write.mode("overwrite").saveAsTable("hive_metastore.legacy.t")
dbutils.notebook.exit(json.dumps({
    "where": where, "main": main_orders,
    "workspace": spark.table("workspace.sales.orders").count(),
    "two_level": spark.table("spark_catalog.legacy.t").count(),
    "schemas": sorted(r[0] for r in spark.sql("SHOW SCHEMAS IN main").collect()),
    "tables": sorted(r.tableName for r in spark.sql("SHOW TABLES IN workspace.sales").collect()),
    "format": spark.sql("DESCRIBE DETAIL main.sales.orders").first().format,
    "location": spark.sql("DESCRIBE DETAIL main.sales.orders").first().location,
}))
"""


def notebook_exit(run_job, notebook: str) -> dict:
    """Run `notebook` as a one-task job on the session's cluster; its JSON exit value."""
    run = run_job(CLUSTER + """
      tasks:
        - task_key: t
          job_cluster_key: main
          notebook_task: {notebook_path: nb.py}
""", {"nb.py": notebook})
    assert run.result.value == "SUCCESS", run.task_runs["t"].error
    return json.loads(run.task_runs["t"].exit_value)


def test_catalogs_are_kept_apart_and_hive_metastore_is_the_two_level_namespace(
        run_job) -> None:
    seen = notebook_exit(run_job, CATALOGS)
    assert seen["where"] == "workspace"
    assert (seen["main"], seen["workspace"], seen["two_level"]) == (3, 5, 7)
    assert "sales" in seen["schemas"] and "legacy" not in seen["schemas"]
    assert seen["tables"] == ["orders"]
    # Schema `sales` of catalog `main` is the warehouse's database folder `main__sales.db`.
    assert seen["format"] == "delta"
    assert seen["location"].endswith("/warehouse/main__sales.db/orders")


SAMPLES = """# Databricks notebook source
import json

def read_only():
    try:
        dbutils.fs.put("/databricks-datasets/mine.txt", "x")
    except PermissionError as refused:
        return str(refused)
trips = spark.read.table("samples.nyctaxi.trips")
busiest = spark.sql('''
  SELECT r.r_name, count(*) AS orders
  FROM samples.tpch.orders o
  JOIN samples.tpch.customer c ON o.o_custkey = c.c_custkey
  JOIN samples.tpch.nation n ON c.c_nationkey = n.n_nationkey
  JOIN samples.tpch.region r ON n.n_regionkey = r.r_regionkey
  GROUP BY r.r_name ORDER BY orders DESC''').collect()
dbutils.notebook.exit(json.dumps({
    "trips": trips.count(), "schema": [f.name for f in trips.schema.fields],
    "fares": trips.selectExpr("min(fare_amount) > 0 AS positive").first().positive,
    "regions": len(busiest), "orders": sum(r.orders for r in busiest),
    "tpch": sorted(r.tableName for r in spark.sql("SHOW TABLES IN samples.tpch").collect()),
    "sales_orders": spark.sql('''SELECT count(*) AS n, max(size(ordered_products)) AS most
      FROM read_files('/databricks-datasets/retail-org/sales_orders/', format => 'json')
      ''').first().asDict(),
    "as_path": spark.sql(
      "SELECT count(*) FROM json.`dbfs:/databricks-datasets/retail-org/sales_orders`").first()[0],
    "listed": [f.path for f in dbutils.fs.ls("/databricks-datasets/retail-org/sales_orders/")
               if f.name.endswith(".json")],
    "read_only": read_only(),
}))
"""


def test_databricks_sample_tables_are_there_to_read(run_job) -> None:
    seen = notebook_exit(run_job, SAMPLES)
    assert seen["trips"] == 21932  # as many as Databricks' own
    assert seen["schema"] == ["tpep_pickup_datetime", "tpep_dropoff_datetime",
                              "trip_distance", "fare_amount", "pickup_zip", "dropoff_zip"]
    assert seen["fares"] is True
    assert seen["regions"] == 5 and seen["orders"] == 1500
    # and the files of /databricks-datasets, read with `read_files` or as a path
    assert seen["sales_orders"] == {"n": 4000, "most": 3} and seen["as_path"] == 4000
    # which dbutils.fs lists under their Databricks names, and does not let change
    assert len(seen["listed"]) == 4 and all(
        p.startswith("/databricks-datasets/retail-org/sales_orders/part-") for p in seen["listed"])
    assert seen["read_only"] == "/databricks-datasets/mine.txt: /databricks-datasets is read-only"
    assert seen["tpch"] == ["customer", "lineitem", "nation", "orders", "part", "partsupp",
                            "region", "supplier"]


BUNDLE = """bundle: {name: uc}
variables:
  catalog: {default: analytics}
resources:
  schemas:
    raw:
      catalog_name: ${var.catalog}
      name: raw_${workspace.current_user.short_name}
      comment: landing data
  volumes:
    files:
      catalog_name: ${resources.schemas.raw.catalog_name}
      schema_name: ${resources.schemas.raw.name}
      name: files
  dashboards:
    overview: {display_name: Overview, file_path: ./overview.lvdash.json}
  jobs:
    load:
      tasks:
        - task_key: load
          notebook_task:
            notebook_path: ./load.py
            base_parameters:
              schema: ${resources.schemas.raw.catalog_name}.${resources.schemas.raw.name}
              volume: /Volumes/${var.catalog}/${resources.schemas.raw.name}/files
"""

LOAD = """# Databricks notebook source
dbutils.widgets.text("schema", "")
dbutils.widgets.text("volume", "")
schema, volume = dbutils.widgets.get("schema"), dbutils.widgets.get("volume")
dbutils.fs.put(f"{volume}/ids.txt", "1\\n2\\n3\\n", True)
dbutils.fs.put(f"{volume}/more/ids.csv", "id,name\\n4,four\\n", True)
spark.sql(f"CREATE TABLE {schema}.ids AS SELECT CAST(value AS INT) AS id "
          f"FROM read_files('{volume}/ids.txt')")  # the format from the name: text
spark.sql(f"INSERT INTO {schema}.ids SELECT id FROM read_files('{volume}/more', "
          "format => 'csv', header => true)")  # read_files infers the column types
spark.sql(f"INSERT INTO {schema}.ids SELECT CAST(value AS INT) FROM text.`{volume}/ids.txt`")
# Spark's own readers and writers see the volume too
spark.read.text(f"{volume}/ids.txt").selectExpr("CAST(value AS INT) + 10 AS id") \
    .write.format("delta").save(f"{volume}/tens")
spark.read.format("delta").load(f"{volume}/tens").write.mode("append").saveAsTable(
    f"{schema}.ids")
dbutils.notebook.exit(str(spark.table(f"{schema}.ids").count()))
"""


def test_a_bundles_schema_and_volume_are_made_and_used_by_its_job(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "databricks.yml").write_text(BUNDLE)
    (root / "load.py").write_text(LOAD)
    home = tmp_path / "home"
    done = cli("run", "load", "--bundle", str(root), "--json", home=home)
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS", done.stderr
    assert view["tasks"][0]["podium_exit_value"] == "10"
    user = next(p.name.removeprefix("analytics__raw_").removesuffix(".db")
                for p in (home / "warehouse").iterdir())
    assert (home / "warehouse" / f"analytics__raw_{user}.db" / "ids").is_dir()
    volume = home / "dbfs" / "Volumes" / "analytics" / f"raw_{user}" / "files"
    assert (volume / "ids.txt").read_text() == "1\n2\n3\n"
    assert (volume / "tens" / "_delta_log").is_dir()
    validated = cli("validate", str(root), home=home)
    assert "resources.dashboards is not deployed locally" in validated.stdout + \
        validated.stderr


def test_the_mounts_are_every_delta_clusters_unless_it_opts_out() -> None:
    plugins = spark_conf(ClusterSpec(spark_conf={"spark.plugins": "my.Plugin"}))[
        "spark.plugins"]
    assert plugins == f"my.Plugin,{FLOW_THREADS_PLUGIN},{unity.VOLUMES_PLUGIN}"
    opted_out = ClusterSpec(spark_conf={"spark.podium.volumes": "false"})
    assert spark_conf(opted_out)["spark.plugins"] == FLOW_THREADS_PLUGIN


def test_a_catalog_name_podium_cannot_keep_is_a_located_error(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "databricks.yml").write_text(
        "bundle: {name: bad}\nresources:\n  schemas:\n    s:\n      catalog_name: a__b\n"
        "      name: s\n")
    done = cli("validate", str(root), home=tmp_path / "home", check=False)
    assert done.returncode == 2
    assert "databricks.yml:5" in done.stderr and "no '__'" in done.stderr
    assert unity.database("a", "s") == "a__s" and unity.database("hive_metastore", "s") == "s"


DEFAULT_AND_INFORMATION_SCHEMA = """# Databricks notebook source
import json
import os
import re

def error(statement):
    try:
        spark.sql(statement)
    except Exception as failed:
        return re.search(r"\\[([A-Z_]+)\\]", str(failed)).group(1)

spark.sql("USE CATALOG main")
spark.sql("USE SCHEMA default")
spark.sql("CREATE OR REPLACE TABLE orders (id BIGINT NOT NULL, amount DECIMAL(10,2), day DATE)"
          " PARTITIONED BY (day)")
spark.sql("CREATE CATALOG IF NOT EXISTS sales_eu")
spark.sql("CREATE SCHEMA sales_eu.landing")
spark.range(2).write.saveAsTable("sales_eu.landing.ids")
spark.sql("USE sales_eu.landing")
spark.sql("CREATE VOLUME raw_files")
spark.sql("CREATE VOLUME IF NOT EXISTS sales_eu.landing.raw_files")
spark.sql("CREATE VOLUME sales_eu.landing.gone")
spark.sql("DROP VOLUME sales_eu.landing.gone")
spark.createDataFrame([("a",)], "x string").write.mode("overwrite").text(
    "/Volumes/sales_eu/landing/raw_files/a")
spark.sql("CREATE VIEW positive_ids (id COMMENT 'above zero') AS SELECT id FROM ids WHERE id > 0")
view_files = os.listdir(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:")
                        + "/sales_eu__landing.db")
spark.sql("USE main.default")
spark.sql("CREATE CATALOG doomed")
spark.sql("CREATE TABLE doomed.default.t AS SELECT 1 AS x")
not_empty = error("DROP CATALOG doomed")
spark.sql("DROP CATALOG doomed CASCADE")
spark.sql("CREATE CATALOG 2024_eu")  # a name may start with a digit, as on Databricks
digit_first = "2024_eu" in [r.catalog for r in spark.sql("SHOW CATALOGS").collect()]
spark.sql("DROP CATALOG 2024_eu")
spark.sql("CREATE SCHEMA IF NOT EXISTS main.dev__sales")  # a catalog's schema may have '__'
rows = lambda q: [list(r) for r in spark.sql(q).collect()]
dbutils.notebook.exit(json.dumps({
    "where": rows("SELECT current_catalog(), current_schema()"),
    "main_schemas": sorted(r[0] for r in spark.sql("SHOW SCHEMAS IN main").collect()),
    "eu_schemas": sorted(r[0] for r in spark.sql("SHOW SCHEMAS IN sales_eu").collect()),
    "catalogs": [r.catalog for r in spark.sql("SHOW CATALOGS").collect()],
    "like": [r.catalog for r in spark.sql("SHOW CATALOGS LIKE 'sa*|ma*'").collect()],
    "info_catalogs": rows("SELECT catalog_name FROM sales_eu.information_schema.catalogs"),
    "schemata": rows("SELECT schema_name FROM sales_eu.information_schema.schemata "
                     "ORDER BY schema_name"),
    "tables": rows("SELECT table_schema, table_name, table_type, data_source_format "
                   "FROM main.information_schema.tables "
                   "WHERE table_schema = 'default' AND table_name = 'orders'"),
    "columns": rows("SELECT column_name, ordinal_position, is_nullable, full_data_type, "
                    "data_type, numeric_precision, numeric_scale, partition_index "
                    "FROM main.information_schema.columns "
                    "WHERE table_schema = 'default' AND table_name = 'orders' "
                    "ORDER BY ordinal_position"),
    "volumes": rows("SELECT volume_catalog, volume_schema, volume_name, volume_type "
                    "FROM system.information_schema.volumes"),
    "across": rows("SELECT DISTINCT table_catalog FROM system.information_schema.tables "
                   "WHERE table_catalog IN ('main', 'sales_eu') ORDER BY 1"),
    "errors": [not_empty, error("CREATE CATALOG sales_eu"), error("DROP CATALOG nowhere"),
               error("USE CATALOG doomed"), error("CREATE SCHEMA main.information_schema"),
               error("DROP CATALOG main"), error("CREATE VOLUME sales_eu.landing.raw_files"),
               error("CREATE VOLUME sales_eu.nowhere.v"), error("DROP VOLUME main.default.v"),
               error("CREATE CATALOG a__b"), error("CREATE SCHEMA hive_metastore.dev__sales"),
               error("CREATE DATABASE IF NOT EXISTS `hive_metastore`.`x__y` COMMENT 'no'")],
    "digit_first": digit_first,
    "volume_files": spark.read.text("/Volumes/sales_eu/landing/raw_files/a").count(),
    "view": rows("SELECT * FROM sales_eu.landing.positive_ids"),
    "view_file": [name for name in view_files if name.endswith(".view.json")],
    "view_info": rows("SELECT table_name, table_type FROM sales_eu.information_schema.tables "
                      "WHERE table_schema = 'landing' ORDER BY table_name"),
    "view_text": rows("SELECT view_definition FROM system.information_schema.views "
                      "WHERE table_catalog = 'sales_eu'"),
    "folders": os.listdir(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:")),
}))
"""


def test_every_catalog_has_default_and_an_information_schema(run_job) -> None:
    seen = notebook_exit(run_job, DEFAULT_AND_INFORMATION_SCHEMA)
    assert seen["where"] == [["main", "default"]]
    assert {"default", "dev__sales", "information_schema"} <= set(seen["main_schemas"])
    assert seen["eu_schemas"] == ["default", "information_schema", "landing"]
    assert {"hive_metastore", "main", "samples", "sales_eu", "system", "workspace"} <= \
        set(seen["catalogs"]) and "doomed" not in seen["catalogs"]
    assert seen["catalogs"] == sorted(seen["catalogs"])
    assert seen["like"] == ["main", "sales_eu", "samples"]
    assert seen["info_catalogs"] == [["sales_eu"]]
    assert seen["schemata"] == [["default"], ["information_schema"], ["landing"]]
    assert seen["tables"] == [["default", "orders", "MANAGED", "DELTA"]]
    assert seen["columns"] == [
        ["id", 0, "NO", "bigint", "LONG", None, None, None],
        ["amount", 1, "YES", "decimal(10,2)", "DECIMAL", 10, 2, None],
        ["day", 2, "YES", "date", "DATE", None, None, 0]]
    assert [v for v in seen["volumes"] if v[0] == "sales_eu"] == [
        ["sales_eu", "landing", "raw_files", "MANAGED"]]
    assert seen["across"] == [["main"], ["sales_eu"]]
    assert seen["errors"] == ["CATALOG_NOT_EMPTY", "CATALOG_ALREADY_EXISTS",
                              "CATALOG_NOT_FOUND", "CATALOG_NOT_FOUND",
                              "SCHEMA_ALREADY_EXISTS", "CATALOG_BUILT_IN",
                              "VOLUME_ALREADY_EXISTS", "SCHEMA_NOT_FOUND", "VOLUME_NOT_FOUND",
                              "INVALID_CATALOG_NAME", "INVALID_SCHEMA_OR_RELATION_NAME",
                              "INVALID_SCHEMA_OR_RELATION_NAME"]
    assert seen["digit_first"]
    assert seen["volume_files"] == 1
    # A view of a catalog is a file beside its tables, so every process reads it.
    assert seen["view"] == [[1]] and seen["view_file"] == ["positive_ids.view.json"]
    assert seen["view_info"] == [["ids", "MANAGED"], ["positive_ids", "VIEW"]]
    assert seen["view_text"] == [["SELECT id FROM ids WHERE id > 0"]]
    # A catalog is its schema folders in the warehouse: a dropped one leaves none.
    folders = set(seen["folders"])
    assert {"main__default.db", "sales_eu__default.db", "sales_eu__landing.db"} <= folders
    assert not any(name.startswith("doomed__") for name in folders)
