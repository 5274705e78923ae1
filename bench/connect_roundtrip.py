"""What `podium serve`'s Spark Connect proxy costs: the same calls from one client process
to an all-purpose cluster's own Connect endpoint and through the server's port.

Measures, side by side in one invocation, interleaved round by round:
  count      spark.range(10**6).count()
  to_pandas  a 100k-row, 3-column DataFrame's toPandas()
  sql        spark.sql("SELECT 1").collect() (the smallest round trip)

Prints medians, the time the proxy adds (the median of round-by-round differences), and
whether it stays within the issue's bound (10 % or 5 ms, whichever is larger); writes
bench/results/connect_roundtrip[_tls].json.
Usage: python bench/connect_roundtrip.py [--rounds 15] [--tls]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).parent
PODIUM = [sys.executable, "-m", "podium"]


def start_server(home: Path, tls: bool) -> tuple[subprocess.Popen, str]:
    """`podium serve` on a free port; its process and URL."""
    home.mkdir(parents=True)
    log = home / "serve.log"
    env = {**os.environ, "PODIUM_HOME": str(home)}
    with log.open("wb") as sink:
        proc = subprocess.Popen([*PODIUM, "serve", "--port", "0", *(["--tls"] if tls else [])],
                                stdout=sink, stderr=sink, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (found := re.search(r"listening on (\S+)", log.read_text())):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"podium serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return proc, found.group(1)


def start_cluster(url: str, headers: dict[str, str], verify: str | bool) -> str:
    cluster_id = requests.post(f"{url}/api/2.1/clusters/create", json={
        "cluster_name": "bench", "spark_version": "17.3.x-scala2.13", "num_workers": 0,
        "spark_conf": {"spark.master": "local[2]"}}, headers=headers, verify=verify,
        timeout=30).json()["cluster_id"]
    deadline = time.monotonic() + 240
    while requests.get(f"{url}/api/2.1/clusters/get", params={"cluster_id": cluster_id},
                       headers=headers, verify=verify, timeout=30).json()["state"] != "RUNNING":
        if time.monotonic() > deadline:
            raise SystemExit("the cluster did not start")
        time.sleep(0.5)
    return cluster_id


OPS: dict[str, Callable[[Any], Any]] = {
    "count": lambda spark: spark.range(10**6).count(),
    "to_pandas": lambda spark: spark.range(100_000).selectExpr(
        "id", "id * 2 AS twice", "CAST(id AS STRING) AS text").toPandas(),
    "sql": lambda spark: spark.sql("SELECT 1").collect(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tls", action="store_true", help="serve with --tls")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="podium-connect-bench-")) / "home"
    proc, url = start_server(home, args.tls)
    env = {**os.environ, "PODIUM_HOME": str(home)}
    try:
        token = subprocess.run([*PODIUM, "tokens", "create"], env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        cert = str(home / "tls" / "cert.pem")
        cluster_id = start_cluster(url, headers, cert if args.tls else True)
        listed = json.loads(subprocess.run([*PODIUM, "cluster", "list", "--json"], env=env,
                                           check=True, capture_output=True, text=True).stdout)
        direct = next(c["spark_remote"] for c in listed["clusters"]
                      if c["cluster_id"] == cluster_id)
        host, port = url.split("://")[1].rsplit(":", 1)
        if args.tls:
            os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = cert
            proxied = (f"sc://{host}:{port}/;use_ssl=true;token={token};"
                       f"x-databricks-cluster-id={cluster_id}")
        else:
            proxied = f"sc://localhost:{port}/;token={token};x-databricks-cluster-id={cluster_id}"
        from pyspark.sql.connect.session import SparkSession

        sessions = {"direct": SparkSession.builder.remote(direct).create(),
                    "proxied": SparkSession.builder.remote(proxied).create()}
        times: dict[str, dict[str, list[float]]] = {op: {"direct": [], "proxied": []}
                                                    for op in OPS}
        for round_number in range(args.rounds + 2):  # two warm-up rounds, not kept
            for op, call in OPS.items():
                for way, spark in sessions.items():
                    began = time.perf_counter()
                    call(spark)
                    if round_number >= 2:
                        times[op][way].append(time.perf_counter() - began)
        for spark in sessions.values():
            spark.stop()
        requests.post(f"{url}/api/2.1/clusters/permanent-delete",
                      json={"cluster_id": cluster_id}, headers=headers,
                      verify=cert if args.tls else True, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    results: dict[str, Any] = {"rounds": args.rounds, "tls": args.tls, "ops": {}}
    print(f"{'op':10} {'direct ms':>10} {'proxied ms':>11} {'added ms':>9} {'ratio':>6}  bound")
    for op, ways in times.items():
        d, p = statistics.median(ways["direct"]) * 1000, statistics.median(ways["proxied"]) * 1000
        # round by round differences: the machine's drift cancels out
        pairs = zip(ways["direct"], ways["proxied"], strict=True)
        added = statistics.median(b - a for a, b in pairs) * 1000
        bound = max(0.10 * d, 5.0)
        within = added <= bound
        results["ops"][op] = {"direct_ms": round(d, 2), "proxied_ms": round(p, 2),
                              "added_ms": round(added, 2), "ratio": round(p / d, 3),
                              "bound_ms": round(bound, 2), "within_bound": within}
        print(f"{op:10} {d:10.1f} {p:11.1f} {added:9.1f} {p / d:6.2f}  "
              f"{'within' if within else 'OVER'} {bound:.1f} ms")
    out = HERE / "results" / f"connect_roundtrip{'_tls' if args.tls else ''}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
