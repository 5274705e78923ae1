"""The class-data archive every driver maps (made once by `make`)."""

from __future__ import annotations

from podium.engine.states import Result
from podium.jvm import archive
from tests.conftest import CLUSTER


def test_drivers_map_the_archive_make_built(run_job, executor) -> None:
    assert archive.archive_path().is_file(), "`make java` builds it"
    run = run_job(CLUSTER + "      tasks:\n        - {task_key: t, job_cluster_key: main, "
                  "notebook_task: {notebook_path: nb.py}}\n",
                  files={"nb.py": "# Databricks notebook source\nspark.range(3).count()\n"})
    assert run.result is Result.SUCCESS
    jvm = executor.clusters.slots["j:main"].cluster.root._jvm
    flag = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.com.sun.management.HotSpotDiagnosticMXBean._java_lang_class).getVMOption(
        "SharedArchiveFile").getValue()
    assert flag == str(archive.archive_path())


def test_the_option_follows_the_clusters_own(monkeypatch) -> None:
    from podium.compute.cluster_conf import DRIVER_OPTIONS, driver_options
    from podium.spec.models import ClusterSpec

    spec = ClusterSpec.model_validate(
        {"spark_conf": {"spark.driver.extraJavaOptions": "-Dx=1", "spark.podium.jit": "full"}})
    assert driver_options(spec)[DRIVER_OPTIONS].startswith("-Dx=1 -XX:SharedArchiveFile=")
    monkeypatch.setenv("PODIUM_JVM_CDS", "0")
    assert driver_options(spec) == {}
