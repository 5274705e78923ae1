"""Seed 000's SDK script ("Basics of Databricks Workflows - Part 4: Cluster Reuse"),
completed where the blog elides it: two ingestion tasks reuse a job cluster made through
a cluster policy, two ML tasks reuse a custom one. It runs against Databricks or against
`podium serve` unchanged: the host and token come from DATABRICKS_HOST and
DATABRICKS_TOKEN (or a profile), and the policy id from POLICY_ID (the blog's id is a
policy of the author's workspace).
"""

import os

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.compute import AutoScale, ClusterSpec
from databricks.sdk.service.jobs import JobCluster, NotebookTask, Task, TaskDependency

# Create client
w = WorkspaceClient()

# Notebook path
base_path = f"/Users/{w.current_user.me().user_name}"
ingestion_silver = f"{base_path}/Ingestion_Silver"
ingestion_gold = f"{base_path}/Ingestion_Gold"
ml_featurisation = f"{base_path}/ML_Featurisation"
ml_scoring = f"{base_path}/ML_Scoring"

# Cluster spec example using custom config
latest_runtime = w.clusters.select_spark_version(latest=True)
cluster_spec_custom = ClusterSpec(
    node_type_id="i3.xlarge",
    spark_version=latest_runtime,
    autoscale=AutoScale(min_workers=1, max_workers=2),
)

# Cluster spec example using cluster policy
cluster_spec_using_policy = ClusterSpec(
    policy_id=os.environ.get("POLICY_ID", "E0631F5C0D0006D6"),
    apply_policy_default_values=True,
)

# Create job
created_job = w.jobs.create(
    name="Cluster_Reuse_Example",
    # Define all tasks
    tasks=[
        # Use job cluster using user defined key name
        Task(task_key="Ingestion_Silver", job_cluster_key="ingestion_job_cluster",
             notebook_task=NotebookTask(notebook_path=ingestion_silver)),
        # Reuse cluster by referring to the same cluster key
        Task(task_key="Ingestion_Gold", job_cluster_key="ingestion_job_cluster",
             depends_on=[TaskDependency(task_key="Ingestion_Silver")],
             notebook_task=NotebookTask(notebook_path=ingestion_gold)),
        # Job cluster for ML loads
        Task(task_key="ML_Feature_Engineering", job_cluster_key="ml_job_cluster",
             depends_on=[TaskDependency(task_key="Ingestion_Gold")],
             notebook_task=NotebookTask(notebook_path=ml_featurisation)),
        # Reuse ML job cluster
        Task(task_key="ML_Batch_Scoring", job_cluster_key="ml_job_cluster",
             depends_on=[TaskDependency(task_key="ML_Feature_Engineering")],
             notebook_task=NotebookTask(notebook_path=ml_scoring)),
    ],
    # Optionally add multiple job cluster config to use in various tasks
    job_clusters=[
        JobCluster(job_cluster_key="ingestion_job_cluster",
                   new_cluster=cluster_spec_using_policy),
        JobCluster(job_cluster_key="ml_job_cluster", new_cluster=cluster_spec_custom),
    ],
)

run = w.jobs.run_now(created_job.job_id).result()
print(f"job {created_job.job_id} run {run.run_id}: {run.state.result_state.value}")
