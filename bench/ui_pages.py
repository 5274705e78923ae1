"""How fast the web UI's pages are where other job UIs time out or freeze: the runs list
with 100,000 runs in the store, the run page of a 1,000-task job, the run page of a
10,000-iteration for-each, and a task page whose log is 100 MB.

A real `podium serve` on a loopback port runs the two big jobs for real; then 100,000
more runs are copied into its SQLite store. Each page is fetched `--repeat` times with a
signed-in session, and beside it the JSON API call with the same data (runs/list,
runs/get), so the ratio says what rendering costs over the API. Prints medians; writes
bench/results/ui_pages.json.
Usage: python bench/ui_pages.py [--runs 100000] [--tasks 1000] [--iterations 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from api_latency import free_port  # noqa: E402

PODIUM = [sys.executable, "-m", "podium"]
NOOP = "tests.engine.funcs:noop"


def start(home: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {**os.environ, "PODIUM_HOME": str(home), "PYTHONPATH": str(HERE.parent)}
    token = subprocess.run([*PODIUM, "tokens", "create"], env=env, capture_output=True,
                           text=True, check=True).stdout.strip().split()[-1]
    port = free_port()
    server = subprocess.Popen([*PODIUM, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return server, url, token
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit("podium serve did not start")


def run_job(url: str, headers: dict[str, str], settings: dict) -> int:
    job_id = requests.post(f"{url}/api/2.1/jobs/create", json=settings, headers=headers,
                           timeout=30).json()["job_id"]
    run_id = requests.post(f"{url}/api/2.1/jobs/run-now", json={"job_id": job_id},
                           headers=headers, timeout=30).json()["run_id"]
    began = time.monotonic()
    while True:
        view = requests.get(f"{url}/api/2.1/jobs/runs/get", params={"run_id": run_id},
                            headers=headers, timeout=60).json()
        if view["state"]["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
            print(f"  {settings['name']}: {view['state'].get('result_state')} in "
                  f"{time.monotonic() - began:.0f}s")
            return run_id
        time.sleep(1)


def copy_runs(database: Path, template_run: int, count: int) -> None:
    """`count` copies of one run row (the runs list reads run rows only)."""
    db = sqlite3.connect(database)
    columns = [r[1] for r in db.execute("PRAGMA table_info(runs)") if r[1] != "id"]
    listed = ", ".join(columns)
    db.execute(f"INSERT INTO runs ({listed}) SELECT {listed} FROM runs, "
               f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
               f"WHERE i < {count}) SELECT i FROM n) WHERE runs.id = {template_run}")
    db.commit()
    db.close()


def timed(session: requests.Session, url: str, repeat: int) -> float:
    """Median seconds of `repeat` GETs (each must answer 200)."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = session.get(url, timeout=120)
        samples.append(time.perf_counter() - began)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--log-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="podium-ui-bench-"))
    server, url, token = start(home)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        print("running the big jobs for real ...")
        tasks = [{"task_key": f"t{i:04d}", "python_task": {"function": NOOP},
                  **({"depends_on": [{"task_key": f"t{i - 10:04d}"}]} if i >= 10 else {})}
                 for i in range(args.tasks)]
        wide = run_job(url, headers, {"name": "wide", "tasks": tasks})
        fan = run_job(url, headers, {"name": "fan", "tasks": [{
            "task_key": "each", "for_each_task": {
                "inputs": json.dumps(list(range(args.iterations))), "concurrency": 100,
                "task": {"task_key": "one", "python_task": {"function": NOOP}}}}]})
        small = run_job(url, headers, {"name": "small", "tasks": [
            {"task_key": "log", "python_task": {"function": NOOP}}]})
        small_view = requests.get(f"{url}/api/2.1/jobs/runs/get", params={"run_id": small},
                                  headers=headers, timeout=30).json()
        task_run = small_view["tasks"][0]["run_id"]
        log = Path(small_view["tasks"][0]["log_path"])
        line = b"INFO a line of a chatty task's log, as Spark and user code write them\n"
        with log.open("ab") as f:
            for _ in range(args.log_mb * 1024 * 1024 // (len(line) * 1000)):
                f.write(line * 1000)
        print(f"copying {args.runs:,} runs into the store ...")
        copy_runs(home / "podium.db", small, args.runs)

        session = requests.Session()
        session.post(f"{url}/login", data={"token": token, "next": "/"}, timeout=30)
        middle = small + args.runs // 2
        pages = {
            "runs_list_first_page": (f"{url}/runs",
                                     f"{url}/api/2.1/jobs/runs/list?limit=25"),
            "runs_list_deep_page": (f"{url}/runs?before={middle}",
                                    f"{url}/api/2.1/jobs/runs/list?limit=25"
                                    f"&page_token={middle}"),
            f"run_page_{args.tasks}_tasks": (f"{url}/runs/{wide}",
                                             f"{url}/api/2.1/jobs/runs/get?run_id={wide}"),
            f"run_page_{args.iterations}_iterations": (
                f"{url}/runs/{fan}", f"{url}/api/2.1/jobs/runs/get?run_id={fan}"),
            f"task_page_{args.log_mb}MB_log": (f"{url}/task-runs/{task_run}",
                                               f"{url}/api/2.1/jobs/runs/get-output?run_id="
                                               f"{task_run}"),
            "jobs_page": (f"{url}/", f"{url}/api/2.1/jobs/list"),
        }
        api = requests.Session()
        api.headers.update(headers)
        results = {}
        print(f"\n{'page':<30} {'page s':>8} {'API s':>8} {'ratio':>7}")
        for name, (page_url, api_url) in pages.items():
            page_s = timed(session, page_url, args.repeat)
            api_s = timed(api, api_url, args.repeat)
            results[name] = {"page_s": page_s, "api_s": api_s, "ratio": page_s / api_s}
            print(f"{name:<30} {page_s:>8.3f} {api_s:>8.3f} {page_s / api_s:>7.2f}")
    finally:
        server.terminate()
        server.wait(30)
    out = {"runs_in_store": args.runs + 3, "tasks": args.tasks,
           "iterations": args.iterations, "log_mb": args.log_mb, "repeat": args.repeat,
           "pages": results}
    (HERE / "results" / "ui_pages.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
