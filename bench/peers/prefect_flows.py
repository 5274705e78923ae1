"""Prefect 3, local: N no-op tasks in a flat fan-out (`.submit`) and a DEPTH-deep chain.
Run in bench/peers/.venv; prints {"fan_out_s": …, "chain_s": …} after a warm-up.
Usage: prefect_flows.py N DEPTH"""

from __future__ import annotations

import json
import sys
import time

from prefect import flow, task


@task
def noop(value: int | None = None) -> int | None:
    return value


@flow
def fan_out(n: int) -> None:
    futures = [noop.submit(i) for i in range(n)]
    for future in futures:
        future.result()


@flow
def chain(depth: int) -> None:
    value = None
    for _ in range(depth):
        value = noop(value)


def timed(run, size: int) -> float:
    began = time.perf_counter()
    run(size)
    return time.perf_counter() - began


if __name__ == "__main__":
    n, depth = int(sys.argv[1]), int(sys.argv[2])
    fan_out(5)  # warm-up: the local API, the database, imports
    chain(5)
    print(json.dumps({"fan_out_s": timed(fan_out, n), "chain_s": timed(chain, depth)}))
