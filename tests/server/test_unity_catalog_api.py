"""databricks-sdk's Unity Catalog and Files clients, unchanged, against a real `podium serve`:
what a client makes a job uses, and what a job writes the client lists."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import requests
from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied, ResourceConflict
from databricks.sdk.service import catalog, compute, jobs

from tests.server.conftest import Server

LOAD = """# Databricks notebook source
dbutils.widgets.text("catalog", "")
c = dbutils.widgets.get("catalog")
orders = (spark.read.option("header", True).option("inferSchema", True)
          .csv(f"/Volumes/{c}/raw/landing/orders.csv"))
orders.write.partitionBy("shop").saveAsTable(f"{c}.raw.orders")
spark.sql(f"CREATE VIEW {c}.raw.big AS SELECT * FROM {c}.raw.orders WHERE amount > 10")
spark.sql(f"CREATE SCHEMA {c}_hive")  # in the session catalog: hive_metastore
orders.write.format("parquet").saveAsTable(f"{c}_hive.orders_parquet")
dbutils.notebook.exit(str(spark.table(f"{c}.raw.big").count()))
"""


def run_load(server: Server, notebook: Path, name: str) -> jobs.Run:
    """Run the loading notebook as a one-task job on a small job cluster."""
    w = server.sdk()
    created = w.jobs.create(
        name=f"load-{name}",
        job_clusters=[jobs.JobCluster(job_cluster_key="c", new_cluster=compute.ClusterSpec(
            spark_version="15.4.x-scala2.12", num_workers=0,
            spark_conf={"spark.master": "local[1]"}))],
        tasks=[jobs.Task(task_key="load", job_cluster_key="c",
                         notebook_task=jobs.NotebookTask(notebook_path=str(notebook),
                                                         base_parameters={"catalog": name}))])
    return w.jobs.run_now(job_id=created.job_id).result()


def test_a_client_makes_a_catalog_and_volume_a_job_fills_and_the_client_lists(
        server: Server, tmp_path: Path) -> None:
    w = server.sdk()
    name = f"shop_{uuid.uuid4().hex[:8]}"
    w.catalogs.create(name=name)
    assert {name, "main", "hive_metastore", "samples"} <= {c.name for c in w.catalogs.list()}
    assert w.catalogs.get(name).catalog_type == catalog.CatalogType.MANAGED_CATALOG
    assert w.schemas.create(name="raw", catalog_name=name).full_name == f"{name}.raw"
    assert {s.name for s in w.schemas.list(catalog_name=name)} == {
        "default", "information_schema", "raw"}
    volume = w.volumes.create(catalog_name=name, schema_name="raw", name="landing",
                              volume_type=catalog.VolumeType.MANAGED)
    assert volume.full_name == f"{name}.raw.landing"

    csv = b"id,shop,amount\n1,a,5.5\n2,a,20.0\n3,b,30.25\n"
    w.files.upload(f"/Volumes/{name}/raw/landing/orders.csv", io.BytesIO(csv),
                   overwrite=True)
    assert w.files.download(f"/Volumes/{name}/raw/landing/orders.csv").contents.read() == csv
    assert [e.name for e in w.files.list_directory_contents(
        f"/Volumes/{name}/raw/landing")] == ["orders.csv"]

    (tmp_path / "load.py").write_text(LOAD)
    run = run_load(server, tmp_path / "load", name)
    assert run.state.result_state == jobs.RunResultState.SUCCESS, \
        w.jobs.get_run_output(run.tasks[0].run_id).error
    assert w.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "2"

    tables = {t.name: t for t in w.tables.list(catalog_name=name, schema_name="raw")}
    assert set(tables) == {"orders", "big"}
    orders = tables["orders"]
    assert (orders.full_name, orders.table_type, orders.data_source_format) == (
        f"{name}.raw.orders", catalog.TableType.MANAGED, catalog.DataSourceFormat.DELTA)
    assert [(c.name, c.type_text, c.type_name.value, c.position, c.partition_index)
            for c in orders.columns] == [("id", "int", "INT", 0, None),
                                         ("shop", "string", "STRING", 1, 0),
                                         ("amount", "double", "DOUBLE", 2, None)]
    assert Path(unquote(urlparse(orders.storage_location).path)).is_dir()
    assert tables["big"].table_type == catalog.TableType.VIEW
    assert "amount > 10" in tables["big"].view_definition
    assert [c.name for c in tables["big"].columns] == ["id", "shop", "amount"]
    parquet = w.tables.get(f"hive_metastore.{name}_hive.orders_parquet")
    assert parquet.data_source_format == catalog.DataSourceFormat.PARQUET
    assert [(c.name, c.type_text) for c in parquet.columns] == [
        ("id", "int"), ("shop", "string"), ("amount", "double")]
    assert w.tables.get(f"{name}.raw.orders").table_id == orders.table_id
    assert w.tables.exists(f"{name}.raw.orders").table_exists
    assert not w.tables.exists(f"{name}.raw.nothing").table_exists

    with pytest.raises(BadRequest, match="not empty"):
        w.schemas.delete(f"{name}.raw")
    w.tables.delete(f"hive_metastore.{name}_hive.orders_parquet")
    assert not w.tables.exists(f"hive_metastore.{name}_hive.orders_parquet").table_exists
    w.schemas.delete(f"hive_metastore.{name}_hive")
    w.catalogs.delete(name, force=True)
    with pytest.raises(NotFound):
        w.catalogs.get(name)
    assert not Path(unquote(urlparse(volume.storage_location).path)).exists()
    assert not (server.home / "dbfs" / "Volumes" / name).exists()


def test_errors_name_what_is_missing_or_there_already(server: Server) -> None:
    w = server.sdk()
    name = f"errs_{uuid.uuid4().hex[:8]}"
    with pytest.raises(NotFound, match=f"Catalog '{name}' does not exist"):
        w.schemas.create(name="x", catalog_name=name)
    w.catalogs.create(name=name)
    with pytest.raises(ResourceConflict) as conflict:
        w.catalogs.create(name=name)
    assert conflict.value.error_code == "CATALOG_ALREADY_EXISTS"
    w.schemas.create(name="s", catalog_name=name)
    with pytest.raises(ResourceConflict, match="already exists"):
        w.schemas.create(name="s", catalog_name=name)
    with pytest.raises(NotFound) as missing:
        w.tables.get(f"{name}.s.none")
    assert missing.value.error_code == "TABLE_DOES_NOT_EXIST"
    with pytest.raises(NotFound):
        w.schemas.get(f"{name}.nope")
    with pytest.raises(BadRequest, match="full name"):
        w.tables.get("only.two")
    with pytest.raises(BadRequest, match="Invalid schema name"):
        w.schemas.create(name="no spaces", catalog_name=name)
    w.schemas.create(name="dev__sales", catalog_name=name)  # its folder is `<name>__dev__sales`
    assert w.schemas.get(f"{name}.dev__sales").name == "dev__sales"
    with pytest.raises(BadRequest, match="no '__'"):  # `hive_metastore`'s would read as two
        w.schemas.create(name="a__b", catalog_name="hive_metastore")
    with pytest.raises(BadRequest, match="needs a storage_location"):
        w.volumes.create(catalog_name=name, schema_name="s", name="v",
                         volume_type=catalog.VolumeType.EXTERNAL)
    with pytest.raises(NotFound):
        w.files.upload(f"/Volumes/{name}/s/no_volume/f.txt", io.BytesIO(b"x"))
    with pytest.raises(BadRequest):
        w.files.upload("/Volumes/../etc/passwd", io.BytesIO(b"x"))
    with pytest.raises(PermissionDenied, match="read-only"):
        w.schemas.create(name="mine", catalog_name="samples")
    w.catalogs.delete(name, force=True)


def test_an_external_volume_is_its_folder_and_keeps_its_files_when_dropped(
        server: Server, tmp_path: Path) -> None:
    w = server.sdk()
    name = f"ext_{uuid.uuid4().hex[:8]}"
    w.catalogs.create(name=name)
    outside = tmp_path / "landing zone"
    made = w.volumes.create(catalog_name=name, schema_name="default", name="drop",
                            volume_type=catalog.VolumeType.EXTERNAL,
                            storage_location=outside.as_uri())
    assert made.volume_type == catalog.VolumeType.EXTERNAL
    w.files.upload(f"/Volumes/{name}/default/drop/in/a.txt", io.BytesIO(b"hello"))
    assert (outside / "in" / "a.txt").read_bytes() == b"hello"
    renamed = w.volumes.update(f"{name}.default.drop", new_name="landing")
    assert renamed.full_name == f"{name}.default.landing"
    assert [v.name for v in w.volumes.list(catalog_name=name, schema_name="default")] == [
        "landing"]
    w.volumes.delete(f"{name}.default.landing")
    assert (outside / "in" / "a.txt").read_bytes() == b"hello"
    w.catalogs.delete(name, force=True)


def test_files_stream_both_ways_with_ranges_folders_and_pages(server: Server) -> None:
    w = server.sdk()
    name = f"files_{uuid.uuid4().hex[:8]}"
    w.catalogs.create(name=name)
    w.volumes.create(catalog_name=name, schema_name="default", name="v",
                     volume_type=catalog.VolumeType.MANAGED)
    root = f"/Volumes/{name}/default/v"
    big = os.urandom(24 * 1024 * 1024)  # past the API's 10 MB limit for JSON requests
    w.files.upload(f"{root}/big.bin", io.BytesIO(big))
    assert w.files.get_metadata(f"{root}/big.bin").content_length == len(big)
    assert w.files.download(f"{root}/big.bin").contents.read() == big
    part = requests.get(f"{server.url}/api/2.0/fs/files{root}/big.bin", timeout=30,
                        headers={**server.headers, "Range": "bytes=10-19"})
    assert (part.status_code, part.content) == (206, big[10:20])
    with pytest.raises(ResourceConflict):
        w.files.upload(f"{root}/big.bin", io.BytesIO(b"x"), overwrite=False)

    w.files.create_directory(f"{root}/a/b")
    w.files.get_directory_metadata(f"{root}/a/b")
    for i in range(5):
        w.files.upload(f"{root}/a/f{i}.txt", io.BytesIO(str(i).encode()))
    listed = [e.path for e in w.files.list_directory_contents(f"{root}/a", page_size=2)]
    assert listed == [f"{root}/a/b/", *(f"{root}/a/f{i}.txt" for i in range(5))]
    with pytest.raises(ResourceConflict, match="not empty"):
        w.files.delete_directory(f"{root}/a")
    w.files.delete(f"{root}/a/f0.txt")
    with pytest.raises(NotFound):
        w.files.get_metadata(f"{root}/a/f0.txt")
    w.files.delete_directory(f"{root}/a/b")
    with pytest.raises(NotFound):
        w.files.get_directory_metadata(f"{root}/a/b")
    w.catalogs.delete(name, force=True)


def test_comments_and_properties_are_kept_and_changed(server: Server) -> None:
    w = server.sdk()
    name = f"about_{uuid.uuid4().hex[:8]}"
    w.catalogs.create(name=name, comment="sales data", properties={"team": "sales"})
    assert (w.catalogs.get(name).comment, w.catalogs.get(name).properties) == (
        "sales data", {"team": "sales"})
    assert w.catalogs.update(name, comment="all sales").comment == "all sales"
    made = w.schemas.create(name="raw", catalog_name=name, comment="as it came")
    assert made.comment == "as it came"
    w.schemas.update(f"{name}.raw", properties={"layer": "bronze"})
    got = w.schemas.get(f"{name}.raw")
    assert (got.comment, got.properties) == ("as it came", {"layer": "bronze"})
    assert [t.name for t in w.tables.list(catalog_name=name, schema_name="raw")] == []
    with pytest.raises(PermissionDenied):
        w.catalogs.update("samples", comment="mine now")
    w.catalogs.delete(name, force=True)
