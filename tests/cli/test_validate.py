"""`podium validate` and `podium jobs list`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium.defaults import NUMBER_SETTINGS
from tests.conftest import EXAMPLES

PODIUM = [sys.executable, "-m", "podium"]


def podium(*args: str, cwd: Path | None = None,
           env_columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the podium command in a subprocess and capture what it prints."""
    env = {**os.environ, "COLUMNS": str(env_columns)} if env_columns else None
    return subprocess.run([*PODIUM, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          check=False)


def test_validate_prints_the_plan_and_ignored_fields() -> None:
    done = podium("validate", str(EXAMPLES / "seed000_two_clusters"))
    assert done.returncode == 0, done.stderr
    assert "ingestion_silver notebook_task on ingestion_job_cluster" in done.stdout
    assert "cluster ml_job_cluster: master local[2]" in done.stdout
    assert "Ignored locally (cloud-only settings):\n" in done.stdout
    assert "databricks.yml:21:13: resources.jobs.recommender.job_clusters[ml_job_cluster]." \
           "new_cluster.node_type_id\n" in done.stdout
    assert "warning: " not in done.stdout.split("Ignored locally")[1]
    assert "Valid: 1 job(s), 4 task(s)" in done.stdout
    as_json = json.loads(podium("validate", str(EXAMPLES / "seed000_two_clusters"), "--json")
                         .stdout)
    assert len(as_json["ignored_locally"]) == 3
    assert not [w for w in as_json["warnings"] if "ignored locally" in w["message"]]
    # --strict fails on warnings (the policy podium does not have), never on cloud settings
    strict = podium("validate", str(EXAMPLES / "seed000_two_clusters"), "--strict")
    assert strict.returncode == 2 and "ignored locally" not in strict.stderr


def test_help_shows_flags_as_flags() -> None:
    done = podium("run", "--help", env_columns=160)
    assert done.returncode == 0
    row = next(line for line in done.stdout.splitlines() if "--json" in line)
    assert "<bool>" not in row and "Print machine-readable JSON." in row
    assert "<path>" in next(line for line in done.stdout.splitlines() if "--bundle" in line)


def test_validate_json_lists_jobs_tasks_and_clusters() -> None:
    done = podium("validate", str(EXAMPLES / "seed002_controller"), "-t", "sequential", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    controller = next(j for j in result["jobs"] if j["key"] == "controller")
    b = next(t for t in controller["tasks"] if t["task_key"] == "run_pipeline_b")
    assert b["depends_on"] == [{"task_key": "run_pipeline_a"}]
    assert result["bundle"]["target"] == "sequential"
    assert "shared_compute" in result["clusters"]


def test_bad_bundle_exits_2_with_located_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: x}\nresources:\n  jobs:\n    j:\n      concurrent_run: ENABLED\n"
        "      tasks: [{task_key: a, python_task: {function: 'm:f'}}]\n")
    lenient = podium("validate", str(tmp_path))  # as the Databricks CLI: a warning
    assert lenient.returncode == 0 and "warning: unknown field 'concurrent_run'" in \
        lenient.stdout + lenient.stderr
    done = podium("validate", str(tmp_path), "--strict")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        "databricks.yml:5:7: error: unknown field 'concurrent_run' in resources.jobs.j; did you "
        "mean 'max_concurrent_runs'?")
    as_json = json.loads(podium("validate", str(tmp_path), "--strict", "--json").stdout)
    assert as_json["valid"] is False
    assert as_json["errors"][0]["line"] == 5 and as_json["errors"][0]["column"] == 7


def test_a_jit_mode_podium_does_not_know_is_located_on_job_and_shared_clusters(
        tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: x}\nresources:\n  clusters:\n    team:\n      spark_conf:\n"
        "        spark.podium.jit: fast\n  jobs:\n    j:\n      job_clusters:\n"
        "        - job_cluster_key: c\n          new_cluster:\n            spark_conf:\n"
        "              spark.podium.jit: C2\n"
        "      tasks: [{task_key: a, job_cluster_key: c, python_task: {function: 'm:f'}}]\n")
    done = podium("validate", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "databricks.yml:6:9: error: resources.clusters.team: spark.podium.jit is 'fast'; " \
        "use 'full' or 'quick'" in done.stderr
    assert "databricks.yml:13:15: error: resources.jobs.j.job_clusters[c]: spark.podium.jit " \
        "is 'C2'; use 'full' or 'quick'" in done.stderr


def test_bad_var_option_exits_2(tmp_path: Path) -> None:
    done = podium("validate", str(EXAMPLES / "quickstart"), "--var", "rows")
    assert done.returncode == 2
    assert "--var: error: 'rows' is not name=value; write --var name=value" in done.stderr


def test_missing_bundle_exits_2(tmp_path: Path) -> None:
    done = podium("validate", str(tmp_path))
    assert done.returncode == 2
    assert "no databricks.yml or podium.yml here or in any parent folder" in done.stderr


@pytest.mark.parametrize(("name", "value"), [("PODIUM_RUN_LEASE_SECONDS", "half a minute"),
                                             ("PODIUM_SQLITE_BUSY_MS", "-1"),
                                             ("PODIUM_CLUSTER_STARTS", "1.5")])
def test_a_numeric_setting_that_is_no_number_stops_every_command(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    done = podium("jobs", "list", "--bundle", str(EXAMPLES / "quickstart"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"environment: error: environment variable {name}={value!r}: expected "
        f"{NUMBER_SETTINGS[name].says}; correct it, or unset it for the default "
        f"({NUMBER_SETTINGS[name].default:g})"]


def test_jobs_list_and_version() -> None:
    done = podium("jobs", "list", "--bundle", str(EXAMPLES / "seed001_many_tables"), "--json")
    assert [j["key"] for j in json.loads(done.stdout)["jobs"]] == ["many_tables",
                                                                   "many_tables_for_each"]
    assert podium("--version").stdout.strip().startswith("podium ")


def test_run_prints_the_warnings_of_the_job_it_runs(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: x}\nresources:\n  jobs:\n    j:\n      concurrent_run: ENABLED\n"
        "      tasks: [{task_key: a, python_task: {function: 'tests.engine.funcs:ok'}}]\n"
        "    other:\n      colour: red\n"
        "      tasks: [{task_key: a, python_task: {function: 'tests.engine.funcs:ok'}}]\n")
    done = subprocess.run([*PODIUM, "run", "j", "--bundle", str(tmp_path)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PODIUM_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert "databricks.yml:5:7: warning: unknown field 'concurrent_run' in resources.jobs.j" \
        in done.stderr
    assert "colour" not in done.stderr  # another job's warning is not this run's business
