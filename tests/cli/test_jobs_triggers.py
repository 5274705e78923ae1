"""`podium jobs pause/resume/next/ticks` on deployed jobs, as a user runs them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.cli.test_deploy_tokens import cli

SCHEDULED = """bundle: {name: nightly}
targets:
  dev: {mode: development, default: true}
  prod: {mode: production}
resources:
  jobs:
    report:
      schedule: {quartz_cron_expression: "0 30 2 ? * MON-FRI", timezone_id: Europe/Berlin}
      tasks:
        - {task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}
    watcher:
      trigger: {file_arrival: {url: "dbfs:/landing"}}
      tasks:
        - {task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}
    plain:
      tasks:
        - {task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}
"""


def deploy(tmp_path: Path, target: str) -> tuple[Path, dict[str, int]]:
    home, root = tmp_path / "home", tmp_path / "bundle"
    root.mkdir(exist_ok=True)
    (root / "databricks.yml").write_text(SCHEDULED)
    done = cli("deploy", "--bundle", str(root), "-t", target, "--json", home=home)
    return home, json.loads(done.stdout)["jobs"]


def test_next_fire_times_pause_and_resume(tmp_path: Path) -> None:
    home, ids = deploy(tmp_path, "prod")
    upcoming = json.loads(cli("jobs", "next", "report", "-n", "7", "--json",
                              home=home).stdout)
    assert upcoming["pause_status"] == "UNPAUSED" and len(upcoming["next"]) == 7
    moments = [datetime.fromisoformat(t) for t in upcoming["next"]]
    assert all((m.hour, m.minute) == (2, 30) and m.weekday() < 5 for m in moments)
    assert moments == sorted(moments)

    paused = cli("jobs", "pause", str(ids["report"]), home=home)
    assert f"job {ids['report']} (report): schedule PAUSED" in paused.stdout
    assert "PAUSED: none of these fire" in cli("jobs", "next", "report", home=home).stdout
    cli("jobs", "pause", "watcher", home=home)
    listed = json.loads(cli("jobs", "list", "--json", home=home).stdout)["jobs"]
    trigger = next(j for j in listed if j["job_id"] == ids["watcher"])["settings"]["trigger"]
    assert trigger["pause_status"] == "PAUSED"
    table = cli("jobs", "list", home=home, COLUMNS="200").stdout
    assert "cron 0 30 2 ? * MON-FRI (Europe/Berlin), paused" in table
    assert "file arrival, paused" in table
    cli("jobs", "resume", "report", home=home)
    assert json.loads(cli("jobs", "next", "report", "--json", home=home).stdout)[
        "pause_status"] == "UNPAUSED"
    assert json.loads(cli("jobs", "ticks", "report", "--json", home=home).stdout) == {
        "job_id": ids["report"], "ticks": []}


def test_development_mode_deploys_schedules_and_triggers_paused(tmp_path: Path) -> None:
    home, ids = deploy(tmp_path, "dev")
    upcoming = json.loads(cli("jobs", "next", str(ids["report"]), "--json",
                              home=home).stdout)
    assert upcoming["pause_status"] == "PAUSED"
    listed = json.loads(cli("jobs", "list", "--json", home=home).stdout)["jobs"]
    watcher = next(j for j in listed if j["job_id"] == ids["watcher"])
    assert watcher["settings"]["trigger"]["pause_status"] == "PAUSED"


def test_bad_job_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    home, ids = deploy(tmp_path, "prod")
    for args, says in (
            (("jobs", "pause", "plain"), f"job {ids['plain']} has no schedule, trigger or "
                                         "continuous to pause"),
            (("jobs", "next", "watcher"), f"job {ids['watcher']} has no schedule"),
            (("jobs", "ticks", "nope"), "no job named 'nope' in this workspace"),
            (("jobs", "resume", "999"), "no job 999 in this workspace")):
        done = cli(*args, home=home, check=False)
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
