"""Dagster, `execute_in_process` (in-process executor): N no-op ops in a flat fan-out and
a DEPTH-deep chain. Run in bench/peers/.venv; prints {"fan_out_s": …, "chain_s": …}.
Usage: dagster_jobs.py N DEPTH"""

from __future__ import annotations

import json
import sys
import time

from dagster import job, op


@op
def noop() -> int:
    return 1


@op
def link(value: int) -> int:
    return value


def fan_out_job(n: int):
    @job(name=f"fan_out_{n}")
    def fan_out() -> None:
        for i in range(n):
            noop.alias(f"noop_{i}")()

    return fan_out


def chain_job(depth: int):
    @job(name=f"chain_{depth}")
    def chain() -> None:
        value = noop()
        for i in range(depth - 1):
            value = link.alias(f"link_{i}")(value)

    return chain


def timed(definition) -> float:
    began = time.perf_counter()
    assert definition.execute_in_process().success
    return time.perf_counter() - began


if __name__ == "__main__":
    n, depth = int(sys.argv[1]), int(sys.argv[2])
    timed(fan_out_job(5))  # warm-up: imports, the ephemeral instance
    print(json.dumps({"fan_out_s": timed(fan_out_job(n)), "chain_s": timed(chain_job(depth))}))
