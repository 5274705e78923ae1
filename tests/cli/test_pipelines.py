"""A bundle's pipeline runs directly, as `databricks bundle run <pipeline>` runs one, here a
refresh of some of its datasets (the whole update and a check of the graph are the
Pipelines API's tests, on a warm server); each update is a run in the history with its
flows and events."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_runs import cli

BUNDLE = """bundle: {name: pipes_only}
resources:
  pipelines:
    etl:
      name: small_etl
      catalog: main
      schema: direct
      libraries: [{glob: {include: ./src/**}}]
  jobs:
    nightly:
      tasks: [{task_key: refresh, pipeline_task: {pipeline_id: "${resources.pipelines.etl.id}"}}]
"""
SQL = """CREATE MATERIALIZED VIEW numbers AS SELECT id FROM range(5);
CREATE MATERIALIZED VIEW doubled AS SELECT id * 2 AS twice FROM numbers;
"""


def update(view: dict) -> dict:
    (task,) = view["tasks"]
    assert view["state"]["result_state"] == "SUCCESS", task.get("error")
    return task["podium_pipeline_update"]


def test_a_pipeline_runs_directly_with_databricks_update_options(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    (tmp_path / "src" / "datasets.sql").write_text(SQL)
    home = tmp_path / "home"

    some = json.loads(cli("run", "small_etl", "--bundle", str(tmp_path), "--refresh",
                          "numbers", "--json", home=home).stdout)
    assert update(some) == {"state": "COMPLETED", "events": 7, "flows": [
        {"name": "main.direct.numbers", "state": "COMPLETED"},
        {"name": "main.direct.doubled", "state": "EXCLUDED"}]}
    logs = cli("runs", "logs", str(some["run_id"]), "--task", "etl", home=home).stdout
    assert "refresh numbers" in logs and "Flow main.direct.numbers has COMPLETED" in logs
    listed = json.loads(cli("runs", "list", "--json", home=home).stdout)["runs"]
    assert [(r["run_name"], r["podium_job_key"]) for r in listed] == [("small_etl", "etl")]

    flags_on_a_job = cli("run", "nightly", "--bundle", str(tmp_path), "--refresh", "numbers",
                         home=home, check=False)
    assert flags_on_a_job.returncode == 2
    assert "'nightly' is a job; --full-refresh-all, --full-refresh, --refresh" in \
        flags_on_a_job.stderr
