"""Adaptive concurrency: a cluster's task limit follows its load. Driven step by step with
made-up loads (no Spark, no threads)."""

from __future__ import annotations

import pytest

from podium.compute import concurrency
from podium.compute.cluster_load import machine_cpu_ticks
from podium.compute.concurrency import Governor, Load
from podium.compute.errors import ClusterError
from podium.compute.manager import ClusterManager, Slot
from podium.compute.sizing import adaptive, task_slots
from podium.spec.models import ClusterSpec

IDLE = Load(cores=2, busy=0, pending=0, active_jobs=0, heap=0.2, gc=0.0, cpu=0.1)
BUSY = Load(cores=2, busy=2, pending=30, active_jobs=3, heap=0.5, gc=0.01, cpu=0.97)


def test_a_cluster_starts_at_twice_its_cores_within_its_cap() -> None:
    assert Governor(cores=2).limit == 4
    assert Governor(cores=2, cap=3).limit == 3
    assert Governor(cores=1, cap=1).limit == 1
    assert Governor(cores=1).limit == 2


def test_idle_cores_seen_twice_in_a_row_raise_the_limit_one_step_at_a_time() -> None:
    governor = Governor(cores=2)
    limits = []
    for second in range(6):
        decision = governor.step(float(second), IDLE, running=governor.limit, waiting=10)
        assert decision is None or decision.limit == decision.previous + 1
        limits.append(governor.limit)
    assert limits == [4, 5, 5, 6, 6, 7]  # after each raise, room is looked for afresh
    assert "2 of 2 executor cores idle, 10 tasks waiting" in governor.reason


def test_one_idle_moment_between_busy_ones_raises_nothing() -> None:
    """Tasks just admitted leave the cores idle while they make their sessions: that
    moment alone is no room."""
    governor = Governor(cores=2)
    for second in range(6):
        load = IDLE if second % 2 == 0 else BUSY
        assert governor.step(float(second), load, running=4, waiting=10) is None
    assert governor.limit == 4


def test_nothing_waiting_or_limit_not_reached_keeps_the_limit() -> None:
    governor = Governor(cores=2)
    assert governor.step(0.0, IDLE, running=4, waiting=0) is None
    assert governor.step(1.0, IDLE, running=2, waiting=5) is None  # places still free
    assert governor.limit == 4


@pytest.mark.parametrize(("load", "reason"), [
    (BUSY, "all 2 executor cores busy"),
    (Load(cores=4, busy=1, pending=12, active_jobs=1), "12 Spark tasks waiting"),
    (Load(cores=4, busy=0, pending=0, active_jobs=1, cpu=0.9), "machine at 90% CPU"),
])
def test_a_full_cluster_takes_no_more(load: Load, reason: str) -> None:
    governor = Governor(cores=load.cores)
    before = governor.limit
    assert governor.step(0.0, load, running=before, waiting=50) is None
    assert governor.limit == before and reason in governor.reason


@pytest.mark.parametrize(("load", "reason"), [
    (Load(cores=2, busy=2, pending=0, active_jobs=1, heap=0.85), "heap 85% full after GC"),
    (Load(cores=2, busy=2, pending=0, active_jobs=1, gc=0.4), "40% of its time in GC"),
    (Load(cores=2, busy=2, pending=9, active_jobs=12), "12 Spark jobs active"),
])
def test_a_driver_under_pressure_lowers_the_limit_then_waits(load: Load, reason: str) -> None:
    governor = Governor(cores=2, cap=16)
    for second in range(16):  # raised to 12 first
        governor.step(float(second), IDLE, running=governor.limit, waiting=100)
    assert governor.limit == 12
    decision = governor.step(20.0, load, running=12, waiting=100)
    assert decision is not None and (decision.previous, decision.limit) == (12, 9)
    assert reason in decision.text()
    # Room again, but within the cool-down the limit stays where pressure put it.
    assert governor.step(20.0 + concurrency.COOL_DOWN_SECONDS / 2, IDLE, 9, 100) is None
    after = 20.0 + concurrency.COOL_DOWN_SECONDS
    assert governor.step(after, IDLE, 9, 100) is None  # room seen once
    assert governor.step(after + 1, IDLE, 9, 100).limit == 10


