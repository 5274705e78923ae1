"""The trigger loop of `podium serve`: `step(now_ms)` looks at every registry job with a
`schedule`, `trigger` or `continuous`, decides from the store what is due, and starts
those runs (trigger `PERIODIC`, `FILE_ARRIVAL`, `TABLE` or `CONTINUOUS`) through the same
admission as any run, so `max_concurrent_runs` and `queue` hold.

Each fired tick is claimed in the transaction that creates its run (a row keyed by job
and due time, and a versioned write of the trigger's state), so servers sharing one
database fire it once. Ticks before a trigger's settings were first seen never fire;
after downtime only the latest missed tick runs and the others are recorded as skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from podium.engine import launch
from podium.engine.model import Run
from podium.spec import quartz
from podium.spec.models import Job, TableUpdate
from podium.store import RunStore, TickTaken, registry
from podium.store import triggers as ticks
from podium.store.runs import ACTIVE
from podium.store.schema import TriggerStateRow, WorkspaceJobRow
from podium.triggers import watch

log = logging.getLogger("podium.triggers")

MIN_SCHEDULE_GAP_MS = 10_000  # Databricks: at least 10 s between runs of one schedule
UNIT_MS = {"HOURS": 3_600_000, "DAYS": 86_400_000, "WEEKS": 7 * 86_400_000}
KEEP = 1000  # missed ticks recorded one by one after a downtime
WATCHED = ("FILE_ARRIVAL", "TABLE")  # triggers that fire when they look, not at a tick


@dataclass(frozen=True)
class Parsed:
    """A registry job's settings as the loop uses them, kept while they do not change."""

    updated_ms: int
    job: Job | None
    spec_hash: str
    expression: quartz.Quartz | None = None
    zone: Any = None


@dataclass(frozen=True)
class Fired:
    """A run a trigger started."""

    job_id: int
    kind: str
    due_ms: int
    run_id: int


