"""Run a job of a `podium serve` workspace with Airflow's Databricks provider, unchanged:
`DatabricksRunNowOperator` with a `databricks_default` connection pointing at the server.

Runs in its own venv (interop/airflow/requirements.txt; `make airflow` makes it). The
connection comes from the environment, as Airflow reads it without a metadata database:
AIRFLOW_CONN_DATABRICKS_DEFAULT='{"conn_type": "databricks", "host": "127.0.0.1",
"port": 8080, "schema": "http", "password": "<podium token>"}'.
Usage: python run_job.py JOB_ID|JOB_NAME [key=value ...]   (job parameters)
Prints the run's id and result; exit 0 on SUCCESS, 1 otherwise.
"""

from __future__ import annotations

import logging
import sys


def main(argv: list[str]) -> int:
    from airflow.providers.databricks.hooks.databricks import DatabricksHook
    from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator

    job, pairs = argv[0], argv[1:]
    params = dict(pair.split("=", 1) for pair in pairs)
    which = {"job_id": int(job)} if job.isdigit() else {"job_name": job}
    operator = DatabricksRunNowOperator(
        task_id="podium_job", **which, job_parameters=params or None,
        polling_period_seconds=1, do_xcom_push=False)
    operator.execute(context={})
    hook = DatabricksHook()
    state = hook.get_run_state(operator.run_id)
    print(f"run {operator.run_id} of job {job}: {state.life_cycle_state} "
          f"{state.result_state} {state.state_message}".rstrip())
    return 0 if state.is_successful else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main(sys.argv[1:]))
