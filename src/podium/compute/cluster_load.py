"""A cluster's load as `concurrency.Load`, read from what Spark reports about itself (the
classic driver's status store and JVM through podium's `AppStatus`; else the monitoring
REST API and the driver's metrics servlet, where `cluster_conf` turns on the JVM source)
and, for a driver on this machine, the machine's CPU from `/proc/stat`.

Rates (time in GC, CPU) are measured between two reads, so a reader keeps the previous
counters; one reader per cluster, used from one thread.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from podium.compute import spark_status
from podium.compute.concurrency import Load

# Turns on the driver's JVM metrics (heap, GC) at `/metrics/json`.
JVM_SOURCE_CONF = {
    "spark.metrics.conf.driver.source.jvm.class": "org.apache.spark.metrics.source.JvmSource"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_GC_TIME = re.compile(r"\.driver\.jvm\.[^.]+\.time$")


def machine_cpu_ticks(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """(busy, total) CPU ticks of this machine since boot; None where there is no
    `/proc/stat`."""
    try:
        fields = [int(v) for v in stat.read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class LoadReader:
    """Samples one cluster's load; `read()` is None when the cluster has no UI or does
    not answer."""

    def __init__(self, cluster: Any):
        self.cluster = cluster
        self._gc: tuple[float, float] | None = None  # (wall seconds, GC ms so far)
        self._cpu: tuple[int, int] | None = None

    def read(self) -> Load | None:
        """The cluster's load now: counts, heap and GC time from the classic driver
        itself where it has podium's jar, else three small requests to its monitoring
        API and the gauges of its metrics servlet."""
        try:
            ui, app = self.cluster.ui_url, self.cluster.application_id
        except Exception:  # a cluster stopping under the sampler has no UI to ask
            return None
        if not ui or not app:
            return None
        try:
            from_store = getattr(self.cluster, "load_counts", None)
            counts = (from_store() if from_store is not None else None) or _counts(ui, app)
            # the driver's own JVM figures came with the counts, else the metrics servlet's
            jvm = counts if "gc_ms" in counts else _jvm_figures(_metrics(ui))
        except (OSError, ValueError, urllib.error.URLError):
            return None
        return Load(cores=counts["cores"], busy=counts["busy"], pending=counts["pending"],
                    active_jobs=counts["active_jobs"], heap=_heap_share(jvm),
                    gc=self._gc_share(jvm.get("gc_ms")),
                    cpu=self._cpu_share() if self._driver_here(ui) else None)

    def _driver_here(self, ui: str) -> bool:
        """Whether the driver runs on this machine (so this machine's CPU is its CPU): the
        classic driver and Connect servers podium started do; another server only when
        its UI is on a loopback address (the classic driver's UI names the host's own
        address, so the address alone does not tell)."""
        return getattr(self.cluster, "kind", "") == "classic" or \
            getattr(self.cluster, "process", None) is not None or \
            urlsplit(ui).hostname in LOOPBACK

    def _gc_share(self, spent_ms: float | None) -> float | None:
        """The share of the time since the last read spent in GC, from the GC milliseconds
        so far (None when not known)."""
        if spent_ms is None:
            return None
        now, spent = time.monotonic(), float(spent_ms)
        before, self._gc = self._gc, (now, spent)
        if before is None or now <= before[0]:
            return None
        return max(0.0, (spent - before[1]) / 1000 / (now - before[0]))

    def _cpu_share(self) -> float | None:
        ticks = machine_cpu_ticks()
        before, self._cpu = self._cpu, ticks
        if ticks is None or before is None or ticks[1] <= before[1]:
            return None
        return (ticks[0] - before[0]) / (ticks[1] - before[1])


def _counts(ui: str, app: str) -> dict[str, int]:
    """The load counts `AppStatus.load` gives, from the monitoring REST API."""
    executors = [e for e in spark_status.fetch(ui, f"applications/{app}/executors")
                 if e.get("isActive", True)]
    stages = spark_status.fetch(ui, f"applications/{app}/stages?status=active")
    jobs = spark_status.fetch(ui, f"applications/{app}/jobs?status=running")
    return {"cores": sum(int(e.get("totalCores", 0)) for e in executors),
            "busy": sum(int(e.get("activeTasks", 0)) for e in executors),
            "pending": sum(max(0, int(s.get("numTasks", 0)) - int(s.get("numActiveTasks", 0))
                               - int(s.get("numCompleteTasks", 0))) for s in stages),
            "active_jobs": len(jobs)}


def _metrics(ui: str) -> dict[str, Any]:
    """The driver's gauges (empty when its metrics servlet is off)."""
    try:
        with urllib.request.urlopen(f"{ui.rstrip('/')}/metrics/json/",
                                    timeout=spark_status.TIMEOUT_SECONDS) as response:
            return dict(json.load(response).get("gauges", {}))
    except (OSError, ValueError, urllib.error.URLError):
        return {}


def _jvm_figures(gauges: dict[str, Any]) -> dict[str, float]:
    """The driver's live heap after its last collections, heap maximum and GC milliseconds
    from its metrics servlet's JVM source gauges, named as `AppStatus.jvm` names them; a
    figure whose gauges are missing (no JVM source) is left out."""
    live = [v["value"] for k, v in gauges.items() if ".driver.jvm.pools." in k
            and k.endswith(".used-after-gc")]
    top = [v["value"] for k, v in gauges.items() if k.endswith(".driver.jvm.heap.max")]
    times = [v["value"] for k, v in gauges.items() if _GC_TIME.search(k)]
    figures = {"heap_live": float(sum(live)) if live else None,
               "heap_max": float(top[0]) if top else None,
               "gc_ms": float(sum(times)) if times else None}
    return {name: value for name, value in figures.items() if value is not None}


def _heap_share(jvm: dict[str, Any]) -> float | None:
    """The share of the driver's heap still in use after its last collections (live
    data, not garbage waiting for the next one); None when not known."""
    live, top = jvm.get("heap_live"), jvm.get("heap_max")
    if live is None or top is None or top <= 0:
        return None
    return float(live) / float(top)