def to_dt(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def to_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds."""
    return int(moment.timestamp() * 1000)


def spec_hash(settings: dict[str, Any]) -> str:
    """What identifies a job's trigger settings; a change resets its state."""
    starts = {k: settings.get(k) for k in ("schedule", "trigger", "continuous")}
    return hashlib.sha256(json.dumps(starts, sort_keys=True).encode()).hexdigest()


class TriggerLoop:
    """Starts the runs that registry jobs' schedules and triggers make due."""

    def __init__(self, store: RunStore, accept: Callable[[Run], None],
                 file_check_seconds: float = 60.0, backoff_seconds: float = 10.0,
                 max_backoff_seconds: float = 600.0):
        self.store = store
        self.accept = accept
        self.file_check_ms = int(file_check_seconds * 1000)
        self.backoff_ms = int(backoff_seconds * 1000)
        self.max_backoff_ms = int(max_backoff_seconds * 1000)
        self._jobs: dict[int, Parsed] = {}  # by job_id, while its updated_ms holds
        # When a schedule's next tick is due, for the state (version) it was computed from;
        # a quiet step reads nothing else for that job.
        self._next_due: dict[int, tuple[int, int | None]] = {}
        self._last_step = 0.0

    def every(self, seconds: float = 1.0) -> Callable[[], None]:
        """A hook for the service loop's turns that steps at most every `seconds`."""
        def hook() -> None:
            if time.monotonic() - self._last_step >= seconds:
                self._last_step = time.monotonic()
                self.step(int(time.time() * 1000))
        return hook

    def step(self, now: int) -> list[Fired]:
        """Decide and start what is due at `now` (epoch ms); the runs started."""
        fired: list[Fired] = []
        states = ticks.states(self.store)  # one read for every job
        for row in registry.started_by_triggers(self.store):
            parsed = self._parsed(row)
            if parsed.job is None:
                continue
            try:
                state = states.get(row.job_id)
                if state is None or state.spec_hash != parsed.spec_hash:
                    state = ticks.state_for(self.store, row.job_id, parsed.spec_hash, now)
                fired += self._step_job(row, parsed, state, now)
            except Exception:  # one job's trouble must not stop every other trigger
                log.exception("trigger of job %s failed", row.job_id)
        return fired

    def _parsed(self, row: WorkspaceJobRow) -> Parsed:
        """The job's settings parsed once per change (job, settings hash, schedule)."""
        cached = self._jobs.get(row.job_id)
        if cached is None or cached.updated_ms != row.updated_ms:
            settings = registry.settings_of(row)
            try:
                job: Job | None = Job.model_validate(settings)
                expression = zone = None
                if job is not None and job.schedule is not None:
                    expression = quartz.parse(job.schedule.quartz_cron_expression)
                    zone = quartz.zone_of(job.schedule.timezone_id)
            except ValueError as exc:
                log.warning("job %s: its settings do not load (%s)", row.job_id, exc)
                job = expression = zone = None
            cached = Parsed(row.updated_ms, job, spec_hash(settings), expression, zone)
            self._jobs[row.job_id] = cached
        return cached

    def _step_job(self, row: WorkspaceJobRow, parsed: Parsed, state: TriggerStateRow,
                  now: int) -> list[Fired]:
        job = parsed.job
        assert job is not None
        if job.schedule is not None:
            if job.schedule.pause_status == "PAUSED" or parsed.expression is None:
                return []
            known = self._next_due.get(row.job_id)
            if known is None or known[0] != state.version:
                upcoming = parsed.expression.next_after(to_dt(state.considered_ms),
                                                        parsed.zone)
                known = (state.version, None if upcoming is None else to_ms(upcoming))
                self._next_due[row.job_id] = known
            if known[1] is None or now < known[1]:
                return []  # the quiet step: nothing read, nothing written
            times, count = parsed.expression.fire_times(to_dt(state.considered_ms),
                                                        to_dt(now), parsed.zone, keep=KEEP)
            return self._due(row, state, "SCHEDULE", [to_ms(t) for t in times], count,
                             now, MIN_SCHEDULE_GAP_MS)
        trigger = job.trigger
        if trigger is not None and trigger.pause_status != "PAUSED":
            if trigger.periodic is not None:
                every = trigger.periodic.interval * UNIT_MS[trigger.periodic.unit]
                due, count = _periodic(state.since_ms, every, state.considered_ms, now)
                return self._due(row, state, "PERIODIC", due, count, now, 0)
            if trigger.file_arrival is not None:
                arrival = trigger.file_arrival
                return self._watch(row, state, now, "FILE_ARRIVAL", watch_files(arrival.url),
                                   arrival.min_time_between_triggers_seconds,
                                   arrival.wait_after_last_change_seconds)
            table = trigger.table_update or trigger.table
            if table is not None:
                return self._watch(row, state, now, "TABLE", watch_tables(table),
                                   table.min_time_between_triggers_seconds,
                                   table.wait_after_last_change_seconds)
        if job.continuous is not None and job.continuous.pause_status != "PAUSED":
            return self._continuous(row, state, now)
        return []

    # ---- schedules and periodic triggers: due times --------------------------------

    def _due(self, row: WorkspaceJobRow, state: TriggerStateRow, kind: str, due: list[int],
             count: int, now: int, min_gap: int) -> list[Fired]:
        """Run the newest due tick; record the older ones as skipped."""
        if not due:  # nothing to record: `considered_ms` may lag, the next tick is the same
            return []
        newest, older = due[-1], due[:-1]
        if older:
            ticks.skip_ticks(self.store, row.job_id, kind, older,
                             f"not run: a later tick was due when the trigger loop looked "
                             f"({count - 1} such); after downtime only the latest missed "
                             "tick runs")
        if min_gap and state.last_fire_ms is not None and newest - state.last_fire_ms < min_gap:
            ticks.skip_ticks(self.store, row.job_id, kind, [newest],
                             "not run: less than 10 s after the schedule's previous run "
                             "(Databricks' minimum)")
            ticks.write_state(self.store, state, considered_ms=now)
            return []
        fired = self._fire(row, state, kind, newest, considered_ms=now, last_fire_ms=newest)
        ticks.prune_ticks(self.store, row.job_id)
        return fired

    # ---- file arrival and table update: watched things ----------------------------

    def _watch(self, row: WorkspaceJobRow, state: TriggerStateRow, now: int, kind: str,
               look: Callable[[dict[str, Any]], tuple[dict[str, Any], bool]],
               min_between_s: int, wait_after_s: int) -> list[Fired]:
        """Fire when what is watched changed since the last run, nothing changed for
        `wait_after_s`, and `min_between_s` passed since the last run."""
        if now - state.checked_ms < self.file_check_ms:
            return []
        mark = json.loads(state.watermark_json)
        current, pending = look(mark)
        if "at_fire" not in mark:  # the first look: what is there already does not fire
            ticks.write_state(self.store, state, checked_ms=now, watermark_json=json.dumps(
                {"at_fire": current, "looked": current}))
            return []
        changed = current != mark.get("looked")
        last_change = now if changed else mark.get("last_change_ms", now)
        ready = pending and now - last_change >= wait_after_s * 1000 and (
            state.last_fire_ms is None or now - state.last_fire_ms >= min_between_s * 1000)
        if ready:
            return self._fire(row, state, kind, now, checked_ms=now, last_fire_ms=now,
                              watermark_json=json.dumps({"at_fire": current,
                                                         "looked": current}))
        ticks.write_state(self.store, state, checked_ms=now, watermark_json=json.dumps(
            {"at_fire": mark["at_fire"], "looked": current, "last_change_ms": last_change}))
        return []

    # ---- continuous jobs ------------------------------------------------------------

    def _continuous(self, row: WorkspaceJobRow, state: TriggerStateRow, now: int
                    ) -> list[Fired]:
        """Keep one run active: start the next when the last ended, after a back-off that
        doubles with each failed run in a row."""
        recent = ticks.recent_runs(self.store, row.job_id)
        if any(r.life in ACTIVE for r in recent):
            return []
        ended = [r.end_ms for r in recent if r.end_ms is not None]
        due = max([state.since_ms, *ended[:1]])
        failures = 0
        for r in recent:
            if r.trigger != "CONTINUOUS" or r.result == "SUCCESS":
                break
            failures += 1
        delay = 0 if failures == 0 else min(self.backoff_ms * 2 ** (failures - 1),
                                            self.max_backoff_ms)
        if now < due + delay:
            return []
        return self._fire(row, state, "CONTINUOUS", due, last_fire_ms=now,
                          considered_ms=now)

    # ---- firing ---------------------------------------------------------------------

    def _fire(self, row: WorkspaceJobRow, state: TriggerStateRow, kind: str, due: int,
              **state_values: Any) -> list[Fired]:
        """Start the run of tick `due`, claimed with the tick's row and the state write
        in the run's transaction; nothing if another server claimed it."""
        def claim(db: Any, run: Run) -> None:
            ticks.claim(db, state, **state_values)
            ticks.fire_tick(db, row.job_id, due, kind, run.run_id)

        trigger = "TABLE" if kind == "TABLE" else \
            "PERIODIC" if kind in ("SCHEDULE", "PERIODIC") else kind
        try:
            run, run_id = launch.new_run(self.store, row, trigger=trigger, claim=claim)
        except (TickTaken, IntegrityError):
            return []
        if run is not None:
            if kind in WATCHED:  # it started when the trigger fired: runs are spaced as
                run.start_ms = due  # their triggers were, however long admission took
            self.accept(run)
        return [Fired(row.job_id, kind, due, run_id)]


def _periodic(since: int, every: int, after: int, until: int) -> tuple[list[int], int]:
    """Due times since + k * every (k >= 1) in (after, until]: the newest KEEP, and how
    many."""
    first = (after - since) // every + 1
    last = (until - since) // every
    if last < first:
        return [], 0
    return [since + k * every for k in range(max(first, last - KEEP + 1), last + 1)], \
        last - first + 1


def watch_files(url: str) -> Callable[[dict[str, Any]], tuple[dict[str, Any], bool]]:
    """A look at a folder: its file names, and whether names are new since the run."""
    def look(mark: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        names = sorted(watch.file_names(url))
        seen = set(mark.get("at_fire", {}).get("files", []))
        return {"files": names}, any(n not in seen for n in names)
    return look


def watch_tables(spec: TableUpdate) -> Callable[[dict[str, Any]], tuple[dict[str, Any], bool]]:
    """A look at tables: their stamps, and whether any (or all) changed since the run."""
    def look(mark: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        stamps = {name: watch.table_stamp(name) for name in spec.table_names}
        before = mark.get("at_fire", {})
        changed = [stamps[n] is not None and stamps[n] != before.get(n) for n in stamps]
        return stamps, (any(changed) if spec.condition == "ANY_UPDATED" else all(changed))
    return look


def next_times(job: Job, count: int, after: datetime) -> Iterator[datetime]:
    """The next fire times of a job's schedule after `after`, in the schedule's time zone
    (`podium jobs next` and the job's page); none for a job without one."""
    if job.schedule is None:
        return iter(())
    expression = quartz.parse(job.schedule.quartz_cron_expression)
    zone = quartz.zone_of(job.schedule.timezone_id)
    times = expression.times_after(after, zone)
    return (t.astimezone(zone) for _, t in zip(range(count), times, strict=False))
