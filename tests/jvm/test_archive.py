"""The class-data archive every driver maps (made once by `make`)."""

from __future__ import annotations

from pathlib import Path

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


def test_each_spark_folder_and_jar_version_gets_its_own_archive(tmp_path: Path) -> None:
    """A JVM silently ignores an archive made with other class path entries, so a second
    venv (or a jar rewritten since) must not reuse another's."""
    java = tmp_path / "java"
    java.write_text("")
    one, two = tmp_path / "a" / "jars", tmp_path / "b" / "jars"
    for jars in (one, two):
        jars.mkdir(parents=True)
        (jars / "spark-core.jar").write_bytes(b"x")
    name = archive.archive_name(java, one, "4.2.0")
    assert name == archive.archive_name(java, one, "4.2.0")
    assert name.startswith("spark-4.2.0-") and name.endswith(".jsa")
    assert archive.archive_name(java, two, "4.2.0") != name  # another venv's Spark
    (one / "spark-core.jar").write_bytes(b"xy")
    assert archive.archive_name(java, one, "4.2.0") != name  # the jar was replaced


def test_prune_deletes_the_archives_of_spark_folders_that_are_gone(tmp_path: Path,
                                                                   monkeypatch) -> None:
    monkeypatch.setenv("PODIUM_JVM_CACHE", str(tmp_path))
    archive.archive_path.cache_clear()
    try:
        cds = tmp_path / "cds"
        cds.mkdir()
        kept, gone, unnoted = (cds / f"{n}.jsa" for n in ("kept", "gone", "unnoted"))
        for path in (kept, gone, unnoted, archive.archive_path()):
            path.write_bytes(b"archive")
        kept.with_suffix(archive.SOURCE).write_text(str(tmp_path))  # another venv's, there
        gone.with_suffix(archive.SOURCE).write_text(str(tmp_path / "removed-venv"))
        assert archive.prune() == [gone, unnoted]  # unnoted: an older podium's
        assert sorted(p.name for p in cds.glob("*.jsa")) == sorted(
            ["kept.jsa", archive.archive_path().name])  # this venv's own stays
    finally:
        archive.archive_path.cache_clear()
