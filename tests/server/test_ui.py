"""The web UI in a real headless Chromium (Debian's, driven by Playwright): log in, run a
job with different parameters from its dialog and watch it succeed without a reload, read
a run's summary, a failed task's error and log (filtered by level), repair it from the
dialog, pause and resume a schedule, cancel a long run; no console errors on any page.
Each test leaves a screenshot in its temp folder."""

from __future__ import annotations

import re
import time
from pathlib import Path

import requests

from tests.server.conftest import Server, wait_run, wait_task_running


def follow(page, selector: str) -> None:
    """Click what submits a form or follows a link, and wait until the next page has loaded."""
    with page.expect_navigation():
        page.click(selector)


def create_job(server: Server, name: str, tasks: list[dict], parameters=None) -> int:
    body = {"name": name, "tasks": tasks, "parameters": parameters or [],
            "max_concurrent_runs": 5}
    return server.post("/api/2.1/jobs/create", body).json()["job_id"]


def python_task(key: str, function: str, **params: str) -> dict:
    return {"task_key": key, "python_task": {"function": f"tests.engine.funcs:{function}",
                                             "parameters": params}}


def test_pages_need_a_login_and_forms_need_the_csrf_token(server: Server) -> None:
    for path in ("/", "/runs", "/runs/1", "/task-runs/1"):
        answer = requests.get(f"{server.url}{path}", allow_redirects=False, timeout=10)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    signed_in = requests.Session()
    login = signed_in.post(f"{server.url}/login", data={"token": server.token, "next": "/"},
                           allow_redirects=False, timeout=10)
    assert login.status_code == 303
    assert "httponly" in login.headers["set-cookie"].lower()
    assert "samesite=strict" in login.headers["set-cookie"].lower()
    assert signed_in.get(f"{server.url}/", timeout=10).status_code == 200
    huge = 2**64  # past SQLite's integers: a 400 (or no filter), never a 500
    for path in (f"/runs/{huge}", f"/jobs/{huge}", f"/task-runs/{huge}/log-tail",
                 f"/task-runs/1/log-tail?offset={huge}", f"/runs?before={huge}"):
        assert signed_in.get(f"{server.url}{path}", timeout=10).status_code == 400, path
    assert signed_in.get(f"{server.url}/runs?job_id={huge}", timeout=10).status_code == 200
    forged = signed_in.post(f"{server.url}/runs/1/cancel", data={}, allow_redirects=False,
                            timeout=10)
    assert forged.status_code == 403
    wrong = requests.post(f"{server.url}/login", data={"token": "nope", "next": "/"},
                          allow_redirects=False, timeout=10)
    assert "failed=1" in wrong.headers["location"]


def test_run_a_job_from_the_jobs_page_and_watch_it_succeed(page, server: Server,
                                                           tmp_path: Path) -> None:
    marker = tmp_path / "go"
    create_job(server, "ui-greeting",
               [python_task("wait", "wait_for", marker=str(marker)),
                {**python_task("greet", "ok", who="{{job.parameters.who}}"),
                 "depends_on": [{"task_key": "wait"}]}],
               parameters=[{"name": "who", "default": "world"}])
    page.goto(f"{server.url}/")
    row = page.locator("tr[data-job=ui-greeting]")
    assert row.locator("input[name='param.who']").is_visible() is False  # not in the row
    row.locator("button.open-params").click()
    dialog = row.locator("dialog.params")
    assert dialog.locator("input[name='param.who']").input_value() == "world"  # prefilled
    dialog.locator("input[name='param.who']").fill("browser")
    dialog.locator("button:has-text('Run now')").click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    page.evaluate("window.loadedOnce = true")
    assert page.locator("#live").get_attribute("data-active") == "yes"
    marker.touch()
    page.wait_for_function(
        "document.getElementById('run-state')?.textContent.trim() === 'SUCCESS'", timeout=60_000)
    assert page.evaluate("window.loadedOnce") is True  # updated in place, not reloaded
    assert page.locator("#live").get_attribute("data-active") == "no"  # stopped polling
    assert page.locator("svg.graph g.node[data-state=SUCCESS]").count() == 2
    run_id = int(page.url.rsplit("/", 1)[1])
    view = server.get("/api/2.1/jobs/runs/get", run_id=run_id).json()
    assert {p["name"]: p["value"] for p in view["job_parameters"]} == {"who": "browser"}
    assert view["tasks"][1]["podium_exit_value"] == "who=browser"
    summary = page.locator("#summary").inner_text()  # the summary the page starts with
    assert "SUCCESS" in summary and "Manual" in summary and view["creator_user_name"] in summary
    assert page.locator("#duration").inner_text().endswith("s")
    assert page.locator("#started").inner_text().startswith(str(time.localtime().tm_year))
    assert page.locator("#parameters").inner_text().split() == ["who", "browser"]
    assert "Original run" in page.locator("#attempts").inner_text()
    assert page.content().count('id="run-state"') == 1  # the state is said once


