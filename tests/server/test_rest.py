"""Plain `requests` against /api/2.1/, as seed 002's controller notebook does, and bad
input answered the Databricks way with nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.server.conftest import Server, wait_run

# Seed 002's controller notebook: its code as the seed writes it.
CONTROLLER = """# Databricks notebook source
import os
import requests

dbutils.widgets.text("target_job", "")
dbutils.widgets.text("run_date", "")
target_job = int(dbutils.widgets.get("target_job"))
run_date = dbutils.widgets.get("run_date")

# You can inject your shared cluster id from Databricks context if known
shared_cluster_id = dbutils.notebook.entry_point.getDbutils().notebook().getContext().tags().apply("jobClusterId")

workspace_url = os.environ["DATABRICKS_HOST"]
token = os.environ["DATABRICKS_TOKEN"]

run_url = f"{workspace_url}/api/2.1/jobs/run-now"
payload = {
    "job_id": target_job,
    "notebook_params": {
        "shared_cluster_id": shared_cluster_id,
        "run_date": run_date
    }
}

headers = {"Authorization": f"Bearer {token}"}
response = requests.post(run_url, headers=headers, json=payload)
print(response.json())

# COMMAND ----------

import time
run_id = response.json()["run_id"]
while True:
    state = requests.get(f"{workspace_url}/api/2.1/jobs/runs/get", headers=headers,
                         params={"run_id": run_id}).json()["state"]
    if state["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
        break
    time.sleep(0.2)
dbutils.notebook.exit(json.dumps({"child": run_id, "result": state["result_state"]}))
"""

PIPELINE = """# Databricks notebook source
dbutils.widgets.text("run_date", "")
dbutils.widgets.text("shared_cluster_id", "")
dbutils.notebook.exit(dbutils.widgets.get("run_date") + "@" +
                      dbutils.widgets.get("shared_cluster_id"))
"""


def notebook_job(name: str, path: Path, params: dict[str, str]) -> dict:
    return {"name": name, "job_clusters": [{"job_cluster_key": "c", "new_cluster": {
        "spark_version": "15.4.x-scala2.12", "num_workers": 0,
        "spark_conf": {"spark.master": "local[2]"}}}],
        "tasks": [{"task_key": "main", "job_cluster_key": "c", "notebook_task": {
            "notebook_path": str(path), "base_parameters": params}}]}


def test_seed002_controller_triggers_and_polls_a_job_with_requests(server: Server,
                                                                   tmp_path: Path) -> None:
    (tmp_path / "controller.py").write_text(CONTROLLER.replace("import os\n",
                                                               "import json, os\n", 1))
    (tmp_path / "pipeline.py").write_text(PIPELINE)
    pipeline = server.post("/api/2.1/jobs/create", notebook_job(
        "pipeline", tmp_path / "pipeline.py", {})).json()["job_id"]
    controller = server.post("/api/2.1/jobs/create", notebook_job(
        "controller", tmp_path / "controller.py",
        {"target_job": str(pipeline), "run_date": "2025-10-15"})).json()["job_id"]
    run_id = server.post("/api/2.1/jobs/run-now", {"job_id": controller}).json()["run_id"]
    view = wait_run(server, run_id)
    assert view["state"]["result_state"] == "SUCCESS", view["tasks"][0].get("error")
    assert view["job_id"] == controller
    out = json.loads(view["tasks"][0]["podium_exit_value"])
    assert out["result"] == "SUCCESS"
    child = server.get("/api/2.1/jobs/runs/get", run_id=out["child"]).json()
    assert child["job_id"] == pipeline
    assert child["tasks"][0]["podium_exit_value"] == f"2025-10-15@job-{controller}:c"
    output = server.get("/api/2.1/jobs/runs/get-output",
                        run_id=child["tasks"][0]["run_id"]).json()
    assert output["notebook_output"] == {"result": f"2025-10-15@job-{controller}:c",
                                         "truncated": False}


def counts(server: Server) -> tuple[int, int]:
    jobs = server.get("/api/2.2/jobs/list", limit=100).json()["jobs"]
    runs = server.get("/api/2.2/jobs/runs/list", limit=25).json()["runs"]
    return len(jobs), len(runs)


def error(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error_code", "message"} and "Traceback" not in body["message"]
    return response.status_code, body["error_code"]


def test_bad_input_gets_databricks_errors_and_changes_nothing(server: Server,
                                                              tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text("# Databricks notebook source\n")
    good = notebook_job("good", tmp_path / "nb.py", {})
    job_id = server.post("/api/2.1/jobs/create", good).json()["job_id"]
    before = counts(server)
    url, headers = server.url, server.headers
    assert error(server.post("/api/2.1/jobs/run-now", {"job_id": 99999})) == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    assert error(server.get("/api/2.2/jobs/get", job_id=99999)) == \
        (404, "RESOURCE_DOES_NOT_EXIST")
    malformed = requests.post(f"{url}/api/2.1/jobs/run-now", data="{not json",
                              headers={**headers, "Content-Type": "application/json"})
    assert error(malformed) == (400, "MALFORMED_REQUEST")
    for token in ("9" * 30, "-1", "²", "next"):  # a page token is what podium gave out
        assert error(server.get("/api/2.2/jobs/list", page_token=token)) == \
            (400, "INVALID_PARAMETER_VALUE"), token
    wrong_type = server.post("/api/2.1/jobs/run-now", {"job_id": "seven"})
    assert error(wrong_type) == (400, "INVALID_PARAMETER_VALUE")
    assert "job_id" in wrong_type.json()["message"]
    unknown = server.post("/api/2.1/jobs/run-now", {"job_id": job_id, "notebook_parms": {}})
    assert error(unknown) == (400, "INVALID_PARAMETER_VALUE")
    assert "notebook_parms" in unknown.json()["message"]
    bad_job = server.post("/api/2.1/jobs/create", {
        "name": "bad", "max_concurent_runs": 2, "tasks": [
            {"task_key": "a", "notebook_task": {"notebook_path": "/no/such/notebook"}},
            {"task_key": "b", "depends_on": [{"task_key": "c"}],
             "notebook_task": {"notebook_path": str(tmp_path / "nb.py")}}]})
    assert error(bad_job) == (400, "INVALID_PARAMETER_VALUE")
    message = bad_job.json()["message"]
    assert "max_concurent_runs" in message and "max_concurrent_runs" in message
    assert "depends on 'c'" in message
    huge = requests.post(f"{url}/api/2.1/jobs/create", headers=headers,
                         data=b"{" + b" " * (11 * 1024 * 1024) + b"}")
    assert error(huge) == (413, "REQUEST_LIMIT_EXCEEDED")
    assert error(requests.get(f"{url}/api/2.1/jobs/list")) == (401, "UNAUTHENTICATED")
    assert error(requests.get(f"{url}/api/2.1/jobs/list",
                              headers={"Authorization": "Bearer dapiwrong.token"})) == \
        (403, "PERMISSION_DENIED")
    assert error(server.get("/api/2.1/jobs/nothing-here")) == (404, "ENDPOINT_NOT_FOUND")
    tokens_before = server.get("/api/2.0/token/list").json()["token_infos"]
    forever = server.post("/api/2.0/token/create", {"lifetime_seconds": 2432902008176640000})
    assert error(forever) == (400, "INVALID_PARAMETER_VALUE")  # its expiry would not fit
    assert "lifetime_seconds" in forever.json()["message"]
    assert server.get("/api/2.0/token/list").json()["token_infos"] == tokens_before
    assert counts(server) == before
    assert requests.get(f"{url}/health").json()["status"] == "ok"
    assert requests.get(f"{url}/.well-known/databricks-config").ok
    assert "/api/2.2/jobs/run-now" in requests.get(f"{url}/openapi.json").json()["paths"]


def test_update_reset_and_delete_a_job(server: Server, tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text("# Databricks notebook source\n")
    job_id = server.post("/api/2.2/jobs/create", {
        **notebook_job("edit-me", tmp_path / "nb.py", {}),
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
        "tags": {"team": "a"}}).json()["job_id"]
    extra = {"task_key": "second", "depends_on": [{"task_key": "main"}],
             "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}}
    assert server.post("/api/2.2/jobs/update", {
        "job_id": job_id, "new_settings": {"tags": {"team": "b"}, "tasks": [extra]},
        "fields_to_remove": ["schedule"]}).ok
    settings = server.get("/api/2.2/jobs/get", job_id=job_id).json()["settings"]
    assert settings["tags"] == {"team": "b"} and "schedule" not in settings
    assert [t["task_key"] for t in settings["tasks"]] == ["main", "second"]
    assert server.post("/api/2.2/jobs/reset", {"job_id": job_id, "new_settings": notebook_job(
        "reset", tmp_path / "nb.py", {})}).ok
    settings = server.get("/api/2.2/jobs/get", job_id=job_id).json()["settings"]
    assert settings["name"] == "reset" and settings.get("tags", {}) == {}
    assert server.post("/api/2.2/jobs/delete", {"job_id": job_id}).ok
    assert server.get("/api/2.2/jobs/get", job_id=job_id).status_code == 404


def test_submit_export_output_and_delete_a_one_time_run(server: Server) -> None:
    answer = server.post("/api/2.2/jobs/runs/submit", {
        "run_name": "one-off", "idempotency_token": "submit-once",
        "tasks": [{"task_key": "hello", "python_task": {
            "function": "tests.engine.funcs:ok", "parameters": {"who": "api"}}}]})
    run_id = answer.json()["run_id"]
    again = server.post("/api/2.2/jobs/runs/submit", {
        "run_name": "one-off", "idempotency_token": "submit-once",
        "tasks": [{"task_key": "hello", "python_task": {"function": "tests.engine.funcs:ok"}}]})
    assert again.json()["run_id"] == run_id
    view = wait_run(server, run_id)
    assert view["state"]["result_state"] == "SUCCESS" and view["run_type"] == "SUBMIT_RUN"
    assert view["run_name"] == "one-off"
    assert view["run_page_url"] == f"{server.url}/api/2.1/jobs/runs/get?run_id={run_id}"
    task_run = view["tasks"][0]["run_id"]
    output = server.get("/api/2.2/jobs/runs/get-output", run_id=task_run).json()
    assert "ok {'who': 'api'}" in output["logs"] and output["logs_truncated"] is False
    assert output["metadata"]["parent_run_id"] == run_id
    assert server.get("/api/2.2/jobs/runs/get-output", run_id=run_id).json()["error_code"] == \
        "INVALID_PARAMETER_VALUE"
    exported = server.get("/api/2.2/jobs/runs/export", run_id=task_run).json()["views"][0]
    assert "ok {&#x27;who&#x27;: &#x27;api&#x27;}" in exported["content"]
    listed = server.get("/api/2.2/jobs/runs/list", run_type="SUBMIT_RUN").json()["runs"]
    assert run_id in [r["run_id"] for r in listed]
    assert server.post("/api/2.2/jobs/runs/delete", {"run_id": run_id}).ok
    assert server.get("/api/2.2/jobs/runs/get", run_id=run_id).status_code == 404


def test_a_deployed_bundle_job_runs_twice_on_the_warm_cluster(server: Server) -> None:
    import subprocess

    from tests.conftest import EXAMPLES
    from tests.server.conftest import PODIUM, env_for

    done = subprocess.run([*PODIUM, "deploy", "--bundle", str(EXAMPLES / "quickstart"),
                           "--json"], env=env_for(server.home), capture_output=True,
                          text=True, check=True)
    job_id = json.loads(done.stdout)["jobs"]["daily_sales"]
    views = [wait_run(server, server.post("/api/2.2/jobs/run-now", {"job_id": job_id})
                      .json()["run_id"]) for _ in range(2)]
    assert [v["state"]["result_state"] for v in views] == ["SUCCESS", "SUCCESS"], [
        t.get("error") for v in views for t in v["tasks"]]
    contexts = {t["cluster_instance"]["spark_context_id"] for v in views for t in v["tasks"]
                if "cluster_instance" in t}
    assert len(contexts) == 1  # the second run reused the first one's application
    assert views[1]["job_id"] == job_id


def test_a_run_job_task_names_a_job_created_through_the_api_by_its_id(server: Server
                                                                       ) -> None:
    child_id = server.post("/api/2.1/jobs/create", {
        "name": "child", "parameters": [{"name": "who", "default": "nobody"}],
        "tasks": [{"task_key": "greet", "python_task": {
            "function": "tests.engine.funcs:ok", "parameters": {"who": "{{job.parameters.who}}"}}}]
    }).json()["job_id"]
    parent_id = server.post("/api/2.1/jobs/create", {
        "name": "parent", "tasks": [{"task_key": "call", "run_job_task": {
            "job_id": child_id, "job_parameters": {"who": "parent"}}}]}).json()["job_id"]
    run_id = server.post("/api/2.1/jobs/run-now", {"job_id": parent_id}).json()["run_id"]
    view = wait_run(server, run_id)
    assert view["state"]["result_state"] == "SUCCESS", view["tasks"][0]["state"]
    called = view["tasks"][0]["run_job_task"]
    assert called["job_id"] == child_id
    child = server.get("/api/2.1/jobs/runs/get", run_id=called["run_id"]).json()
    assert child["job_id"] == child_id and child["trigger"] == "RUN_JOB_TASK"
    assert child["job_parameters"] == [{"name": "who", "value": "parent"}]
    listed = server.get("/api/2.1/jobs/runs/list", job_id=child_id).json()["runs"]
    assert [r["run_id"] for r in listed] == [called["run_id"]]

    missing = server.post("/api/2.1/jobs/create", {
        "name": "orphan", "tasks": [{"task_key": "call", "run_job_task": {
            "job_id": 987654}}]}).json()["job_id"]
    failed = wait_run(server, server.post("/api/2.1/jobs/run-now",
                                          {"job_id": missing}).json()["run_id"])
    assert "no job '987654' in the bundle or the workspace" in \
        failed["tasks"][0]["state"]["state_message"]
