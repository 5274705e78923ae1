"""`podium run` as a user runs it: exit codes, JSON, Ctrl-C, no JVM for pure Python."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_validate import PODIUM, podium
from tests.conftest import ENDLESS, finish

PY_ONLY = """bundle: {name: py}
resources:
  jobs:
    j:
      parameters: [{name: who, default: world}]
      tasks:
        - {task_key: a, python_task: {function: 'tests.engine.funcs:ok',
           parameters: {who: '{{job.parameters.who}}'}}}
        - {task_key: b, depends_on: [{task_key: a}],
           python_task: {function: 'tests.engine.funcs:fail'}}
"""

LONG = """bundle: {name: long}
resources:
  jobs:
    j:
      job_clusters: [{job_cluster_key: c, new_cluster: {spark_conf: {spark.master: "local[1]"}}}]
      tasks:
        - {task_key: long, job_cluster_key: c, notebook_task: {notebook_path: long.py}}
"""


def test_pure_python_job_runs_without_a_jvm(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(PY_ONLY)
    script = (
        f"import sys; sys.path.insert(0, {str(Path.cwd())!r})\n"
        "from podium.cli import main\n"
        f"sys.argv = ['podium', 'run', 'j', '--bundle', {str(tmp_path)!r}, '--json',\n"
        "            '--param', 'who=you']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "from pyspark import SparkContext\n"
        "print('JVM', SparkContext._gateway is not None, 'EXIT', code, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert "JVM False EXIT 1" in done.stderr, done.stderr
    result = json.loads(done.stdout)
    assert result["state"]["result_state"] == "FAILED"
    a, b = result["tasks"]
    assert a["state"]["result_state"] == "SUCCESS" and "cluster_instance" not in a
    assert a["podium_exit_value"] == "who=you"
    assert b["error"] == "RuntimeError: failing on purpose"
    assert result["job_parameters"] == [{"name": "who", "value": "you"}]


def test_unknown_param_and_job_exit_2(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(PY_ONLY)
    done = podium("run", "j", "--bundle", str(tmp_path), "--param", "whom=x")
    assert done.returncode == 2
    assert "--param: error: job 'j' has no parameter 'whom' (parameters: who)" in done.stderr
    done = podium("run", "jj", "--bundle", str(tmp_path))
    assert done.returncode == 2
    assert "no job or pipeline 'jj' in bundle 'py'; did you mean 'j'?" in done.stderr


UDF = """bundle: {name: udf}
resources:
  jobs:
    j:
      job_clusters:
        - job_cluster_key: c
          new_cluster:
            spark_conf: {spark.master: "local[1]"}
            spark_env_vars: {PYSPARK_PYTHON: /databricks/python3/bin/python3}
      tasks:
        - {task_key: u, job_cluster_key: c, notebook_task: {notebook_path: udf.py}}
"""


def test_python_udfs_run_in_podiums_python_whatever_path_and_the_cluster_say(
        tmp_path: Path) -> None:
    # A podium started by its full path (cron, an IDE): the first python3 on PATH is
    # the system's, without pyarrow, and the cluster names Databricks' own Python.
    (tmp_path / "databricks.yml").write_text(UDF)
    (tmp_path / "udf.py").write_text(
        "# Databricks notebook source\nfrom pyspark.sql.functions import udf\n\n"
        "@udf('string')\ndef where(x):\n    import sys\n    return sys.executable\n\n"
        "dbutils.notebook.exit(spark.range(1).select(where('id')).first()[0])\n")
    env = {k: v for k, v in os.environ.items() if k != "PYSPARK_PYTHON"}
    done = subprocess.run([*PODIUM, "run", "j", "--bundle", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=300,
                          env={**env, "PYTHONPATH": str(Path.cwd()), "PATH": "/usr/bin:/bin",
                               "PODIUM_HOME": str(tmp_path / "home")})
    task = json.loads(done.stdout)["tasks"][0]
    assert task["state"]["result_state"] == "SUCCESS", task["state"]["state_message"]
    assert task["podium_exit_value"] == sys.executable
    # The UDF's Python workers reported to PySpark's accumulator server, which the cluster
    # shuts down in the background: quietly, and the driver's JVM ended with the process.
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert [c for c in processes_of(tmp_path / "home") if "java" in c.split(" ")[0]] == []
    deadline = time.monotonic() + 10  # its Python workers end once they see it gone
    while processes_of(tmp_path / "home"):
        assert time.monotonic() < deadline, processes_of(tmp_path / "home")
        time.sleep(0.1)


def processes_of(home: Path) -> list[str]:
    """The commands of the live processes started with PODIUM_HOME=`home`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if f"PODIUM_HOME={home}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:  # not a process, or gone meanwhile
            continue
    return found


def test_sigint_cancels_running_spark_task_and_exits_130(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(LONG)
    (tmp_path / "long.py").write_text(f"# Databricks notebook source\n{ENDLESS}\n")
    proc = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    deadline = time.monotonic() + 120
    seen = ""
    while "long attempt 0: RUNNING" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    time.sleep(3)  # let the Spark job get going
    proc.send_signal(signal.SIGINT)
    out, _ = finish(proc, 60)
    assert proc.returncode == 130
    result = json.loads(out)
    assert result["state"]["result_state"] == "CANCELED"
    assert [t["state"]["life_cycle_state"] for t in result["tasks"]] == ["TERMINATED"]
    assert result["tasks"][0]["state"]["result_state"] == "CANCELED"


def test_live_progress_on_a_terminal_finishes_and_shows_the_table(tmp_path: Path) -> None:
    import pty
    import select

    (tmp_path / "databricks.yml").write_text(PY_ONLY)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*PODIUM, "run", "j", "--bundle", str(tmp_path)], stdin=follower,
                            stdout=follower, stderr=follower, close_fds=True,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd()),
                                 "COLUMNS": "120"})
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=10) == 1
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))
    assert "┃ task" in text and "UPSTREAM_FAILED" not in text
    assert "Run " in text and "of j: FAILED" in text
    assert "b failed: RuntimeError: failing on purpose" in text
