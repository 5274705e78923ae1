"""The Clusters API with databricks-sdk: all-purpose clusters are podium's shared clusters
(Spark Connect servers), created, used by a job, edited, listed and deleted."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta

import pytest
from databricks.sdk.errors import ResourceDoesNotExist
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import Language

from tests.server.conftest import PODIUM, Server, env_for

APP_ID = """# Databricks notebook source
dbutils.notebook.exit(spark.conf.get("spark.app.name") + ":" + str(spark.range(5).count()))
"""


def test_create_run_on_edit_and_delete_an_all_purpose_cluster(server: Server) -> None:
    w = server.sdk()
    version = w.clusters.select_spark_version(latest=True, long_term_support=True)
    assert version == "16.4.x-scala2.12"
    node = w.clusters.select_node_type(local_disk=True)
    assert node.startswith("local-")
    created = w.clusters.create(
        cluster_name="analysts", spark_version=version, node_type_id=node, num_workers=1,
        autotermination_minutes=30, spark_conf={"spark.master": "local[1]"}
    ).result(timeout=timedelta(minutes=4))
    cluster_id = created.cluster_id
    try:
        assert created.state == compute.State.RUNNING
        assert created.creator_user_name == w.current_user.me().user_name
        assert cluster_id in [c.cluster_id for c in w.clusters.list()]
        listed = subprocess.run([*PODIUM, "cluster", "list", "--json"], capture_output=True,
                                text=True, env=env_for(server.home), timeout=60)
        assert cluster_id in listed.stdout

        me = w.current_user.me().user_name
        w.workspace.upload(f"/Users/{me}/app_id", io.BytesIO(APP_ID.encode()),
                           language=Language.PYTHON, overwrite=True)
        job = w.jobs.create(name="on-analysts", tasks=[jobs.Task(
            task_key="t", existing_cluster_id=cluster_id,
            notebook_task=jobs.NotebookTask(notebook_path=f"/Users/{me}/app_id"))])
        run = w.jobs.run_now(job.job_id).result()
        assert run.state.result_state == jobs.RunResultState.SUCCESS, \
            w.jobs.get_run_output(run.tasks[0].run_id).error
        assert w.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result.endswith(":5")

        w.clusters.edit(cluster_id, cluster_name="analysts", spark_version=version,
                        num_workers=1, autotermination_minutes=45,
                        spark_conf={"spark.master": "local[1]"})
        w.clusters.wait_get_cluster_running(cluster_id, timeout=timedelta(minutes=4))
        edited = w.clusters.get(cluster_id)
        assert edited.autotermination_minutes == 45
        kinds = [e.type for e in w.clusters.events(cluster_id, order=compute.GetEventsOrder.ASC)]
        assert kinds[0] == compute.EventType.CREATING
        assert compute.EventType.EDITED in kinds and compute.EventType.RUNNING in kinds

        w.clusters.delete(cluster_id).result(timeout=timedelta(minutes=2))
        assert w.clusters.get(cluster_id).state == compute.State.TERMINATED
        again = w.jobs.run_now(job.job_id).result()  # as on Databricks, the job starts it
        assert again.state.result_state == jobs.RunResultState.SUCCESS
        assert w.clusters.get(cluster_id).state == compute.State.RUNNING
    finally:
        w.clusters.permanent_delete(cluster_id)
    # a 400 INVALID_PARAMETER_VALUE, which databricks-sdk (as on Databricks) turns into this
    with pytest.raises(ResourceDoesNotExist, match=f"Cluster {cluster_id} does not exist"):
        w.clusters.get(cluster_id)
