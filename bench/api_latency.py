"""What a warm `podium serve` saves: the quickstart job run through the Jobs API against
`podium run` of the same job (a cold process and Spark start each time).

Measures, side by side in one invocation:
  cold_cli        wall time of `podium run daily_sales --bundle examples/quickstart`
  api_first       the first run-now on a fresh server (its cluster starts)
  api_warm        later run-nows: time from the request to the first task RUNNING, and
                  from the request to the run TERMINATED (the cluster is kept warm)

Prints medians and ratios; writes bench/results/api_latency.json.
Usage: python bench/api_latency.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).parent
BUNDLE = HERE.parent / "examples" / "quickstart"
PODIUM = [sys.executable, "-m", "podium"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cold_cli(home: Path) -> float:
    """Wall seconds of one `podium run` of the quickstart job in its own process."""
    began = time.perf_counter()
    subprocess.run([*PODIUM, "run", "daily_sales", "--bundle", str(BUNDLE), "--json"],
                   check=True, capture_output=True, env={**os.environ, "PODIUM_HOME": str(home)})
    return time.perf_counter() - began


def timed_run(url: str, headers: dict[str, str], job_id: int) -> tuple[float, float]:
    """(seconds to the first task RUNNING, seconds to the run's end) of one run-now,
    polling runs/get every 5 ms."""
    began = time.perf_counter()
    run_id = requests.post(f"{url}/api/2.2/jobs/run-now", json={"job_id": job_id},
                           headers=headers, timeout=30).json()["run_id"]
    first = None
    while True:
        view = requests.get(f"{url}/api/2.2/jobs/runs/get", params={"run_id": run_id},
                            headers=headers, timeout=30).json()
        now = time.perf_counter() - began
        if first is None and any(t["state"]["life_cycle_state"] != "PENDING" and
                                 t.get("attempts") for t in view["tasks"]):
            first = now
        if view["state"]["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
            if view["state"].get("result_state") != "SUCCESS":
                raise SystemExit(f"run {run_id} ended {view['state']}")
            return first or now, now
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podium-api-bench-"))
    cli_home, server_home = work / "cli", work / "server"
    env = {**os.environ, "PODIUM_HOME": str(server_home)}
    print("cold podium run ...", flush=True)
    cold = [cold_cli(cli_home) for _ in range(3)]
    token = subprocess.run([*PODIUM, "tokens", "create"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    deployed = json.loads(subprocess.run([*PODIUM, "deploy", "--bundle", str(BUNDLE), "--json"],
                                         env=env, check=True, capture_output=True,
                                         text=True).stdout)
    job_id = deployed["jobs"]["daily_sales"]
    port = free_port()
    server = subprocess.Popen([*PODIUM, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        while True:
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        print("first API run (cluster starts) ...", flush=True)
        first = timed_run(url, headers, job_id)
        print(f"{args.runs} warm API runs ...", flush=True)
        warm = [timed_run(url, headers, job_id) for _ in range(args.runs)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    result = {
        "cold_cli_s": statistics.median(cold),
        "api_first": {"to_running_s": first[0], "total_s": first[1]},
        "api_warm": {"to_running_ms_median": statistics.median(w[0] for w in warm) * 1000,
                     "total_s_median": statistics.median(w[1] for w in warm)},
        "runs": args.runs,
    }
    result["cold_cli_over_warm_api"] = result["cold_cli_s"] / result["api_warm"]["total_s_median"]
    print(f"\ncold podium run           {result['cold_cli_s']:.2f} s (median of 3)")
    print(f"first API run             {first[1]:.2f} s ({first[0] * 1000:.0f} ms to RUNNING)")
    print(f"warm API run              {result['api_warm']['total_s_median']:.2f} s "
          f"({result['api_warm']['to_running_ms_median']:.0f} ms to RUNNING, median)")
    print(f"cold CLI / warm API       {result['cold_cli_over_warm_api']:.1f}x")
    (HERE / "results" / "api_latency.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
