"""The settings every cluster gets on top of its own: here, how its driver's JVM compiles
(`spark.podium.jit`, else `PODIUM_JIT`) and the class-data archive it maps, and its
executors'."""

from __future__ import annotations

import sys

import pytest

from podium.compute.cluster_conf import (
    DRIVER_OPTIONS,
    EXECUTOR_OPTIONS,
    PYTHON_ENV,
    driver_options,
    executor_options,
    jit,
    worker_python,
)
from podium.compute.errors import ClusterError
from podium.jvm import archive
from podium.spec.models import ClusterSpec
from tests.conftest import driver_vm_option


def spec(**conf: str) -> ClusterSpec:
    return ClusterSpec.model_validate({"spark_conf": conf})


def test_the_cluster_says_then_the_environment_then_full(monkeypatch) -> None:
    monkeypatch.setenv("PODIUM_JVM_CDS", "0")  # the JIT's options alone
    monkeypatch.delenv("PODIUM_JIT", raising=False)
    assert jit(spec()) == "full"
    assert "TieredStopAtLevel" not in driver_options(spec()).get(DRIVER_OPTIONS, "")
    monkeypatch.setenv("PODIUM_JIT", "quick")
    assert jit(spec()) == "quick"
    assert driver_options(spec())[DRIVER_OPTIONS].endswith("-XX:TieredStopAtLevel=1")
    assert jit(spec(**{"spark.podium.jit": "Full"})) == "full"
    assert executor_options(spec(**{"spark.podium.jit": "Full"})) == {}
    with pytest.raises(ClusterError, match="'fast'; use 'full' or 'quick'"):
        jit(spec(**{"spark.podium.jit": "fast"}))


def test_executors_compile_as_the_driver_does_after_the_clusters_own_options(
        monkeypatch) -> None:
    monkeypatch.setenv("PODIUM_JVM_CDS", "0")
    monkeypatch.setenv("PODIUM_JIT", "quick")
    assert executor_options(spec()) == {EXECUTOR_OPTIONS: "-XX:TieredStopAtLevel=1"}
    own = spec(**{EXECUTOR_OPTIONS: "-Dfoo=1"})
    assert executor_options(own) == {EXECUTOR_OPTIONS: "-Dfoo=1 -XX:TieredStopAtLevel=1"}
    monkeypatch.setenv("PODIUM_JIT", "full")
    assert executor_options(own) == {}  # the cluster's own stay as they are


def test_executors_map_the_drivers_class_data_archive(monkeypatch) -> None:
    """A standalone worker on this machine starts its executors with the driver's class
    path, so they map the same archive (which `make` built) before the JIT's option."""
    monkeypatch.setenv("PODIUM_JIT", "quick")
    mapped = f"-XX:SharedArchiveFile={archive.archive_path()}"
    assert archive.archive_path().is_file()
    own = spec(**{EXECUTOR_OPTIONS: "-Dfoo=1"})
    options = executor_options(own)[EXECUTOR_OPTIONS].split()
    assert options[0] == "-Dfoo=1" and options[-1] == "-XX:TieredStopAtLevel=1"
    assert mapped in options and mapped in driver_options(own)[DRIVER_OPTIONS].split()
    monkeypatch.setenv("PODIUM_JVM_CDS", "0")
    assert "SharedArchiveFile" not in executor_options(own)[EXECUTOR_OPTIONS]


def test_the_suite_runs_its_drivers_quick_and_the_jvm_has_the_flag(run_job, executor) -> None:
    # tests/conftest.py sets PODIUM_JIT=quick for the suite's many short runs
    assert driver_vm_option(run_job, executor, "TieredStopAtLevel") == "1"


def test_python_workers_run_a_python_that_is_here_else_podiums(monkeypatch) -> None:
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    assert worker_python(ClusterSpec()) == sys.executable
    databricks = ClusterSpec(spark_env_vars={PYTHON_ENV: "/databricks/python3/bin/python3"})
    assert worker_python(databricks) == sys.executable  # not on this machine: podium's
    assert worker_python(ClusterSpec(spark_env_vars={PYTHON_ENV: "sh"})) == "sh"
    monkeypatch.setenv(PYTHON_ENV, "true")  # the user's own, when the cluster says none
    assert worker_python(ClusterSpec()) == "true"
    assert worker_python(databricks) == "true"
