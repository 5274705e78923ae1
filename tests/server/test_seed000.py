"""Seed 000's SDK script, run as a user runs it against a real `podium serve`: it reads the
current user, picks a Spark version, creates a job with two job clusters (one through a
cluster policy made here) and runs it to SUCCESS, ingestion and ML tasks each sharing
their own Spark application."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from databricks.sdk.service.workspace import Language

from tests.conftest import EXAMPLES
from tests.server.conftest import Server, env_for

SEED = EXAMPLES / "seed000_sdk"


def test_seed000_script_creates_and_runs_its_job_on_two_reused_clusters(server: Server
                                                                         ) -> None:
    w = server.sdk()
    policy = w.cluster_policies.create(
        name="ingestion", definition=(SEED / "ingestion_policy.json").read_text())
    me = w.current_user.me().user_name
    for notebook in sorted((SEED / "notebooks").glob("*.py")):
        w.workspace.upload(f"/Users/{me}/{notebook.stem}", io.BytesIO(notebook.read_bytes()),
                           language=Language.PYTHON, overwrite=True)

    done = subprocess.run(
        [sys.executable, str(SEED / "create_job.py")], capture_output=True, text=True,
        timeout=600, env=env_for(server.home, DATABRICKS_HOST=server.url,
                                 DATABRICKS_TOKEN=server.token, POLICY_ID=policy.policy_id))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith(": SUCCESS")
    run_id = int(done.stdout.split(" run ")[1].split(":")[0])

    run = server.get("/api/2.1/jobs/runs/get", run_id=run_id).json()
    apps = {t["task_key"]: t["cluster_instance"]["spark_context_id"] for t in run["tasks"]}
    assert apps["Ingestion_Silver"] == apps["Ingestion_Gold"]
    assert apps["ML_Feature_Engineering"] == apps["ML_Batch_Scoring"]
    assert apps["Ingestion_Silver"] != apps["ML_Feature_Engineering"]
    outputs = {t["task_key"]: server.get("/api/2.1/jobs/runs/get-output", run_id=t["run_id"]
                                         ).json()["notebook_output"]["result"]
               for t in run["tasks"]}
    assert outputs == {"Ingestion_Silver": "10000", "Ingestion_Gold": "7",
                       "ML_Feature_Engineering": "7", "ML_Batch_Scoring": "7"}

    job = server.get("/api/2.1/jobs/get", job_id=run["job_id"]).json()
    ingestion = next(c for c in job["settings"]["job_clusters"]
                     if c["job_cluster_key"] == "ingestion_job_cluster")["new_cluster"]
    assert ingestion["spark_conf"] == {"spark.master": "local[1]"}  # the policy's values
    assert ingestion["custom_tags"] == {"team": "ingestion"} and ingestion["num_workers"] == 1
    assert json.loads(w.cluster_policies.get(policy.policy_id).definition)[
        "spark_conf.spark.master"]["value"] == "local[1]"


def test_clusters_breaking_a_policy_are_refused_over_the_api(server: Server) -> None:
    w = server.sdk()
    policy = w.cluster_policies.create(name="jobs-only", definition=json.dumps({
        "num_workers": {"type": "range", "maxValue": 2},
        "cluster_type": {"type": "fixed", "value": "job"}}))
    answer = server.post("/api/2.1/jobs/create", {
        "name": "too-big", "job_clusters": [{"job_cluster_key": "c", "new_cluster": {
            "policy_id": policy.policy_id, "num_workers": 8}}],
        "tasks": [{"task_key": "t", "job_cluster_key": "c",
                   "python_task": {"function": "tests.engine.funcs:ok"}}]})
    assert answer.status_code == 400 and answer.json()["error_code"] == \
        "INVALID_PARAMETER_VALUE"
    assert "Validation failed for num_workers (range rule): the value must be at most 2 " \
        "(is 8) under cluster policy 'jobs-only'" in answer.json()["message"]
    refused = server.post("/api/2.1/clusters/create", {
        "cluster_name": "adhoc", "policy_id": policy.policy_id, "num_workers": 1})
    assert refused.status_code == 400
    assert "cluster_type (fixed rule): this policy is for job clusters" in \
        refused.json()["message"]
    assert not [c for c in w.clusters.list() if c.cluster_name == "adhoc"]
