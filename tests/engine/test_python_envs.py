"""Tasks with their own Python packages: built once with uv, run in their own process,
attached to the same Spark application as every other task of the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

from uv import find_uv_bin

from podium.engine.model import Run
from podium.engine.states import Result
from podium.spec import load_bundle
from tests.conftest import ENDLESS
from tests.engine.conftest import CLUSTER

SHOW_VERSION = """\
    # Databricks notebook source
    import packaging
    want = dbutils.widgets.get("want")
    assert packaging.__version__.startswith(want), packaging.__version__
    spark.range(1000).selectExpr("sum(id)").collect()
    dbutils.jobs.taskValues.set("version", packaging.__version__)
    dbutils.notebook.exit(packaging.__version__)
    """


def _notebook_on_main(run_job, notebook: str):
    """Run one notebook task on the session's cluster; its task run."""
    run = run_job(CLUSTER + "      tasks:\n"
                  "        - {task_key: nb, job_cluster_key: main,\n"
                  "           notebook_task: {notebook_path: nb.py}}\n",
                  files={"nb.py": notebook})
    return run.task_runs["nb"]


def _envs(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "envs").iterdir() if p.is_dir() and
                  (p / ".ready").exists())


def test_two_versions_of_a_package_on_one_cluster(run_job, executor, podium_home) -> None:
    job = CLUSTER + """
      tasks:
        - task_key: old
          job_cluster_key: main
          notebook_task: {notebook_path: show.py, base_parameters: {want: "23.2"}}
          libraries: [{pypi: {package: "packaging==23.2"}}]
        - task_key: new
          job_cluster_key: main
          notebook_task: {notebook_path: show.py, base_parameters: {want: "24."}}
          libraries: [{pypi: {package: "packaging==24.*"}}]
        - task_key: report
          job_cluster_key: main
          depends_on: [{task_key: old}, {task_key: new}]
          notebook_task: {notebook_path: report.py}
    """
    report = """\
        # Databricks notebook source
        import packaging
        seen = [dbutils.jobs.taskValues.get(t, "version") for t in ("old", "new")]
        dbutils.notebook.exit(",".join([*seen, packaging.__version__]))
        """
    run = run_job(job, files={"show.py": SHOW_VERSION, "report.py": report})
    old, new, rep = (run.task_runs[k] for k in ("old", "new", "report"))
    assert run.result is Result.SUCCESS, [old.error, new.error, rep.error]
    assert old.exit_value == "23.2" and new.exit_value.startswith("24.")
    # Both ran at once, on the one application the in-process task used too.
    assert old.attempts[0].start_ms < new.attempts[0].end_ms
    assert new.attempts[0].start_ms < old.attempts[0].end_ms
    application = executor.clusters.slots["j:main"].cluster.application_id
    assert old.spark_context_id == new.spark_context_id == rep.spark_context_id == application
    assert rep.exit_value == f"23.2,{new.exit_value},{version('packaging')}"
    assert len(_envs(podium_home)) == 2


def test_second_run_builds_nothing(run_job, podium_home) -> None:
    job = CLUSTER + """
      tasks:
        - task_key: t
          job_cluster_key: main
          notebook_task: {notebook_path: show.py, base_parameters: {want: "23.2"}}
          libraries: [{pypi: {package: "packaging==23.2"}}]
    """
    first = run_job(job, files={"show.py": SHOW_VERSION})
    assert first.result is Result.SUCCESS, first.task_runs["t"].error
    [env] = _envs(podium_home)
    ready = (podium_home / "envs" / env / ".ready").stat().st_mtime_ns
    second = run_job(job, files={"show.py": SHOW_VERSION})
    assert second.result is Result.SUCCESS
    assert _envs(podium_home) == [env]
    assert (podium_home / "envs" / env / ".ready").stat().st_mtime_ns == ready
    assert "Installing libraries" not in second.task_runs["t"].message


