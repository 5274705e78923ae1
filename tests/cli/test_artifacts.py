"""A bundle's wheel `artifacts`, built before the run that needs them, as the default-python
template has them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from podium.engine.artifacts import of_bundle
from podium.spec import load_bundle

PODIUM = [sys.executable, "-m", "podium"]
BUNDLE = """\
bundle: {name: wheels}
artifacts:
  python_artifact:
    type: whl
    build: uv build --wheel
resources:
  jobs:
    main:
      tasks:
        - task_key: main
          python_wheel_task: {package_name: slugs, entry_point: main}
          libraries:
            - whl: ./dist/*.whl
"""
PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
[project]
name = "slugs"
version = "0.1.0"
dependencies = ["inflection>=0.5"]
[project.scripts]
main = "slugs:main"
"""
MAIN = """\
import inflection
from databricks.sdk.runtime import dbutils

def main():
    slug = inflection.parameterize("{text}")
    dbutils.jobs.taskValues.set("slug", slug)
    print("slug", slug)
"""


def podium(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODIUM, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PODIUM_HOME": str(home)})


def test_the_wheel_is_built_when_missing_or_older_than_its_sources(tmp_path: Path,
                                                                  monkeypatch) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    package = tmp_path / "src" / "slugs"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(MAIN.format(text="Daily Sales"))
    home = tmp_path / "home"

    first = podium("run", "main", "--bundle", str(tmp_path), "--json", home=home)
    assert first.returncode == 0, first.stderr
    assert "building artifact 'python_artifact'" in first.stderr
    assert len(list((tmp_path / "dist").glob("slugs-0.1.0-*.whl"))) == 1
    view = json.loads(first.stdout)
    assert "slug daily-sales" in Path(view["tasks"][0]["log_path"]).read_text()
    monkeypatch.setenv("PODIUM_HOME", str(home))  # kept inside the bundle: not a source
    artifact = of_bundle(tmp_path, load_bundle(tmp_path).artifacts)[0]
    assert not artifact.stale()

    time.sleep(1.1)  # a source newer than the wheel, on any file system's clock
    (package / "__init__.py").write_text(MAIN.format(text="Top Items"))
    assert artifact.stale()
    second = podium("run", "main", "--bundle", str(tmp_path), "--json", home=home)
    assert second.returncode == 0, second.stderr
    assert "building artifact 'python_artifact'" in second.stderr
    values = json.loads(podium("runs", "get", str(json.loads(second.stdout)["run_id"]),
                               home=home).stdout)
    assert values["state"]["result_state"] == "SUCCESS"
    log = Path(values["tasks"][0]["log_path"]).read_text()
    assert "slug top-items" in log
    assert "building Python environment" in log  # the new wheel is a new environment


def test_a_build_that_fails_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE.replace("uv build --wheel",
                                                            "echo no compiler >&2; false"))
    done = podium("run", "main", "--bundle", str(tmp_path), home=tmp_path / "home")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"{tmp_path / 'databricks.yml'}:3:3: error: artifact 'python_artifact' did not "
        "build: `echo no compiler >&2; false` exited with 1: no compiler")


JAR_BUNDLE = """\
bundle: {name: jars}
artifacts:
  my_java_code:
    path: ./print_args
    build: "javac PrintArgs.java && jar cvfm PrintArgs.jar META-INF/MANIFEST.MF PrintArgs.class"
    files:
      - source: ./print_args/PrintArgs.jar
resources:
  jobs:
    jar_job:
      tasks:
        - task_key: print
          spark_jar_task:
            main_class_name: PrintArgs
            parameters: ["OUT", "hello from java"]
          libraries:
            - jar: ./print_args/PrintArgs.jar
"""
JAVA = """\
import java.nio.file.Files;
import java.nio.file.Path;

public class PrintArgs {
    public static void main(String[] args) throws Exception {
        Files.writeString(Path.of(args[0]), args[1]);
    }
}
"""


def test_any_build_command_makes_what_a_task_names(tmp_path: Path) -> None:
    """A JAR built with `javac ... && jar ...`, as Databricks' spark_jar_task example has it:
    built before the run, its output said, not built again while it is fresh."""
    out = tmp_path / "out.txt"
    (tmp_path / "databricks.yml").write_text(JAR_BUNDLE.replace("OUT", str(out)))
    (tmp_path / "print_args" / "META-INF").mkdir(parents=True)
    (tmp_path / "print_args" / "PrintArgs.java").write_text(JAVA)
    (tmp_path / "print_args" / "META-INF" / "MANIFEST.MF").write_text(
        "Manifest-Version: 1.0\nMain-Class: PrintArgs\n")
    home = tmp_path / "home"
    first = podium("run", "jar_job", "--bundle", str(tmp_path), home=home)
    assert first.returncode == 0, first.stderr
    assert "building artifact 'my_java_code'" in first.stderr
    assert "adding: PrintArgs.class" in first.stderr  # the build's own output, as it came
    assert out.read_text() == "hello from java"
    artifact = of_bundle(tmp_path, load_bundle(tmp_path).artifacts)[0]
    assert artifact.built() == [tmp_path / "print_args" / "PrintArgs.jar"]
    assert not artifact.stale()


def test_a_missing_build_tool_is_named_with_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(JAR_BUNDLE.replace(
        '"javac PrintArgs.java && jar cvfm PrintArgs.jar META-INF/MANIFEST.MF PrintArgs.class"',
        "sbt package").replace("./print_args/PrintArgs.jar",
                               "./print_args/target/scala-2.13/*.jar"))
    (tmp_path / "print_args").mkdir()
    done = podium("run", "jar_job", "--bundle", str(tmp_path), home=tmp_path / "home")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"{tmp_path / 'databricks.yml'}:3:3: error: artifact 'my_java_code' builds with "
        "`sbt`, which is not installed; install sbt (https://www.scala-sbt.org/download)"]
