"""How big a cluster is and where its own output goes, the same for every kind."""

from __future__ import annotations

import os
import re
from pathlib import Path

from podium import defaults
from podium.compute.errors import ClusterError
from podium.spec.models import ClusterSpec


def cores_of(master: str) -> int:
    """How many cores a `local[N]`/`local[*]` master uses (the machine's for others)."""
    match = re.fullmatch(r"local\[(\d+|\*)(?:,\s*\d+)?\]", master.strip())
    if match and match.group(1) != "*":
        return int(match.group(1))
    if master.strip() == "local":
        return 1
    return os.cpu_count() or 1


def task_slots(spec: ClusterSpec) -> int:
    """Task slots of a cluster with fixed concurrency: `spark.podium.maxConcurrentTasks`,
    else twice its cores."""
    return concurrency_cap(spec) or max(2, cores_of(spec.master) * 2)


def concurrency_cap(spec: ClusterSpec) -> int | None:
    """`spark.podium.maxConcurrentTasks`: the most tasks a cluster runs at once, if set."""
    return int(spec.spark_conf.get(defaults.MAX_CONCURRENT_TASKS_CONF, 0)) or None


def adaptive(spec: ClusterSpec) -> bool:
    """Whether a cluster's task limit follows its load (`spark.podium.concurrency`:
    `adaptive`, the default) or stays where it starts (`fixed`)."""
    mode = str(spec.spark_conf.get(defaults.CONCURRENCY_CONF, "adaptive")).strip().lower()
    if mode not in ("adaptive", "fixed"):
        raise ClusterError(f"{defaults.CONCURRENCY_CONF} is '{mode}'; use 'adaptive' or "
                           "'fixed'")
    return mode == "adaptive"


def cluster_log_path(key: str) -> Path:
    """Where a cluster's JVM or server writes: `<home>/logs/clusters/<key>.log`, in that
    folder whatever the key holds (a bundle's resource keys are free text)."""
    return defaults.logs_dir() / "clusters" / f"{key.replace(':', '.').replace('/', '_')}.log"
