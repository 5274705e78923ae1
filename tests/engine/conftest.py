"""Engine fixtures: one executor (and so one Spark application) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.runtime import output
from podium.spec import load_bundle

HERE = Path(__file__).parent
TEST_CONF = {"spark.master": "local[2]", "spark.ui.enabled": "false"}
CLUSTER = """
      job_clusters:
        - job_cluster_key: main
          new_cluster: {spark_conf: {spark.master: "local[2]", spark.ui.enabled: "false"}}
"""


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
