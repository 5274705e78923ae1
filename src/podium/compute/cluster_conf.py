"""The Spark settings every cluster podium starts gets on top of its own `spark_conf`:
its jars, Delta Lake's session extension and catalog, podium's parser extension, the
Unity-style catalogs and `/Volumes` file system, the class-data archive its driver maps,
and the driver's JVM metrics (heap and GC, read for adaptive concurrency).

On Databricks every table is a Delta table unless said otherwise, so every cluster has
Delta and `spark.sql.sources.default` set to `delta`; `spark.podium.delta: "false"` in a
cluster's `spark_conf` gives plain Spark, and `spark.podium.volumes: "false"` leaves plain
paths the machine's own.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from podium import defaults, samples
from podium.compute import unity
from podium.compute.cluster_load import JVM_SOURCE_CONF
from podium.compute.errors import ClusterError
from podium.compute.sizing import adaptive, cores_of
from podium.jvm import archive, jars
from podium.jvm.errors import LibraryError
from podium.spec.models import JIT_CONF, JIT_MODES

# "false": plain paths are the machine's own (no `/Volumes`, `/databricks-datasets` mounts)
VOLUMES_OPT_OUT = "spark.podium.volumes"
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CONF = {
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.sources.default": "delta",
}
# Delta's SQL parser drops `spark.sql(text, args=...)` parameters on Spark 4.1+
# (delta-io/delta#7640, classic and Connect alike); podium's extension parses such
# statements with Spark's parser (`jvm/sources/ParameterizedParser.java`).
PARSER_EXTENSION = "podium.spark.ParameterizedParser$Extension"
# Delta rebuilds a table's state from its log in this many tasks (50 by default, sized for
# big clusters); on a few local cores that made a small table's first read 3x slower.
SNAPSHOT_PARTITIONS = "spark.databricks.delta.snapshotPartitions"
PLUGINS = "spark.plugins"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
# Each pipeline flow on a thread of its own update, with its tags (jvm/sources/FlowThreads.java)
FLOW_THREADS_PLUGIN = "podium.spark.FlowThreads"
# How the cluster's JVMs (the driver, and executors where there are any) compile hot code:
# "full" (the JVM's default, tiered up to C2: the fastest code once warm) or "quick" (C1
# only: half the CPU and a third less time for a short run of small data, a third slower
# on a long heavy one). A cluster's `spark_conf` says, else `PODIUM_JIT`, else "full".
JIT_ENV = "PODIUM_JIT"
JIT_OPTIONS = dict(zip(JIT_MODES, ("", "-XX:TieredStopAtLevel=1"), strict=True))
DRIVER_OPTIONS = "spark.driver.extraJavaOptions"
EXECUTOR_OPTIONS = "spark.executor.extraJavaOptions"
PYTHON_ENV = "PYSPARK_PYTHON"  # the program Spark starts for Python UDFs and data sources


def spark_conf(spec: Any) -> dict[str, str]:
    """The Spark settings a cluster gets besides its own: `spark.jars`, podium's plugins,
    Delta's, the catalogs', the class-data archive's and the JIT mode's (driver and
    executors); a library that cannot be had is a ClusterError that says which."""
    conf: dict[str, str] = {**driver_options(spec), **executor_options(spec)}
    adaptive(spec)  # a word other than adaptive or fixed fails the start, saying which
    conf.update({k: v for k, v in JVM_SOURCE_CONF.items() if k not in spec.spark_conf})
    try:
        paths = jars.class_path(spec)
    except LibraryError as exc:
        raise ClusterError(str(exc)) from exc
    ours: list[str] = []  # podium's plugins, after the cluster's own
    if paths:
        own = str(spec.spark_conf.get("spark.jars", "")).strip()
        conf["spark.jars"] = ",".join([*([own] if own else []), *paths])
    if jars.has_own_jar(paths):
        ours.append(FLOW_THREADS_PLUGIN)
    if jars.delta_enabled(spec):
        extensions = str(spec.spark_conf.get("spark.sql.extensions", "")).strip()
        conf["spark.sql.extensions"] = ",".join(
            [DELTA_EXTENSION, *([extensions] if extensions else []), PARSER_EXTENSION])
        conf.update({k: v for k, v in DELTA_CONF.items() if k not in spec.spark_conf})
        conf.update({k: v for k, v in unity.standard_conf(str(samples.location())).items()
                     if k not in spec.spark_conf})
        conf.update(unity.paths_conf(defaults.datasets_dir()))
        if str(spec.spark_conf.get(VOLUMES_OPT_OUT, "true")).lower() != "false":
            ours.append(unity.VOLUMES_PLUGIN)
        if SNAPSHOT_PARTITIONS not in spec.spark_conf:
            conf[SNAPSHOT_PARTITIONS] = str(max(1, cores_of(spec.master)))
    if ours:
        conf[PLUGINS] = plugins(spec.spark_conf, *ours)
    return conf


def plugins(conf: Any, *more: str) -> str:
    """A `spark.plugins` value: the plugins `conf` names, then `more` (Spark starts them in
    that order)."""
    own = [p.strip() for p in str(conf.get(PLUGINS, "")).split(",") if p.strip()]
    return ",".join([*own, *more])


def jit(spec: Any) -> str:
    """The cluster's JIT mode ("full" or "quick"); ClusterError for any other word."""
    mode = str(spec.spark_conf.get(JIT_CONF) or os.environ.get(JIT_ENV) or "full")
    if mode.strip().lower() not in JIT_OPTIONS:
        raise ClusterError(f"{JIT_CONF} (or {JIT_ENV}) is '{mode}'; use "
                           + " or ".join(f"'{m}'" for m in JIT_MODES))
    return mode.strip().lower()


def driver_options(spec: Any) -> dict[str, str]:
    """The driver JVM's options: the cluster's own, then the class-data archive's and the
    JIT mode's; nothing when there is nothing to add."""
    return _after_own(spec, DRIVER_OPTIONS, [*archive.jvm_options(), JIT_OPTIONS[jit(spec)]])


def executor_options(spec: Any) -> dict[str, str]:
    """The executors' JVM options (a standalone or other cluster manager's executors): the
    cluster's own, then the class-data archive's and the JIT mode's, as the driver's;
    nothing when there is nothing to add."""
    return _after_own(spec, EXECUTOR_OPTIONS, [*archive.jvm_options(), JIT_OPTIONS[jit(spec)]])


def _after_own(spec: Any, setting: str, added: list[str]) -> dict[str, str]:
    """`setting` as the cluster's own value followed by `added`; {} when `added` is empty."""
    if not any(added):
        return {}
    parts = [str(spec.spark_conf.get(setting, "")).strip(), *added]
    return {setting: " ".join(p for p in parts if p)}


def worker_python(spec: Any) -> str:
    """The Python the cluster's Python workers (UDFs, Python data sources) run: the
    cluster's `spark_env_vars` PYSPARK_PYTHON, else this process's, when it names a
    program on this machine (Databricks' own, `/databricks/python3/bin/python3`, does
    not); else podium's own Python, which has what they import (pyarrow, pandas). Not
    the `python3` first on PATH, PySpark's default, which may be a Python without them."""
    for candidate in (spec.spark_env_vars.get(PYTHON_ENV), os.environ.get(PYTHON_ENV)):
        if candidate and shutil.which(str(candidate)):
            return str(candidate)
    return sys.executable