def test_a_failed_task_shows_its_error_and_log_and_is_repaired_from_the_dialog(
        page, server: Server, tmp_path: Path) -> None:
    marker = tmp_path / "count"
    job_id = create_job(server, "ui-flaky", [
        python_task("flaky", "flaky", marker=str(marker), failures="1"),
        {**python_task("after", "ok"), "depends_on": [{"task_key": "flaky"}]}])
    run_id = server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
    assert wait_run(server, run_id)["state"]["result_state"] == "FAILED"
    page.goto(f"{server.url}/runs/{run_id}")
    page.click("table.list a:has-text('flaky')")
    page.wait_for_url(re.compile(r"/task-runs/\d+$"))
    assert "flaky failure 1" in page.locator("#task-error").inner_text()
    assert "flaky failure 1" in page.locator("#log").inner_text()
    page.select_option("#log-level", "ERROR")
    follow(page, "form.log-filters button")
    assert "level=ERROR" in page.url
    assert "flaky failure 1" in page.locator("#log").inner_text()
    page.goto(f"{server.url}/runs/{run_id}")
    page.click("#open-repair")
    dialog = page.locator("dialog#repair")
    assert dialog.locator("input[value=flaky]").is_checked()
    assert dialog.locator("input[value=after]").is_checked()  # a dependent of the failure
    dialog.locator("#repair-submit").click()
    page.wait_for_function(
        "document.getElementById('run-state')?.textContent.trim() === 'SUCCESS'", timeout=60_000)
    assert "repair 1: flaky, after" in page.content()
    attempts = page.locator("#attempts li")
    assert attempts.count() == 2  # the original run, then the repair with what it ran
    assert "flaky" in attempts.nth(1).inner_text() and "SUCCESS" in attempts.nth(1).inner_text()
    assert "repaired 1×" in page.locator("#trigger").inner_text()


def test_the_log_viewer_reads_sparks_json_lines_and_filters_by_level_and_text(
        page, server: Server) -> None:
    job_id = create_job(server, "ui-logs", [python_task("noisy", "spark_style_log")])
    run_id = server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
    task = wait_run(server, run_id)["tasks"][0]
    page.goto(f"{server.url}/task-runs/{task['run_id']}")
    log = page.locator("#log")
    text = log.inner_text()
    assert "plain output before" in text and "plain output after" in text
    error = log.locator(".line[data-level=ERROR]")
    assert error.count() == 1 and "{" not in error.inner_text().split("exception")[0]
    assert "DataFrameQueryContextLogger [DIVIDE_BY_ZERO] oops" in error.inner_text()
    assert error.locator("details").get_attribute("open") is None  # the stack is folded
    error.locator("summary").click()
    assert "SparkArithmeticException: Division by zero" in error.inner_text()
    page.select_option("#log-level", "WARN")
    follow(page, "form.log-filters button")
    levels = page.locator("#log .line").evaluate_all("ls => ls.map(l => l.dataset.level)")
    assert levels == ["WARN", "ERROR"]
    page.fill("#log-search", "warning from")
    follow(page, "form.log-filters button")
    assert page.locator("#log .line").all_inner_texts()[0].endswith("a warning from Spark")
    assert page.locator("#log .line").count() == 1
    follow(page, "#log-all")
    assert page.locator("#log .line").count() >= 4


