"""Run and task states, with Databricks' names, stored as the same plain strings."""

from __future__ import annotations

from enum import Enum


class LifeCycle(str, Enum):
    """Where a run or task run is in its life."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    BLOCKED = "BLOCKED"
    RUNNING = "RUNNING"
    WAITING_FOR_RETRY = "WAITING_FOR_RETRY"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    SKIPPED = "SKIPPED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class Result(str, Enum):
    """How a finished run or task run ended."""

    SUCCESS = "SUCCESS"
    SUCCESS_WITH_FAILURES = "SUCCESS_WITH_FAILURES"
    FAILED = "FAILED"
    TIMEDOUT = "TIMEDOUT"
    CANCELED = "CANCELED"
    UPSTREAM_FAILED = "UPSTREAM_FAILED"
    UPSTREAM_CANCELED = "UPSTREAM_CANCELED"
    EXCLUDED = "EXCLUDED"
    MAXIMUM_CONCURRENT_RUNS_REACHED = "MAXIMUM_CONCURRENT_RUNS_REACHED"


FINAL = {LifeCycle.TERMINATED, LifeCycle.SKIPPED, LifeCycle.INTERNAL_ERROR}
FAILED_LIKE = {Result.FAILED, Result.TIMEDOUT, Result.UPSTREAM_FAILED}
CANCELED_LIKE = {Result.CANCELED, Result.UPSTREAM_CANCELED}

# Which life-cycle moves are legal; the executor refuses any other.
MOVES: dict[LifeCycle, set[LifeCycle]] = {
    LifeCycle.PENDING: {LifeCycle.QUEUED, LifeCycle.RUNNING, LifeCycle.TERMINATED,
                        LifeCycle.SKIPPED, LifeCycle.BLOCKED, LifeCycle.INTERNAL_ERROR},
    LifeCycle.BLOCKED: {LifeCycle.QUEUED, LifeCycle.RUNNING, LifeCycle.TERMINATED},
    LifeCycle.QUEUED: {LifeCycle.RUNNING, LifeCycle.TERMINATED, LifeCycle.INTERNAL_ERROR},
    LifeCycle.RUNNING: {LifeCycle.TERMINATING, LifeCycle.TERMINATED, LifeCycle.WAITING_FOR_RETRY,
                        LifeCycle.INTERNAL_ERROR},
    LifeCycle.TERMINATING: {LifeCycle.TERMINATED, LifeCycle.WAITING_FOR_RETRY,
                            LifeCycle.INTERNAL_ERROR},
    LifeCycle.WAITING_FOR_RETRY: {LifeCycle.PENDING, LifeCycle.TERMINATED},
    LifeCycle.TERMINATED: set(),
    LifeCycle.SKIPPED: set(),
    LifeCycle.INTERNAL_ERROR: set(),
}
