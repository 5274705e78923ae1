"""Airflow's Databricks provider, unchanged and in a venv of its own, runs a deployed job
on `podium serve` to SUCCESS (`make test` builds that venv; interop/airflow/check.sh is
what `make airflow` runs)."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO

AIRFLOW_PYTHON = REPO / "interop" / "airflow" / ".venv" / "bin" / "python"


def test_databricks_run_now_operator_runs_a_deployed_job_to_success() -> None:
    assert AIRFLOW_PYTHON.exists(), "the Airflow venv is missing: `make test` builds it"
    done = subprocess.run(["bash", str(REPO / "interop" / "airflow" / "check.sh")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "run 1 of job 1: TERMINATED SUCCESS" in done.stdout
    assert "podium_job completed successfully" in done.stdout + done.stderr  # the operator's
