"""JVM libraries: `maven` and `jar` entries load on the cluster, resolved once into a cache
shared by every workspace, and a bad coordinate is one clear line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from podium.jvm import archive, jars, maven
from podium.spec.checks import coordinate_problem
from podium.spec.models import ClusterSpec, Library
from tests.cli.test_runs import ENV, PODIUM

H2 = "com.h2database:h2:2.3.232"

JDBC_NOTEBOOK = """# Databricks notebook source
url = "jdbc:h2:mem:shop;DB_CLOSE_DELAY=-1"
options = {"url": url, "dbtable": "nums", "driver": "org.h2.Driver"}
spark.range(3).write.format("jdbc").options(**options).mode("overwrite").save()
dbutils.notebook.exit(str(spark.read.format("jdbc").options(**options).load().count()))
"""

JDBC_BUNDLE = """bundle: {name: jdbc}
resources:
  jobs:
    load:
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_conf: {spark.master: "local[1]", spark.ui.enabled: "false",
                         spark.podium.delta: "false"}
      tasks:
        - task_key: t
          job_cluster_key: main
          notebook_task: {notebook_path: nb.py}
          libraries:
            - maven:
                coordinates: "%s"
"""


def jdbc_bundle(root: Path, coordinates: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "nb.py").write_text(JDBC_NOTEBOOK)
    (root / "databricks.yml").write_text(JDBC_BUNDLE % coordinates)
    return root


def podium(*args: str, home: Path, cache: Path) -> tuple[int, str, str]:
    import subprocess

    done = subprocess.run([*PODIUM, *args], capture_output=True, text=True, timeout=600,
                          env={**ENV, "PODIUM_HOME": str(home), "PODIUM_JVM_CACHE": str(cache)})
    return done.returncode, done.stdout, done.stderr


def snapshot(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its modification time: what a fetch would change."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


def test_a_task_uses_a_maven_library_and_the_second_start_fetches_nothing(
        tmp_path: Path) -> None:
    cache = tmp_path / "jvm-cache"
    cache.mkdir()
    own = jars.podium_jar()  # built by `make`; copied, so this test compiles nothing
    shutil.copy2(own, cache / own.name)
    made = archive.archive_path()  # and its drivers map the class-data archive `make` made
    if made.is_file():
        (cache / "cds").mkdir()
        (cache / "cds" / made.name).symlink_to(made)
    bundle = jdbc_bundle(tmp_path / "b", H2)
    code, text, _ = podium("validate", str(bundle), home=tmp_path / "h0", cache=cache)
    assert code == 0 and f"libraries of cluster load:main: {H2} (not cached)" in text

    code, text, err = podium("run", "load", "--bundle", str(bundle), "--json",
                             home=tmp_path / "h1", cache=cache)
    assert code == 0, err
    assert json.loads(text)["tasks"][0]["podium_exit_value"] == "3"
    cached = {p.name for p in cache.rglob("*.jar")}
    assert "h2-2.3.232.jar" in cached
    assert not any(name.startswith("delta-") for name in cached)  # the cluster opted out
    before = snapshot(cache)

    # A fresh workspace, a new process: the cache serves it, nothing is fetched.
    code, text, err = podium("run", "load", "--bundle", str(bundle), "--json",
                             home=tmp_path / "h2", cache=cache)
    assert code == 0, err
    assert json.loads(text)["tasks"][0]["podium_exit_value"] == "3"
    assert snapshot(cache) == before
    code, text, _ = podium("validate", str(bundle), home=tmp_path / "h0", cache=cache)
    assert f"libraries of cluster load:main: {H2} (cached)" in text


def test_a_coordinate_that_does_not_exist_fails_the_run_with_one_line(tmp_path: Path) -> None:
    missing = "com.example.podium:no-such-library:1.0"
    bundle = jdbc_bundle(tmp_path / "b", missing)
    code, text, err = podium("run", "load", "--bundle", str(bundle), "--json",
                             home=tmp_path / "h", cache=tmp_path / "cache")
    assert code == 1
    task = json.loads(text)["tasks"][0]
    assert task["state"]["result_state"] == "FAILED"
    message = task["state"]["state_message"]
    assert f"maven library '{missing}' not found" in message
    assert "\n" not in message and "Traceback" not in err


def test_validate_rejects_malformed_coordinates_at_their_line(tmp_path: Path) -> None:
    bundle = jdbc_bundle(tmp_path / "b", "h2-latest")
    code, _, err = podium("validate", str(bundle), home=tmp_path / "h", cache=tmp_path / "c")
    assert code == 2
    assert "databricks.yml:16:17:" in err
    assert "maven coordinates 'h2-latest' are not 'group:artifact:version'" in err
    assert "Traceback" not in err


@given(st.text(alphabet="abc.-_:1 ", max_size=30))
def test_only_group_artifact_version_is_a_coordinate(text: str) -> None:
    parts = text.strip().split(":")
    wellformed = len(parts) == 3 and all(p and " " not in p for p in parts)
    assert (coordinate_problem(text) is None) == wellformed


def test_a_task_library_joins_its_job_cluster_and_a_running_cluster_says_what_it_lacks(
        tmp_path: Path) -> None:
    from podium.spec import load_bundle

    job = load_bundle(jdbc_bundle(tmp_path / "b", H2)).jobs["load"]
    assert [lib.maven.coordinates for lib in job.cluster_as_started("main").libraries] == [H2]
    assert job.cluster_as_started(None).libraries == []  # no task on the default cluster
    h2 = Library.model_validate({"maven": {"coordinates": H2}})
    spec = ClusterSpec()
    assert jars.of_cluster(spec).maven.coordinates == (jars.delta_coordinates(),)
    plain = ClusterSpec.model_validate({"spark_conf": {"spark.podium.delta": "false"}})
    assert jars.of_cluster(plain).maven.coordinates == ()
    # Without Delta a cluster still gets podium's own jar (its thread binding, its status).
    assert jars.class_path(plain) == [str(jars.podium_jar())]

    class Running:  # what the executor asks: a cluster started with `spec`
        spec = ClusterSpec()

    assert jars.missing(Running(), [h2]) == [H2]
    Running.spec = ClusterSpec.model_validate({"libraries": [{"maven": {"coordinates": H2}}]})
    assert jars.missing(Running(), [h2]) == []


def test_the_cache_folder_follows_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PODIUM_JVM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert maven.cache_dir() == tmp_path / "podium" / "jvm"
    monkeypatch.setenv("PODIUM_JVM_CACHE", str(tmp_path / "mine"))
    assert maven.cache_dir() == tmp_path / "mine"


def test_a_cluster_without_delta_starts_without_podiums_jar_where_no_jdk_can_build_it(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PODIUM_JVM_CACHE", str(tmp_path / "empty-cache"))  # no jar built
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "a-jre"))  # no javac there
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # nor on PATH
    plain = ClusterSpec.model_validate({"spark_conf": {"spark.podium.delta": "false"}})
    assert jars.class_path(plain) == []
