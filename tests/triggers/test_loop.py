"""The trigger loop driven by a clock the test holds: `step(now)` against a real store,
no sleeping. Runs it starts are collected (and, where a test needs them to end, run by a
real executor)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.engine.recorder import Recorder
from podium.store import RunStore, open_store, registry
from podium.store import triggers as ticks
from podium.store.schema import RunRow
from podium.triggers.loop import TriggerLoop

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
OK = {"task_key": "t", "python_task": {"function": "tests.engine.funcs:ok"}}


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
       zone: ZoneInfo = UTC) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=zone).timestamp()
               * 1000)


def local(ms_value: int, zone: ZoneInfo = BERLIN) -> str:
    return datetime.fromtimestamp(ms_value / 1000, zone).isoformat()


@pytest.fixture
def store(podium_home) -> RunStore:
    return open_store()


def job(store: RunStore, **starts: object) -> int:
    """A registry job with one quick task, many runs at once, and these start settings."""
    return registry.create(store, {"name": "scheduled", "max_concurrent_runs": 1000,
                                   "tasks": [OK], **starts}, "tester")


def schedule(expression: str, zone: str = "UTC", pause: str = "UNPAUSED") -> dict:
    return {"schedule": {"quartz_cron_expression": expression, "timezone_id": zone,
                         "pause_status": pause}}


class Clock:
    """Steps a loop from `start` to `end` every `every_s` seconds, collecting runs."""

    def __init__(self, store: RunStore) -> None:
        self.runs: list[Run] = []
        self.loop = TriggerLoop(store, self.runs.append, file_check_seconds=0)

    def walk(self, start: int, end: int, every_s: int) -> None:
        for now in range(start, end + 1, every_s * 1000):
            self.loop.step(now)


def fired(store: RunStore, job_id: int) -> list[int]:
    return sorted(t.due_ms for t in ticks.ticks(store, job_id, 10_000) if t.state == "FIRED")


def test_weekday_schedule_in_berlin_through_both_dst_weeks(store: RunStore) -> None:
    job_id = job(store, **schedule("0 30 2 ? * MON-FRI", "Europe/Berlin"))
    clock = Clock(store)
    for start in (ms(2026, 3, 25), ms(2026, 10, 21)):  # each a week around a DST change
        clock.walk(start, start + 7 * 86_400_000, 1800)
    assert [local(d) for d in fired(store, job_id)] == [
        "2026-03-25T02:30:00+01:00", "2026-03-26T02:30:00+01:00", "2026-03-27T02:30:00+01:00",
        "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00",
        "2026-10-20T02:30:00+02:00",  # the clock jumped April -> October: one catch-up run
        "2026-10-21T02:30:00+02:00", "2026-10-22T02:30:00+02:00", "2026-10-23T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]
    assert len(clock.runs) == 11 and {r.trigger for r in clock.runs} == {"PERIODIC"}


def test_daily_schedule_fires_once_on_both_dst_days(store: RunStore) -> None:
    clock = Clock(store)
    spring = job(store, **schedule("0 30 2 * * ?", "Europe/Berlin"))
    clock.walk(ms(2026, 3, 28, 12), ms(2026, 3, 30, 12), 600)
    assert [local(d) for d in fired(store, spring)] == [
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
    registry.remove(store, spring)  # its state and ticks go with it; its id is not reused
    autumn = job(store, **schedule("0 30 2 * * ?", "Europe/Berlin"))
    clock.walk(ms(2026, 10, 24, 12), ms(2026, 10, 26, 12), 600)
    assert autumn != spring and fired(store, spring) == []
    assert [local(d) for d in fired(store, autumn)] == [
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


@pytest.mark.parametrize(("expression", "expected"), [
    ("0 0 12 L * ?", ["2026-02-28", "2026-03-31", "2026-04-30"]),
    ("0 0 12 LW * ?", ["2026-02-27", "2026-03-31", "2026-04-30"]),
    ("0 0 12 ? * 6#3", ["2026-02-20", "2026-03-20", "2026-04-17"]),
    ("0 0 12 L-2 * ?", ["2026-02-26", "2026-03-29", "2026-04-28"]),
])
def test_month_rules_fire_on_their_days(store: RunStore, expression: str,
                                        expected: list[str]) -> None:
    job_id = job(store, **schedule(expression))
    Clock(store).walk(ms(2026, 2, 1, 12, 0, 30), ms(2026, 5, 1), 86_400)
    assert [local(d, UTC)[:10] for d in fired(store, job_id)] == expected


def test_after_three_hours_down_the_latest_missed_tick_runs_once(store: RunStore) -> None:
    job_id = job(store, **schedule("0 0/15 * * * ?"))
    clock = Clock(store)
    clock.loop.step(ms(2026, 11, 24, 9, 0, 1))  # first seen: nothing is replayed
    clock.loop.step(ms(2026, 11, 24, 12, 5))  # the server was down 09:00-12:05
    assert [local(d, UTC) for d in fired(store, job_id)] == ["2026-11-24T12:00:00+00:00"]
    skipped = [t for t in ticks.ticks(store, job_id) if t.state == "SKIPPED"]
    assert len(skipped) == 11 and "only the latest missed tick runs" in skipped[0].reason
    assert min(t.due_ms for t in skipped) == ms(2026, 11, 24, 9, 15)
    assert len(clock.runs) == 1


def test_a_changed_expression_or_a_resume_never_replays_old_ticks(store: RunStore) -> None:
    job_id = job(store, **schedule("0 0 12 * * ?"))
    clock = Clock(store)
    clock.loop.step(ms(2026, 11, 24, 9))
    settings = registry.settings_of(registry.get(store, job_id))
    settings["schedule"]["quartz_cron_expression"] = "0 0 10 * * ?"  # 10:00 is past
    registry.replace(store, job_id, settings)
    clock.walk(ms(2026, 11, 24, 11), ms(2026, 11, 24, 23), 600)
    assert fired(store, job_id) == []
    settings["schedule"]["pause_status"] = "PAUSED"
    registry.replace(store, job_id, settings)
    clock.walk(ms(2026, 11, 25, 9), ms(2026, 11, 25, 11), 600)  # paused over 10:00
    settings["schedule"]["pause_status"] = "UNPAUSED"
    registry.replace(store, job_id, settings)
    clock.walk(ms(2026, 11, 25, 11), ms(2026, 11, 26, 11), 600)
    assert [local(d, UTC) for d in fired(store, job_id)] == ["2026-11-26T10:00:00+00:00"]
    assert len(clock.runs) == 1


def test_two_loops_on_one_store_fire_each_tick_once(store: RunStore) -> None:
    job_id = job(store, **schedule("0/10 * * * * ?"))
    first, second = Clock(store), Clock(open_store())
    start = ms(2026, 11, 24, 9)
    for i, now in enumerate(range(start, start + 120_000, 1000)):
        for clock in (first, second) if i % 20 < 10 else (second, first):
            clock.loop.step(now)
    dues = fired(store, job_id)
    assert dues == list(range(start + 10_000, start + 110_000 + 1, 10_000))
    assert len(first.runs) + len(second.runs) == 11 and first.runs and second.runs
    with store.sessions.begin() as db:
        assert db.query(RunRow).count() == 11


def test_a_per_second_schedule_runs_at_most_every_10_seconds(store: RunStore) -> None:
    job_id = job(store, **schedule("* * * * * ?"))
    clock = Clock(store)
    start = ms(2026, 11, 24, 9)
    clock.walk(start, start + 30_000, 1)
    dues = fired(store, job_id)
    assert [d - start for d in dues] == [1000, 11_000, 21_000]
    reasons = {t.reason for t in ticks.ticks(store, job_id, 100) if t.state == "SKIPPED"}
    assert reasons == {"not run: less than 10 s after the schedule's previous run "
                       "(Databricks' minimum)"}


def test_periodic_trigger_counts_intervals_from_when_it_was_set(store: RunStore) -> None:
    job_id = job(store, trigger={"periodic": {"interval": 2, "unit": "HOURS"}})
    clock = Clock(store)
    start = ms(2026, 11, 24, 9, 7)
    clock.loop.step(start)
    clock.walk(start + 3_600_000, start + 4 * 3_600_000, 600)
    clock.loop.step(start + 9 * 3_600_000)  # down from 13:07 to 18:07: 15:07 and 17:07 due
    assert [local(d, UTC)[11:16] for d in fired(store, job_id)] == ["11:07", "13:07", "17:07"]
    assert [local(t.due_ms, UTC)[11:16] for t in ticks.ticks(store, job_id)
            if t.state == "SKIPPED"] == ["15:07"]


def test_files_arriving_start_one_run_and_wait_out_the_minimum_gap(store: RunStore,
                                                                   tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.csv").write_text("there before the trigger")
    job_id = job(store, trigger={"file_arrival": {
        "url": str(inbox), "min_time_between_triggers_seconds": 60,
        "wait_after_last_change_seconds": 5}})
    clock = Clock(store)
    start = ms(2026, 11, 24, 9)
    clock.loop.step(start)  # the first look: old.csv does not trigger
    clock.loop.step(start + 1000)
    assert clock.runs == []
    (inbox / "a.csv").write_text("1")
    clock.loop.step(start + 2000)  # seen, but it may still be changing
    clock.loop.step(start + 4000)
    assert clock.runs == []
    clock.loop.step(start + 7000)  # 5 s without a change
    assert len(clock.runs) == 1 and clock.runs[0].trigger == "FILE_ARRIVAL"
    (inbox / "b.csv").write_text("2")
    clock.walk(start + 8000, start + 66_000, 1)
    assert len(clock.runs) == 1  # within min_time_between_triggers_seconds of the last
    clock.loop.step(start + 67_000)
    assert len(clock.runs) == 2
    clock.walk(start + 68_000, start + 200_000, 5)
    assert len(clock.runs) == 2 and len(fired(store, job_id)) == 2
    # Each run started when its trigger fired, however long its admission took, so the
    # runs' start times are as far apart as the triggers were.
    assert [r.start_ms for r in clock.runs] == [start + 7000, start + 67_000]


def test_table_updates_fire_on_any_or_all(store: RunStore, podium_home) -> None:
    warehouse = podium_home / "warehouse"
    for name in ("sales.db/orders", "sales.db/refunds"):
        (warehouse / name / "_delta_log").mkdir(parents=True)
        (warehouse / name / "_delta_log" / f"{0:020}.json").write_text("{}")
    any_id = job(store, trigger={"table_update": {"table_names": [
        "main.sales.orders", "main.sales.refunds"]}})
    all_id = job(store, trigger={"table_update": {"table_names": [
        "sales.orders", "sales.refunds"], "condition": "ALL_UPDATED"}})
    clock = Clock(store)
    start = ms(2026, 11, 24, 9)
    clock.loop.step(start)
    (warehouse / "sales.db/orders/_delta_log" / f"{1:020}.json").write_text("{}")
    clock.loop.step(start + 1000)
    assert [len(fired(store, i)) for i in (any_id, all_id)] == [1, 0]
    (warehouse / "sales.db/refunds/_delta_log" / f"{1:020}.json").write_text("{}")
    clock.loop.step(start + 2000)
    assert [len(fired(store, i)) for i in (any_id, all_id)] == [2, 1]
    assert {r.trigger for r in clock.runs} == {"TABLE"}


def test_continuous_job_restarts_with_growing_delays_and_stops_when_paused(
        store: RunStore, tmp_path) -> None:
    job_id = registry.create(store, {"name": "always", "continuous": {}, "tasks": [
        {"task_key": "t", "python_task": {"function": "tests.engine.funcs:fail"}}]}, "me")
    executor = Executor()
    Recorder(store, executor)
    started: list[int] = []

    def run_to_end(run: Run) -> None:  # the run ends (FAILED) at once, at the loop's now
        started.append(now)
        executor.submit(run)
        executor.run_until_done([run])
        with store.sessions.begin() as db:
            db.get(RunRow, run.run_id).end_ms = now + 500

    loop = TriggerLoop(store, run_to_end, backoff_seconds=10, max_backoff_seconds=40)
    start = ms(2026, 11, 24, 9)
    for now in range(start, start + 200_000, 1000):
        loop.step(now)
    assert [(s - start) // 1000 for s in started] == [0, 11, 32, 73, 114, 155, 196]
    settings = registry.settings_of(registry.get(store, job_id))
    settings["continuous"]["pause_status"] = "PAUSED"
    registry.replace(store, job_id, settings)
    for now in range(start + 200_000, start + 400_000, 1000):
        loop.step(now)
    assert len(started) == 7
    assert {r.trigger for r in ticks.recent_runs(store, job_id)} == {"CONTINUOUS"}


def test_a_job_whose_schedule_never_fires_again_is_left_alone(store: RunStore) -> None:
    job_id = job(store, **schedule("0 0 12 1 JAN ? 2027"))
    Clock(store).walk(ms(2027, 2, 1), ms(2027, 2, 2), 3600)
    assert fired(store, job_id) == []


def test_the_trigger_state_survives_a_new_loop(store: RunStore) -> None:
    """A restarted server (a new loop) goes on from the stored state, not from scratch."""
    job_id = job(store, **schedule("0 0 * * * ?"))
    Clock(store).walk(ms(2026, 11, 24, 9, 30), ms(2026, 11, 24, 10, 30), 600)
    Clock(store).walk(ms(2026, 11, 24, 10, 40), ms(2026, 11, 24, 11, 30), 600)
    assert [local(d, UTC)[11:16] for d in fired(store, job_id)] == ["10:00", "11:00"]


def test_redeploying_keeps_the_schedule_going_and_a_changed_one_starts_afresh(
        store: RunStore) -> None:
    origin = registry.BundleJob("b", "/bundles/b", "prod", "nightly")

    def deploy(expression: str) -> int:
        settings = {"name": "nightly", "max_concurrent_runs": 1000, "tasks": [OK],
                    **schedule(expression)}
        return registry.deploy(store, {"nightly": settings}, origin, "me")[0]["nightly"]

    job_id = deploy("0 0 * * * ?")
    clock = Clock(store)
    clock.walk(ms(2026, 11, 24, 9, 30), ms(2026, 11, 24, 10, 30), 600)
    assert deploy("0 0 * * * ?") == job_id  # the same settings: the same state goes on
    clock.walk(ms(2026, 11, 24, 12, 30), ms(2026, 11, 24, 12, 50), 600)
    assert deploy("0 45 * * * ?") == job_id  # changed at 12:50: 12:45 is not replayed
    clock.walk(ms(2026, 11, 24, 12, 50), ms(2026, 11, 24, 13, 50), 600)
    assert [local(d, UTC)[11:16] for d in fired(store, job_id)] == [
        "10:00", "12:00", "13:45"]  # 11:00 missed while no loop ran: the latest, 12:00, ran