def test_a_jobs_page_shows_its_schedule_and_pauses_and_resumes_it(page, server: Server
                                                                  ) -> None:
    job_id = server.post("/api/2.1/jobs/create", {
        "name": "ui-nightly", "tasks": [python_task("one", "ok")],
        "parameters": [{"name": "day", "default": "today"}],
        "schedule": {"quartz_cron_expression": "0 0 3 * * ?", "timezone_id": "Europe/Paris",
                     "pause_status": "PAUSED"}}).json()["job_id"]
    page.goto(f"{server.url}/jobs/{job_id}")
    assert "cron 0 0 3 * * ? (Europe/Paris)" in page.locator("#trigger-text").inner_text()
    assert "PAUSED" in page.locator("#pause-status").inner_text()
    fires = page.locator("#next-fires li").all_inner_texts()
    assert len(fires) == 3 and all(" 03:00:00 " in t for t in fires)
    assert page.locator("#job-parameters").inner_text().split()[1:3] == ["day", "today"]
    follow(page, "#toggle-pause")
    assert page.url == f"{server.url}/jobs/{job_id}"
    assert "UNPAUSED" in page.locator("#pause-status").inner_text()
    settings = server.get("/api/2.1/jobs/get", job_id=job_id).json()["settings"]
    assert settings["schedule"]["pause_status"] == "UNPAUSED"
    follow(page, "#toggle-pause")
    assert server.get("/api/2.1/jobs/get", job_id=job_id).json()["settings"]["schedule"][
        "pause_status"] == "PAUSED"


def test_cancel_a_long_run_from_its_page(page, server: Server) -> None:
    job_id = create_job(server, "ui-long", [python_task("nap", "sleep", seconds="300")])
    run_id = server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
    wait_task_running(server, run_id)
    page.goto(f"{server.url}/runs/{run_id}")
    assert page.locator("#open-repair").count() == 0  # repair is for ended runs
    page.click("#cancel")
    page.wait_for_function(
        "document.getElementById('run-state')?.textContent.trim() === 'CANCELED'",
        timeout=60_000)
    assert wait_run(server, run_id)["state"]["result_state"] == "CANCELED"
    assert page.locator("#cancel").count() == 0 and page.locator("#open-repair").count() == 1


def test_the_runs_list_pages_and_filters_and_the_matrix_shows_tasks_by_run(
        page, server: Server) -> None:
    job_id = create_job(server, "ui-matrix", [python_task("one", "ok"), python_task("two", "ok")])
    for _ in range(2):
        run_id = server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
        wait_run(server, run_id)
    page.goto(f"{server.url}/runs?job_id={job_id}&state=completed")
    assert page.locator("table.list tbody tr").count() == 2
    page.select_option("select[name=trigger]", "PERIODIC")
    follow(page, "button:has-text('Filter')")
    assert page.locator("table.list tbody tr").inner_text() == "No runs."
    page.goto(f"{server.url}/runs?job_id={job_id}&trigger=ONE_TIME")
    assert page.locator("table.list tbody tr").count() == 2
    page.goto(f"{server.url}/jobs/{job_id}")
    assert page.locator("table.matrix tbody tr").count() == 2
    assert page.locator("table.matrix a.cell[title=SUCCESS]").count() == 4
    assert page.locator("#pause-status").count() == 0  # only requests start this job


def test_the_clusters_page_and_a_spark_task_link_to_the_spark_ui(page, server: Server
                                                                  ) -> None:
    import json
    import subprocess

    from tests.conftest import EXAMPLES
    from tests.server.conftest import PODIUM, env_for

    done = subprocess.run([*PODIUM, "deploy", "--bundle", str(EXAMPLES / "quickstart"),
                           "--json"], env=env_for(server.home), capture_output=True,
                          text=True, check=True)
    job_id = json.loads(done.stdout)["jobs"]["daily_sales"]
    run_id = server.post("/api/2.1/jobs/run-now", {"job_id": job_id}).json()["run_id"]
    view = wait_run(server, run_id, timeout=240)
    assert view["state"]["result_state"] == "SUCCESS"
    page.goto(f"{server.url}/clusters")
    row = page.locator("table.list tr", has_text="daily_sales:main")
    assert "READY" in row.inner_text()
    # Its task limit, adaptive by default, with the reason for its current value.
    assert re.match(r"\d+ \(adaptive: .+\)", row.locator("td.limit").inner_text())
    spark_ui = row.locator("a").get_attribute("href")
    assert spark_ui.startswith("http://")
    deadline = time.monotonic() + 60  # a task's Spark cost is read once its run ended
    while True:
        view = server.get("/api/2.1/jobs/runs/get", run_id=run_id).json()
        ingest = next(t for t in view["tasks"] if t["task_key"] == "ingest")
        if "podium_usage" in ingest or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    page.goto(f"{server.url}/task-runs/{ingest['run_id']}")
    assert page.locator("#spark-ui").get_attribute("href") == spark_ui
    assert "executor-seconds" in page.content()
    shown = page.locator("table.display")  # the notebook's display() of five sales rows
    assert shown.locator("th").all_inner_texts() == ["id", "store", "amount", "sale_date"]
    assert shown.locator("tbody tr").count() == 5
