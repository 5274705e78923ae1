"""What task code writes, by any route, lands in its own task's log: prints, bytes,
subprocesses, `%sh` cells; and `%fs`, `%scala` cells behave as on Databricks."""

from __future__ import annotations

import os
import subprocess
import threading

from podium.engine.states import Result
from podium.runtime import output
from tests.conftest import CLUSTER

STREAMS = """# Databricks notebook source
import os, subprocess, sys
dbutils.widgets.text("name", "")
name = dbutils.widgets.get("name")
sys.stdout.buffer.write(b"bytes from " + name.encode() + b" \\xff\\xfe end\\n")
sys.stdout.buffer.flush()
assert sys.stdout.encoding == "utf-8" and sys.stdout.errors == "replace"
assert sys.stdout.isatty() is False and sys.stdout.writable()
sys.stdout.writelines([f"line one of {name}\\n", f"line two of {name}\\n"])
os.write(sys.stdout.fileno(), f"fd write of {name}\\n".encode())
for i in range(20):
    os.system(f"echo os.system {name} {i}")
subprocess.run(["sh", "-c", f"echo subprocess {name}; echo stderr {name} >&2; "
                f"printf 'bad \\\\377 byte {name}\\\\n'"], check=True)
print(f"after subprocess {name}")
status = os.system("exit 3")
print(f"os.system status {status}")
"""


def test_streams_and_subprocesses_of_concurrent_tasks_reach_their_own_logs(run_job) -> None:
    task = ("        - {task_key: %s, job_cluster_key: main, notebook_task: "
            "{notebook_path: streams.py, base_parameters: {name: %s}}}\n")
    run = run_job(CLUSTER + "      tasks:\n" + task % ("a", "alpha") + task % ("b", "beta"),
                  files={"streams.py": STREAMS})
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}
    for key, mine, other in (("a", "alpha", "beta"), ("b", "beta", "alpha")):
        log = run.task_runs[key].attempts[0].log_path.read_text(encoding="utf-8")
        assert f"bytes from {mine} \ufffd\ufffd end" in log
        assert f"line one of {mine}\nline two of {mine}\n" in log
        assert f"fd write of {mine}" in log
        assert all(f"os.system {mine} {i}\n" in log for i in range(20))
        assert f"subprocess {mine}\n" in log and f"stderr {mine}\n" in log
        assert f"bad \ufffd byte {mine}" in log
        assert log.index(f"subprocess {mine}") < log.index(f"after subprocess {mine}")
        assert "os.system status 768" in log
        assert other not in log


SHELL = """# Databricks notebook source
# MAGIC %sh
# MAGIC echo "shell in $(basename "$PWD")"
# MAGIC ls data.csv

# COMMAND ----------

# MAGIC %fs put dbfs:/tmp/notes.txt "hello fs"

# COMMAND ----------

# MAGIC %fs ls dbfs:/tmp

# COMMAND ----------

# MAGIC %fs head dbfs:/tmp/notes.txt

# COMMAND ----------

dbutils.notebook.exit(dbutils.fs.head("dbfs:/tmp/notes.txt"))
"""


def test_sh_and_fs_cells_run(run_job) -> None:
    run = run_job(CLUSTER + "      tasks:\n        - {task_key: nb, job_cluster_key: main, "
                  "notebook_task: {notebook_path: nb/shell.py}}\n",
                  files={"nb/shell.py": SHELL, "nb/data.csv": "a,b\n"})
    tr = run.task_runs["nb"]
    assert run.result is Result.SUCCESS, tr.error
    log = tr.attempts[0].log_path.read_text()
    assert "shell in nb\n" in log and "data.csv\n" in log
    assert "dbfs:/tmp/notes.txt\t8\t" in log
    assert tr.exit_value == "hello fs"


FAILING_SHELL = """# Databricks notebook source
x = 1

# COMMAND ----------

# MAGIC %sh
# MAGIC echo before
# MAGIC exit 4
"""

SCALA = """# Databricks notebook source
# MAGIC %scala
# MAGIC val x = 1
"""


def test_failing_sh_cell_and_scala_cell_name_their_cell(run_job) -> None:
    run = run_job(CLUSTER + "      tasks:\n"
                  "        - {task_key: sh, job_cluster_key: main, notebook_task: "
                  "{notebook_path: sh.py}}\n"
                  "        - {task_key: scala, job_cluster_key: main, notebook_task: "
                  "{notebook_path: scala.py}}\n",
                  files={"sh.py": FAILING_SHELL, "scala.py": SCALA})
    sh, scala = run.task_runs["sh"], run.task_runs["scala"]
    assert sh.result is Result.FAILED and scala.result is Result.FAILED
    assert sh.error == ("CellError: sh.py: cell 2, line 6: ShellCellError: %sh cell exited "
                        "with status 4")
    assert "before\n" in sh.attempts[0].log_path.read_text()
    assert scala.error.startswith("CellError: scala.py: cell 1, line 2: NotImplementedError: "
                                  "%scala cells cannot run on podium")


def test_a_log_is_made_at_its_first_line_so_a_silent_task_leaves_none(run_job) -> None:
    run = run_job("      tasks:\n"
                  "        - {task_key: loud, python_task: {function: 'tests.engine.funcs:nap', "
                  "parameters: {v: one, seconds: '0'}}}\n"
                  "        - {task_key: quiet, python_task: {function: 'tests.engine.funcs:"
                  "noop'}}\n")
    assert run.result is Result.SUCCESS, {k: t.error for k, t in run.task_runs.items()}
    loud, quiet = (run.task_runs[k].attempts[0].log_path for k in ("loud", "quiet"))
    assert loud.read_text() == "iteration one\n"
    assert quiet.name == "0.log" and not quiet.exists() and not quiet.parent.exists()


def test_subprocesses_start_while_another_thread_changes_the_environment() -> None:
    """A cluster's start writes `os.environ` while a task's environment is built with uv:
    every child gets its own copy of the environment, so none fails to exec."""
    output.install()
    os.environ["PODIUM_SEEN_BY_CHILD"] = "yes"
    stop = threading.Event()

    def write() -> None:
        made = 0
        while not stop.is_set():
            os.environ[f"PODIUM_RACE_{made}"] = "x"
            made += 1
            if made % 100 == 0:
                for old in range(made - 100, made):
                    del os.environ[f"PODIUM_RACE_{old}"]

    writer = threading.Thread(target=write)
    writer.start()
    try:
        codes = [subprocess.run(["true"]).returncode for _ in range(200)]
        seen = subprocess.run(["sh", "-c", "echo $PODIUM_SEEN_BY_CHILD"],
                              capture_output=True, text=True).stdout
    finally:
        stop.set()
        writer.join()
        for name in [n for n in os.environ if n.startswith("PODIUM_RACE_")]:
            del os.environ[name]
        del os.environ["PODIUM_SEEN_BY_CHILD"]
    assert codes == [0] * 200
    assert seen == "yes\n"
