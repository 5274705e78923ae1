"""What `make` does once per machine before any cluster starts, so that tests and first
runs neither fetch nor build: check Java, resolve Delta Lake's jars, build podium's jar,
make the class-data archive drivers map, and make Databricks' sample tables.

`python -m podium.compute.prepare` does all of it, each step saying what it found; a
step already done takes a moment.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from typing import Any

from podium import samples
from podium.compute.cluster_conf import (
    CONNECT_PLUGIN,
    DRIVER_OPTIONS,
    JIT_OPTIONS,
    PLUGINS,
    plugins,
    spark_conf,
)
from podium.jvm import archive, jars, maven
from podium.jvm.java import java_major, require_java
from podium.spec.models import ClusterSpec

SMALL_CONF = {"spark.master": "local[2]", "spark.ui.enabled": "false"}


def fetch_jars() -> str:
    """Resolve Delta's jars into the cache and build podium's jar; what was done."""
    began = time.monotonic()
    request = maven.Request((jars.delta_coordinates(),))
    fresh = maven.cached(request) is None
    found = maven.resolve(request)
    jars.podium_jar()
    how = f"resolved in {time.monotonic() - began:.0f}s into" if fresh else "cached in"
    return (f"Delta Lake jars ({jars.delta_coordinates()}, {len(found)} files): {how} "
            f"{maven.cache_dir()}")


def make_archive() -> str:
    """Make the class-data archive by running `train_archive` in a child process, and
    delete those of Spark folders that are gone."""
    if not archive.enabled():
        return "Spark class-data archive: off (PODIUM_JVM_CDS=0)"
    path = archive.build([sys.executable, "-m", "podium.compute.prepare", "--train-archive"])
    gone = archive.prune()
    return f"Spark class-data archive: {path}" + (
        f" (deleted {len(gone)} made for Spark folders that are gone)" if gone else "")


def train_archive(dump: str) -> None:
    """The workload whose classes go into the archive; the JVM dumps them at exit. It
    makes the sample tables too when they are missing, and compiles with C1 only (the
    classes it loads are the same; its CPU is a quarter less)."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="podium-cds-")
    cluster = spark_conf(ClusterSpec())
    conf = SparkConf().setMaster("local[2]").setAppName("podium:cds").setAll([
        ("spark.ui.showConsoleProgress", "false"), ("spark.sql.warehouse.dir", warehouse),
        ("spark.sql.catalogImplementation", "in-memory"),
        ("spark.connect.grpc.binding.address", "127.0.0.1"),
        ("spark.connect.grpc.binding.port", "0"),
        *cluster.items(),
        (PLUGINS, plugins(cluster, CONNECT_PLUGIN)),  # as a classic driver's
        (DRIVER_OPTIONS, " ".join([*archive.dump_options(dump), JIT_OPTIONS["quick"]])),
    ])
    spark = SparkSession(SparkContext(conf=conf))
    spark.range(1000).selectExpr("id % 7 AS k", "id").groupBy("k").count().collect()
    frame = spark.createDataFrame([(1, "a"), (2, "b")], "id INT, name STRING")
    frame.write.mode("overwrite").parquet(f"{warehouse}/p")
    frame.write.format("delta").mode("overwrite").saveAsTable("t")
    spark.sql("SELECT * FROM t WHERE id > :low", args={"low": 0}).collect()
    spark.sql("UPDATE t SET name = 'c' WHERE id = 2")
    spark.read.parquet(f"{warehouse}/p").count()
    samples.ensure(spark)  # here rather than in a cluster of their own: one JVM start less
    gateway = SparkContext._gateway
    spark.stop()
    process: Any = getattr(gateway, "proc", None)
    if process is not None:  # the JVM exits when its stdin closes, dumping the archive
        process.stdin.close()
        process.wait(archive.BUILD_TIMEOUT_SECONDS)
    shutil.rmtree(warehouse, ignore_errors=True)


def make_samples() -> str:
    """Make the sample tables with a small cluster of their own, unless they exist."""
    if samples.ready():
        return f"Databricks sample tables: {samples.location()}"
    from podium.compute.classic import ClassicCluster

    began = time.monotonic()
    cluster = ClassicCluster("samples", ClusterSpec(spark_conf=dict(SMALL_CONF)))
    cluster.start()  # a cluster with Delta makes them as it starts
    cluster.stop()
    return (f"Databricks sample tables: made in {time.monotonic() - began:.0f}s in "
            f"{samples.location()}")


def main() -> None:
    """Every step, in order, each said in one line."""
    require_java()
    print(f"java {java_major()} ok", flush=True)
    for step in (fetch_jars, make_archive, make_samples):
        print(step(), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--train-archive"]:
        train_archive(sys.argv[2])
    else:
        main()
