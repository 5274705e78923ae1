"""Unity Catalog's three-level names on local Spark: which catalogs a cluster has and where
their schemas live.

Spark's session catalog (`spark_catalog`) holds every table podium knows, in the warehouse
folder (`catalog.py`). Each other catalog is podium's `LocalCatalog` plugin
(`jvm/LocalCatalog.java`), which keeps schema `s` of catalog `c` as the session database
`c__s`; so `main.sales.orders` is the folder `warehouse/main__sales.db/orders`, and every
application and process sees it as it sees any table. `hive_metastore` is the session
catalog itself under Databricks' name. `samples` also has Databricks' sample tables
(`samples.py`), registered when first read. The standard catalogs are there from the start;
another is its schema folders (`c__s.db`): `CREATE CATALOG` (in podium's parser extension,
`jvm/CatalogStatements.java`) or a bundle's `schemas` resource makes its first, and every
session finds it through that extension, which looks at the warehouse folder whenever it
changed. Every catalog has `default` and `information_schema` (`jvm/InformationSchema.java`).

Volumes (`/Volumes/<catalog>/<schema>/<volume>/...`) are folders under the workspace's DBFS
folder, where `dbutils.fs` keeps them.
"""

from __future__ import annotations

from pathlib import Path

from podium import defaults

CATALOG_CLASS = "podium.spark.LocalCatalog"
VOLUMES_PLUGIN = "podium.spark.LocalVolumes$Plugin"
SEPARATOR = "__"
HIVE_METASTORE = "hive_metastore"
# What every Unity Catalog workspace has (`system` and `workspace` hold nothing locally).
STANDARD = ("main", "workspace", "samples", "system")


def database(catalog: str, schema: str) -> str:
    """The session database that holds schema `schema` of catalog `catalog`."""
    if catalog in (HIVE_METASTORE, "spark_catalog"):
        return schema
    return f"{catalog}{SEPARATOR}{schema}"


def catalog_conf(catalog: str, samples_location: str | None = None) -> dict[str, str]:
    """The Spark settings that make `catalog` a catalog of a session."""
    conf = {f"spark.sql.catalog.{catalog}": CATALOG_CLASS}
    if catalog == HIVE_METASTORE:
        conf[f"spark.sql.catalog.{catalog}.prefix"] = ""
    if catalog == "samples" and samples_location:
        conf[f"spark.sql.catalog.{catalog}.location"] = samples_location
    return conf


def standard_conf(samples_location: str | None) -> dict[str, str]:
    """Settings for the catalogs every cluster starts with."""
    conf: dict[str, str] = {}
    for catalog in (*STANDARD, HIVE_METASTORE):
        conf.update(catalog_conf(catalog, samples_location))
    return conf


def paths_conf(datasets: Path) -> dict[str, str]:
    """Settings with which podium's file system serves `/Volumes/...` and
    `/databricks-datasets/...` in any Spark path (`jvm/LocalVolumes.java`, made the
    application's by `VOLUMES_PLUGIN`) and its parser `dbfs:/...` in SQL
    (`jvm/LocalPaths.java`)."""
    dbfs = str(defaults.dbfs_root())
    return {"spark.podium.dbfs": dbfs, "spark.hadoop.podium.dbfs": dbfs,
            "spark.hadoop.podium.datasets": str(datasets)}


def volumes_root() -> Path:
    """The local folder that `/Volumes` stands for."""
    return defaults.dbfs_root() / "Volumes"


def volume_path(catalog: str, schema: str, volume: str) -> Path:
    """The local folder of volume `catalog.schema.volume`."""
    return volumes_root() / catalog / schema / volume