def test_a_pip_cell_makes_the_notebooks_environment(run_job) -> None:
    notebook = """\
        # Databricks notebook source
        # MAGIC %pip install inflection==0.5.1 --quiet

        # COMMAND ----------
        dbutils.library.restartPython()

        # COMMAND ----------
        import inflection
        dbutils.notebook.exit(inflection.camelize("daily_sales_report"))
        """
    tr = _notebook_on_main(run_job, notebook)
    assert tr.result is Result.SUCCESS, tr.error
    assert tr.exit_value == "DailySalesReport"
    log = tr.attempts[0].log_path.read_text()
    assert "%pip installed before the task started" in log


def test_environment_dependencies_and_a_failure_that_names_its_cell(run_job) -> None:
    job = """
      environments:
        - environment_key: tools
          spec: {client: "1", dependencies: ["tomli-w==1.0.0"]}
      tasks:
        - task_key: t
          environment_key: tools
          notebook_task: {notebook_path: nb.py}
    """
    notebook = """\
        # Databricks notebook source
        import tomli_w
        print(tomli_w.dumps({"a": 1}))

        # COMMAND ----------
        raise ValueError("bad row count")
        """
    run = run_job(job, files={"nb.py": notebook})
    tr = run.task_runs["t"]
    assert tr.result is Result.FAILED
    assert tr.error == "CellError: nb.py: cell 2, line 6: ValueError: bad row count"
    assert "a = 1" in tr.attempts[0].log_path.read_text()


def _build_wheel(folder: Path) -> Path:
    """A wheel whose entry point needs `inflection`, which podium's environment lacks."""
    project = folder / "proj"
    (project / "src" / "slugs").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "slugs"\nversion = "0.1.0"\n'
        'dependencies = ["inflection>=0.5"]\n'
        '[project.scripts]\nmain = "slugs:main"\n')
    (project / "src" / "slugs" / "__init__.py").write_text(
        "import sys\nimport inflection\n"
        "from databricks.sdk.runtime import spark, dbutils\n\n"
        "def main():\n"
        "    rows = spark.range(5).count()\n"
        "    dbutils.jobs.taskValues.set('slug', inflection.parameterize(sys.argv[1]))\n"
        "    print('rows', rows)\n")
    subprocess.run([find_uv_bin(), "build", "--wheel", "--quiet", "--out-dir",
                    str(folder / "dist"), str(project)], check=True)
    [wheel] = (folder / "dist").glob("*.whl")
    return wheel


def test_python_wheel_task_installs_its_wheel_and_dependencies(run_job, write_bundle) -> None:
    folder = write_bundle()
    _build_wheel(folder)
    run = run_job("""
      tasks:
        - task_key: w
          python_wheel_task: {package_name: slugs, entry_point: main,
                              parameters: ["Daily Sales {{job.parameters.region}}"]}
          libraries: [{whl: ./dist/*.whl}]
      parameters: [{name: region, default: EMEA}]
    """)
    tr = run.task_runs["w"]
    assert tr.result is Result.SUCCESS, tr.error
    assert run.values.get("w", "slug") == "daily-sales-emea"
    assert "rows 5" in tr.attempts[0].log_path.read_text()


