"""`spark_jar_task`: a compiled main class from the task's jar, on the cluster's driver."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pyspark

from podium.engine.states import Result
from tests.engine.conftest import CLUSTER

COUNT = """\
package com.example;

import org.apache.spark.sql.SparkSession;

public class Count {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().getOrCreate();
        long n = spark.range(Long.parseLong(args[0])).filter("id % 2 = 0").count();
        spark.range(n).write().mode("overwrite").parquet(args[1]);
        if (n == 0) {
            throw new IllegalArgumentException("nothing to count in " + args[0]);
        }
    }
}
"""


def _jar(folder: Path) -> Path:
    """Compile Count.java against Spark's jars and package it."""
    source = folder / "src" / "com" / "example" / "Count.java"
    source.parent.mkdir(parents=True)
    source.write_text(COUNT)
    classes = folder / "classes"
    home = os.environ.get("JAVA_HOME")
    javac = os.path.join(home, "bin", "javac") if home else shutil.which("javac")
    jars = Path(pyspark.__file__).parent / "jars" / "*"
    subprocess.run([javac, "-d", str(classes), "-cp", str(jars), str(source)], check=True)
    jar = folder / "count.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        for path in classes.rglob("*.class"):
            archive.write(path, path.relative_to(classes).as_posix())
    return jar


def test_a_main_class_runs_on_the_clusters_driver(run_job, write_bundle, tmp_path) -> None:
    _jar(write_bundle())
    out = tmp_path / "evens"
    run = run_job(CLUSTER + f"""
      parameters: [{{name: rows, default: "10"}}]
      tasks:
        - task_key: count
          job_cluster_key: main
          spark_jar_task:
            main_class_name: com.example.Count
            parameters: ["{{{{job.parameters.rows}}}}", "{out}"]
          libraries: [{{jar: ./count.jar}}]
        - task_key: none
          job_cluster_key: main
          depends_on: [{{task_key: count}}]
          spark_jar_task:
            main_class_name: com.example.Count
            parameters: ["0", "{out}-none"]
          libraries: [{{jar: ./count.jar}}]
        - task_key: missing
          job_cluster_key: main
          spark_jar_task: {{main_class_name: com.example.Nope}}
    """)
    assert run.task_runs["count"].result is Result.SUCCESS, run.task_runs["count"].error
    assert len(list(out.glob("*.parquet"))) >= 1
    none = run.task_runs["none"]
    assert none.result is Result.FAILED
    assert none.error == ("JarTaskError: com.example.Count.main threw "
                          "java.lang.IllegalArgumentException: nothing to count in 0")
    assert "class 'com.example.Nope' is not in the cluster's jars" in \
        run.task_runs["missing"].error
