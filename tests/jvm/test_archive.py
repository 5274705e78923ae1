"""The class-data archive every driver maps (made once by `make`)."""

from __future__ import annotations

from podium.jvm import archive
from tests.conftest import driver_vm_option


def test_drivers_map_the_archive_make_built(run_job, executor) -> None:
    assert archive.archive_path().is_file(), "`make java` builds it"
    assert driver_vm_option(run_job, executor, "SharedArchiveFile") == \
        str(archive.archive_path())


def test_the_option_follows_the_clusters_own(monkeypatch) -> None:
    from podium.compute.cluster_conf import DRIVER_OPTIONS, driver_options
    from podium.spec.models import ClusterSpec

    spec = ClusterSpec.model_validate(
        {"spark_conf": {"spark.driver.extraJavaOptions": "-Dx=1", "spark.podium.jit": "full"}})
    assert driver_options(spec)[DRIVER_OPTIONS].startswith("-Dx=1 -XX:SharedArchiveFile=")
    monkeypatch.setenv("PODIUM_JVM_CDS", "0")
    assert driver_options(spec) == {}