def test_pressure_never_takes_the_limit_below_one() -> None:
    governor = Governor(cores=1, cap=2)
    heavy = Load(cores=1, busy=1, pending=0, active_jobs=1, gc=0.9)
    for second in range(5):
        governor.step(float(second), heavy, running=1, waiting=3)
    assert governor.limit == 1


def test_the_limit_stops_at_the_cap_or_eight_per_core() -> None:
    capped, free = Governor(cores=2, cap=6), Governor(cores=2)
    for second in range(40):
        capped.step(float(second), IDLE, running=capped.limit, waiting=500)
        free.step(float(second), IDLE, running=free.limit, waiting=500)
    assert capped.limit == 6 and "ceiling of 6" in capped.reason
    assert free.limit == concurrency.CEILING_PER_CORE * 2


class Cluster:
    """What the manager needs of a started cluster, and nothing else."""

    kind = "classic"

    def __init__(self, **conf: str) -> None:
        self.spec = ClusterSpec(spark_conf={"spark.master": "local[2]", **conf})
        self.slots = task_slots(self.spec)


def test_the_manager_admits_by_the_limit_and_reports_its_decisions() -> None:
    manager = ClusterManager(lambda key, error: None)
    told: list[str] = []
    manager.on_decision.append(lambda key, decision: told.append(f"{key}: {decision.text()}"))
    slot = manager.slots["job:main"] = Slot(Cluster(), state="READY",
                                            governor=Governor(cores=2))
    taken = [manager.try_acquire("job:main") for _ in range(6)]
    assert sum(t is not None for t in taken) == 4 and slot.waiting == 2
    assert "4 of 4 running" in manager.waiting_message("job:main")
    for second in (1.0, 2.0):  # room in two samples in a row
        slot.sample = (second, Load(cores=2, busy=1, pending=0, active_jobs=1))
        assert manager.try_acquire("job:main") is None  # still waiting: 4 of 4 running
        manager.adapt(second)
    assert slot.limit == 5 and slot.waiting == 0
    assert told == ["job:main: task limit 4 -> 5: 1 of 2 executor cores idle, 1 task waiting"]
    manager.adapt(2.5)  # the same sample is used once
    assert slot.limit == 5 and manager.try_acquire("job:main") is not None


def test_fixed_concurrency_keeps_the_slots_it_is_given() -> None:
    manager = ClusterManager(lambda key, error: None)
    fixed = Cluster(**{"spark.podium.concurrency": "fixed",
                       "spark.podium.maxConcurrentTasks": "3"})
    manager.slots["job:fixed"] = Slot(fixed, state="STARTING")
    manager.started("job:fixed", None)
    assert manager.slots["job:fixed"].governor is None
    assert manager.slots["job:fixed"].limit == 3


def test_an_unknown_concurrency_mode_fails_the_cluster_saying_which_words_work() -> None:
    with pytest.raises(ClusterError, match="'adaptive' or 'fixed'"):
        adaptive(ClusterSpec(spark_conf={"spark.podium.concurrency": "greedy"}))
    manager = ClusterManager(lambda key, error: None)
    manager.slots["job:odd"] = Slot(Cluster(**{"spark.podium.concurrency": "greedy"}),
                                    state="STARTING")
    manager.started("job:odd", None)
    assert manager.state("job:odd") == "FAILED"
    assert "spark.podium.concurrency is 'greedy'" in (manager.slots["job:odd"].error or "")


def test_machine_cpu_is_read_from_proc_stat(tmp_path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert machine_cpu_ticks(stat) == (150, 1000)
    assert machine_cpu_ticks(tmp_path / "missing") is None
