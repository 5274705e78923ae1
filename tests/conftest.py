"""Shared fixtures: an isolated PODIUM_HOME and a helper that writes bundles to disk."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.runtime import output
from podium.spec import load_bundle

# The suite's hundreds of short runs start their drivers with C1 only (docs/clusters.md,
# `spark.podium.jit`): half the CPU of a cold run on this 2-core machine. Subprocesses
# inherit it; a test that needs the JVM's default sets the cluster's own setting.
os.environ.setdefault("PODIUM_JIT", "quick")
REPO = Path(__file__).resolve().parents[1]
# Databricks' rendered templates are test data, kept verbatim with their own tests.
collect_ignore = ["cli/templates"]
EXAMPLES = REPO / "examples"


@pytest.fixture(autouse=True)
def podium_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own workspace, as the standards ask."""
    home = tmp_path_factory.mktemp("podium_home")
    monkeypatch.setenv("PODIUM_HOME", str(home))
    return home


WriteBundle = Callable[..., Path]


@pytest.fixture
def write_bundle(tmp_path: Path) -> WriteBundle:
    """Write `files` (relative path -> text, dedented) under a fresh folder and return it;
    the first argument, if given, is the root `databricks.yml`."""

    def write(root_yaml: str | None = None, files: dict[str, str] | None = None) -> Path:
        folder = tmp_path / "bundle"
        folder.mkdir(exist_ok=True)
        files = dict(files or {})
        if root_yaml is not None:
            files["databricks.yml"] = root_yaml
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return folder

    return write


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """The output of a `podium` process once it ends. One still running after `timeout`
    seconds prints its threads' stacks (SIGUSR1), is killed, and fails the test with them:
    a hang in CI then says where it waited."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
        proc.kill()
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:  # its children hold the pipes: end its group too
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=15)
        pytest.fail(f"{' '.join(map(str, proc.args))} still ran after {timeout} s; "
                    f"its output ends:\n{(out or '')[-6000:]}\n{(err or '')[-12000:]}")


# A Spark job that runs until it is cancelled, for the tests of cancels and timeouts: one
# Spark task whose rows each sleep 10 ms. It holds a task slot as a busy job would, but
# about 3 % of a core instead of one, so the suite's other workers keep the cores while
# such a test waits. A cancel ends it at once; where Spark does not interrupt the task's
# thread, within 0.2 s (the task checks for a kill as it makes rows).
ENDLESS_SQL = ("SELECT java_method('java.lang.Thread', 'sleep', 10L) AS slept "
               "FROM range(0, 1000000000, 1, 1)")
ENDLESS = f'spark.sql("{ENDLESS_SQL}").collect()'  # the same as a notebook's line

TEST_CONF = {"spark.master": "local[2]", "spark.ui.enabled": "false"}
CLUSTER = """
      job_clusters:
        - job_cluster_key: main
          new_cluster: {spark_conf: {spark.master: "local[2]", spark.ui.enabled: "false"}}
"""


def driver_vm_option(run_job, executor, name: str) -> str:
    """A HotSpot option of the driver JVM that the session's `main` job cluster runs on,
    read from that JVM after a small notebook ran there."""
    from podium.engine.states import Result

    run = run_job(CLUSTER + "      tasks:\n        - {task_key: t, job_cluster_key: main, "
                  "notebook_task: {notebook_path: nb.py}}\n",
                  files={"nb.py": "# Databricks notebook source\nspark.range(3).count()\n"})
    assert run.result is Result.SUCCESS
    jvm = executor.clusters.slots["j:main"].cluster.root._jvm
    return jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.com.sun.management.HotSpotDiagnosticMXBean._java_lang_class).getVMOption(
        name).getValue()


def on_session_cluster(job):
    """Point a job's clusters at the test session's one application (one classic driver
    per process; differently configured clusters need Spark Connect)."""
    for cluster in job.job_clusters:
        cluster.new_cluster.spark_conf = dict(TEST_CONF)
    return job


@pytest.fixture(scope="session")
def executor() -> Iterator[Executor]:
    """A long-lived executor whose clusters stay up between tests."""
    output.install()
    ex = Executor(keep_clusters=True)
    yield ex
    ex.clusters.stop_all()


@pytest.fixture
def run_job(executor: Executor, write_bundle):
    """Write a one-job bundle (tasks YAML under `jobs.j`), run it to the end, return it."""

    def run(job_yaml: str, files: dict[str, str] | None = None,
            params: dict[str, str] | None = None) -> Run:
        root = write_bundle("bundle: {name: t}\nresources:\n  jobs:\n    j:\n" + job_yaml,
                            files)
        bundle = load_bundle(root)
        job = bundle.jobs["j"]
        values = {p.name: str(p.default) for p in job.parameters} | (params or {})
        the_run = Run("j", job, root, values, bundle.clusters)
        executor.submit(the_run)
        executor.run_until_done([the_run])
        return the_run

    return run


# Files whose tests start no Spark (no JVM, no `podium run` of a Spark task): marked
# `no_spark`, which `make test-fast` runs, in well under a minute.
NO_SPARK_FILES = (
    "tests/test_imports.py", "tests/spec/test_errors.py", "tests/spec/test_loader.py",
    "tests/spec/test_policies.py", "tests/spec/test_quartz.py",
    "tests/spec/test_workspace_paths.py", "tests/spec/test_mutations.py",
    "tests/store/test_history.py", "tests/store/test_migrations.py",
    "tests/triggers/test_loop.py", "tests/compute/test_manager.py",
    "tests/compute/test_concurrency.py",
    "tests/engine/test_run_if.py", "tests/engine/test_databricks_forms.py",
    "tests/engine/test_step_clock.py", "tests/engine/test_workers.py",
    "tests/runtime/test_dbutils.py", "tests/runtime/test_notebook_context.py",
    "tests/runtime/test_notebooks.py", "tests/runtime/test_task_output.py",
    "tests/tasks/test_requirements.py", "tests/server/test_log_lines.py",
    "tests/cli/test_serve.py", "tests/server/test_scim.py",
    "tests/server/test_connect_routes.py", "tests/server/test_database_outage.py",
    "tests/server/test_full_disk.py", "tests/compute/test_standalone_master.py",
    "tests/test_threads.py", "tests/runtime/test_secret_store.py",
    "tests/spec/test_param_sets.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_spark: starts no Spark; `make test-fast` runs these")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need no Spark. Run the Spark Connect tests last in a serial
    run: they leave Connect servers and sessions in the process, and the other tests
    should meet the classic session as a user's first run does. (Across workers, xdist
    starts the files with the most tests first.)"""
    for item in items:
        if any(str(item.fspath).endswith(name) for name in NO_SPARK_FILES):
            item.add_marker(pytest.mark.no_spark)

    def key(item: pytest.Item) -> bool:
        return "tests/compute/test_connect.py" in str(item.fspath)

    items.sort(key=key)