def test_timeout_stops_the_spark_job_and_the_process(run_job, executor, tmp_path) -> None:
    pid_file = tmp_path / "pid"
    notebook = f"""\
        # Databricks notebook source
        import os, pathlib
        pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))
        {ENDLESS}
        """
    run = run_job(CLUSTER + """
      tasks:
        - task_key: long
          job_cluster_key: main
          timeout_seconds: 8
          notebook_task: {notebook_path: long.py}
          libraries: [{pypi: {package: "packaging==23.2"}}]
    """, files={"long.py": notebook})
    tr = run.task_runs["long"]
    assert tr.result is Result.TIMEDOUT
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    cluster = executor.clusters.slots["j:main"].cluster
    deadline = time.monotonic() + 10
    while (cluster.active_job_ids() or _alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.active_job_ids() == []
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose but its process table entry.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_a_failed_build_fails_the_task_with_uvs_reason(run_job) -> None:
    run = run_job("""
      tasks:
        - task_key: t
          python_task: {function: 'tests.engine.funcs:ok'}
          libraries: [{pypi: {package: "podium-no-such-package-xyz==1.0"}}]
        - task_key: after
          depends_on: [{task_key: t}]
          run_if: ALL_DONE
          python_task: {function: 'tests.engine.funcs:ok'}
    """)
    assert run.task_runs["t"].result is Result.FAILED
    assert "podium-no-such-package-xyz" in run.task_runs["t"].error
    assert "cannot build the task's Python environment" in run.task_runs["t"].error
    assert run.task_runs["after"].result is Result.SUCCESS


def test_interpreter_of_the_task_is_the_environments(run_job, podium_home) -> None:
    run = run_job("""
      tasks:
        - task_key: t
          python_task: {function: 'tests.engine.funcs:interpreter'}
          libraries: [{pypi: {package: "packaging==23.2"}}]
    """)
    tr = run.task_runs["t"]
    assert tr.result is Result.SUCCESS, tr.error
    assert tr.exit_value.startswith(str(podium_home / "envs"))
    assert tr.exit_value != sys.executable


def test_python_udfs_run_with_the_tasks_packages(run_job) -> None:
    notebook = """\
        # Databricks notebook source
        # MAGIC %pip install inflection==0.5.1

        # COMMAND ----------
        from pyspark.sql import functions as F
        camel = F.udf(lambda s: __import__("inflection").camelize(s))
        rows = spark.createDataFrame([("daily_sales",), ("top_items",)], "name string")
        out = sorted(r[0] for r in rows.select(camel("name")).collect())
        dbutils.notebook.exit(",".join(out))
        """
    tr = _notebook_on_main(run_job, notebook)
    assert tr.result is Result.SUCCESS, tr.error
    assert tr.exit_value == "DailySales,TopItems"


def test_cancel_stops_the_spark_job_and_the_process(executor, write_bundle, tmp_path) -> None:
    pid_file = tmp_path / "pid"
    root = write_bundle("bundle: {name: t}\nresources:\n  jobs:\n    j:\n" + CLUSTER + """
      tasks:
        - task_key: long
          job_cluster_key: main
          notebook_task: {notebook_path: long.py}
          libraries: [{pypi: {package: "packaging==23.2"}}]
    """, {"long.py": f"""\
        # Databricks notebook source
        import os, pathlib
        pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))
        {ENDLESS}
        """})
    bundle = load_bundle(root)
    run = Run("j", bundle.jobs["j"], root, {}, bundle.clusters)
    executor.submit(run)
    cluster = executor.clusters.slots["j:main"].cluster

    def cancel_once_running() -> None:
        deadline = time.monotonic() + 120
        while not (pid_file.exists() and cluster.active_job_ids()) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        executor.cancel(run.run_id)

    threading.Thread(target=cancel_once_running, daemon=True).start()
    executor.run_until_done([run])
    assert run.task_runs["long"].result is Result.CANCELED
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while (cluster.active_job_ids() or _alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.active_job_ids() == []
    assert not _alive(pid)


def test_for_each_iterations_share_one_build_which_one_log_tells(run_job, podium_home) -> None:
    run = run_job("""
      tasks:
        - task_key: each
          for_each_task:
            inputs: '["a", "b", "c"]'
            concurrency: 3
            task:
              task_key: each_iteration
              python_task: {function: 'tests.engine.funcs:interpreter'}
              libraries: [{pypi: {package: "packaging==23.2"}}]
    """)
    each = run.task_runs["each"]
    assert each.result is Result.SUCCESS
    assert len({it.exit_value for it in each.iterations}) == 1
    assert len(_envs(podium_home)) == 1
    logs = [it.attempts[0].log_path.read_text() for it in each.iterations]
    assert sum("building Python environment" in log for log in logs) == 1
    assert all("running in Python environment" in log for log in logs)
