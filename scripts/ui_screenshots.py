"""The screenshots of docs/ui.md: a real `podium serve`, the seed 002 controller run to
the end, and a quickstart run that fails (a run_date that is not a date), photographed
in Debian's Chromium. Usage: .venv/bin/python scripts/ui_screenshots.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from ui_pages import start  # noqa: E402

PODIUM = [sys.executable, "-m", "podium"]
OUT = REPO / "docs" / "img"


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="podium-ui-shots-"))
    env = {**os.environ, "PODIUM_HOME": str(home)}
    server, url, token = start(home)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    try:
        jobs = {}
        for bundle in ("seed002_controller", "quickstart"):
            done = subprocess.run([*PODIUM, "deploy", "--bundle",
                                   str(REPO / "examples" / bundle), "--json"], env=env,
                                  capture_output=True, text=True, check=True)
            jobs.update(json.loads(done.stdout)["jobs"])
        subprocess.run([*PODIUM, "cluster", "start", "shared_compute", "--bundle",
                        str(REPO / "examples" / "seed002_controller")], env=env, check=True,
                       capture_output=True)
        runs = {
            "controller": api.post(f"{url}/api/2.1/jobs/run-now", json={
                "job_id": jobs["controller"]}).json()["run_id"],
            "quickstart_failed": api.post(f"{url}/api/2.1/jobs/run-now", json={
                "job_id": jobs["daily_sales"],
                "job_parameters": {"run_date": "not-a-date"}}).json()["run_id"]}
        for run_id in runs.values():
            while api.get(f"{url}/api/2.1/jobs/runs/get", params={"run_id": run_id}
                          ).json()["state"]["life_cycle_state"] not in ("TERMINATED",
                                                                        "INTERNAL_ERROR"):
                time.sleep(1)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/login")
            page.fill("input[name=token]", token)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/")
            for name, run_id in runs.items():
                page.goto(f"{url}/runs/{run_id}")
                page.screenshot(path=str(OUT / f"ui_run_{name}.png"), full_page=True)
            failed = api.get(f"{url}/api/2.1/jobs/runs/get",
                             params={"run_id": runs["quickstart_failed"]}).json()
            ingest = next(t for t in failed["tasks"] if t["task_key"] == "ingest")
            page.goto(f"{url}/task-runs/{ingest['run_id']}")
            page.screenshot(path=str(OUT / "ui_task_failed.png"), full_page=True)
            page.goto(f"{url}/")
            page.screenshot(path=str(OUT / "ui_jobs.png"), full_page=True)
            page.goto(f"{url}/jobs/{jobs['daily_sales']}")
            page.screenshot(path=str(OUT / "ui_job.png"), full_page=True)
            page.emulate_media(color_scheme="dark")
            page.goto(f"{url}/runs/{runs['controller']}")
            page.screenshot(path=str(OUT / "ui_run_controller_dark.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(60)
        subprocess.run([*PODIUM, "cluster", "stop", "shared_compute"], env=env,
                       capture_output=True)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
