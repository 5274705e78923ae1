"""How many tasks a cluster runs at once: a limit that follows the cluster's load
(adaptive concurrency) instead of a fixed number of task slots.

With each new sample of the cluster's load, taken about once a second while tasks wait
for the cluster, `Governor.step`:

- **lowers** the limit by a quarter (never below 1) when the driver is under pressure:
  its heap 80 % full of live data (measured after collections), a quarter or more of the
  last interval spent in garbage collection, or more Spark jobs active than
  `JOBS_PER_CORE` per executor core; then it waits `COOL_DOWN_SECONDS` before raising it
  again;
- **raises** it by one when tasks wait, the limit is what holds them back, and the
  cluster has had room for `ROOM_SECONDS` (two samples in a row): an executor core idle,
  no stage task waiting for one, and the driver's machine below 85 % CPU. One sample is
  not enough: tasks just admitted spend their first second making their sessions, before
  their Spark jobs reach the cores, and a limit raised on that moment's idle cores
  overloads the cluster for the rest of the run (measured in docs/benchmarks.md, "Adaptive
  concurrency on a mixed workload"); after a raise, room is looked for afresh;
- otherwise **keeps** it.

The limit starts at twice the cluster's cores and stays between 1 and
`spark.podium.maxConcurrentTasks` when a cluster sets it, else `CEILING_PER_CORE` per
core. `spark.podium.concurrency: fixed` turns this off (the start value, always).
The governor is pure: it is given the time and the load, so tests drive it step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

HEAP_HIGH = 0.80
GC_HIGH = 0.25
CPU_HIGH = 0.85
JOBS_PER_CORE = 4
CEILING_PER_CORE = 8
COOL_DOWN_SECONDS = 3.0
ROOM_SECONDS = 1.0
DECREASE = 0.75


@dataclass(frozen=True)
class Load:
    """One sample of what a cluster reports (None: not known for this cluster)."""

    cores: int  # executor cores (task slots of Spark's own scheduler)
    busy: int  # of them running a Spark task
    pending: int  # tasks of active stages waiting for an executor core
    active_jobs: int
    heap: float | None = None  # the driver's live heap after GC, as a share of its maximum
    gc: float | None = None  # share of the last interval the driver spent in GC
    cpu: float | None = None  # share of the driver's machine's CPU busy in the last interval


@dataclass(frozen=True)
class Decision:
    """A change of a cluster's limit and why."""

    at: float
    previous: int
    limit: int
    reason: str

    def text(self) -> str:
        """`task limit 4 -> 5: 1 of 2 executor cores idle, 12 tasks waiting`."""
        return f"task limit {self.previous} -> {self.limit}: {self.reason}"


def start_limit(cores: int, cap: int | None) -> int:
    """The limit a cluster starts with: twice its cores, within its cap."""
    return max(1, min(cap or 2 * cores, max(2, 2 * cores)))


class Governor:
    """The task limit of one cluster, moved by `step` from samples of its load."""

    def __init__(self, cores: int, cap: int | None = None):
        self.cap = cap
        self.limit = start_limit(cores, cap)
        self.reason = f"starting at {self.limit} (twice {cores} cores" + (
            f", at most {cap})" if cap else ")")
        self._quiet_until = 0.0
        self._room_since: float | None = None  # when the current run of roomy samples began

    def ceiling(self, cores: int) -> int:
        """The most the limit may reach on a cluster with `cores` executor cores."""
        return self.cap or max(2, CEILING_PER_CORE * cores)

    def step(self, now: float, load: Load, running: int, waiting: int) -> Decision | None:
        """Take one sample into account; the decision when the limit changed."""
        cores = max(1, load.cores)
        pressure = _pressure(load, cores)
        previous = self.limit
        room_since, self._room_since = self._room_since, None
        if pressure is not None:
            self.reason = pressure
            self._quiet_until = now + COOL_DOWN_SECONDS
            self.limit = max(1, min(self.limit - 1, int(self.limit * DECREASE)))
        elif waiting and running >= self.limit and now >= self._quiet_until:
            full = _full(load, cores)
            if full is not None:
                self.reason = full
            elif self.limit >= self.ceiling(cores):
                self.reason = f"at its ceiling of {self.limit} tasks"
            elif room_since is None or now - room_since < ROOM_SECONDS:
                self._room_since = now if room_since is None else room_since
            else:
                self.limit += 1
                self.reason = (f"{cores - load.busy} of {cores} executor cores idle, "
                               f"{waiting} task{'s' if waiting != 1 else ''} waiting")
        if self.limit == previous:
            return None
        return Decision(now, previous, self.limit, self.reason)


def _pressure(load: Load, cores: int) -> str | None:
    """Why the driver is overloaded, or None."""
    if load.heap is not None and load.heap >= HEAP_HIGH:
        return f"driver heap {load.heap:.0%} full after GC"
    if load.gc is not None and load.gc >= GC_HIGH:
        return f"driver spent {load.gc:.0%} of its time in GC"
    if load.active_jobs > JOBS_PER_CORE * cores:
        return f"{load.active_jobs} Spark jobs active (more than {JOBS_PER_CORE * cores})"
    return None


def _full(load: Load, cores: int) -> str | None:
    """Why the cluster has no room for another task, or None."""
    if load.busy >= cores:
        return f"all {cores} executor cores busy"
    if load.pending:
        return f"{load.pending} Spark tasks waiting for an executor core"
    if load.cpu is not None and load.cpu >= CPU_HIGH:
        return f"driver's machine at {load.cpu:.0%} CPU"
    return None
