"""Quartz cron expressions as Databricks reads them, and their fire times in a time zone.

`sec min hour day-of-month month day-of-week [year]`, with Quartz's day fields: `?`,
`L`, `L-n`, `nW`, `LW` in day-of-month; `1`-`7` meaning SUN-SAT, names, `nL` and `n#k` in
day-of-week; exactly one of the two is `?`. Plain lists, ranges, steps and names are
expanded by croniter; the day rules and the Quartz day-of-week numbering (croniter's
differ) are done here. Wall-clock times are turned into instants in the schedule's zone:
a time that does not exist that day (a DST gap) fires once at the first instant after the
gap, a time that happens twice fires once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

SEARCH_DAYS = 366 * 8  # an expression with no fire time in this many days never fires


class QuartzError(ValueError):
    """An expression podium cannot honour, said in one line."""


@dataclass(frozen=True)
class DayOfMonth:
    """The day-of-month rule: a set of days, or Quartz's L, L-n, nW, LW."""

    days: frozenset[int] | None = None  # None: any day (`*` or `?`)
    last_offset: int | None = None  # L (0) or L-n (n)
    nearest_weekday: int | None = None  # nW
    last_weekday: bool = False  # LW

    def matches(self, day: date) -> bool:
        """Whether `day` is one of the rule's days."""
        length = calendar.monthrange(day.year, day.month)[1]
        if self.last_offset is not None:
            return day.day == length - self.last_offset
        if self.last_weekday:
            return day.day == _weekday_near(day.year, day.month, length, length)
        if self.nearest_weekday is not None:
            return self.nearest_weekday <= length and day.day == _weekday_near(
                day.year, day.month, self.nearest_weekday, length)
        return self.days is None or day.day in self.days


@dataclass(frozen=True)
class DayOfWeek:
    """The day-of-week rule: Python weekdays (Monday 0), or Quartz's nL and n#k."""

    weekdays: frozenset[int] | None = None  # None: any weekday (`*` or `?`)
    last: bool = False  # nL: the last such weekday of the month
    nth: int | None = None  # n#k: the k-th such weekday of the month

    def matches(self, day: date) -> bool:
        """Whether `day` is one of the rule's days."""
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        if self.last:
            return day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        if self.nth is not None:
            return (day.day - 1) // 7 + 1 == self.nth
        return True


@dataclass(frozen=True)
class Quartz:
    """A parsed Quartz cron expression."""

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int] | None
    day_of_month: DayOfMonth
    day_of_week: DayOfWeek

    def day_matches(self, day: date) -> bool:
        """Whether the expression fires on `day` (at its times)."""
        return (day.month in self.months
                and (self.years is None or day.year in self.years)
                and self.day_of_month.matches(day) and self.day_of_week.matches(day))

    def times_after(self, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
        """Fire times strictly after `after` (aware), oldest first, as aware UTC
        datetimes; ends when the expression fires no more (no fire in SEARCH_DAYS)."""
        after = after.astimezone(UTC)
        # Wall times more than 3 h before `after` cannot map past it, DST or not.
        floor = after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
        day, quiet, last = floor.date(), 0, after
        while quiet < SEARCH_DAYS:
            if self.years is not None and day.year > max(self.years):
                return
            quiet += 1
            if self.day_matches(day):
                for wall in self._walls(day, floor):
                    instant = _instant(wall, zone)
                    if instant > last:  # times in one DST gap all fire once
                        last, quiet = instant, 0
                        yield instant
            day += timedelta(days=1)

    def _walls(self, day: date, floor: datetime) -> Iterator[datetime]:
        """The day's wall-clock fire times at or after `floor`, in order."""
        y, m, d = day.year, day.month, day.day
        for hour in self.hours:
            if datetime(y, m, d, hour, 59, 59) < floor:
                continue
            for minute in self.minutes:
                if datetime(y, m, d, hour, minute, 59) < floor:
                    continue
                for second in self.seconds:
                    wall = datetime(y, m, d, hour, minute, second)
                    if wall >= floor:
                        yield wall

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time strictly after `after`, or None if it never fires again."""
        return next(self.times_after(after, zone), None)

    def fire_times(self, after: datetime, until: datetime, zone: ZoneInfo,
                   keep: int = 1000) -> tuple[list[datetime], int]:
        """The fire times in (after, until]: the newest `keep` of them, oldest first, and
        how many there were."""
        newest: deque[datetime] = deque(maxlen=keep)
        count = 0
        for instant in self.times_after(after, zone):
            if instant > until:
                break
            newest.append(instant)
            count += 1
        return list(newest), count


def parse(text: str) -> Quartz:
    """Parse a Quartz cron expression; QuartzError says what is wrong and where."""
    fields = text.split()
    if len(fields) not in (6, 7):
        raise QuartzError(f"'{text}' has {len(fields)} fields; a Quartz expression has 6 or 7:"
                          " seconds minutes hours day-of-month month day-of-week [year]")
    sec, minute, hour, dom, month, dow = fields[:6]
    year = fields[6] if len(fields) == 7 else None
    if (dom == "?") == (dow == "?"):
        raise QuartzError(f"'{text}': exactly one of day-of-month ('{dom}') and day-of-week "
                          f"('{dow}') must be '?', as Quartz requires (e.g. '0 0 12 * * ?' or "
                          "'0 30 2 ? * MON-FRI')")
    return Quartz(
        text=text,
        seconds=tuple(sorted(_expand(sec, 0, "seconds", text))),
        minutes=tuple(sorted(_expand(minute, 0, "minutes", text))),
        hours=tuple(sorted(_expand(hour, 1, "hours", text))),
        months=frozenset(_expand(month, 3, "month", text)),
        years=None if year in (None, "*", "?") else frozenset(_expand(year, 6, "year", text)),
        day_of_month=_day_of_month(dom, text),
        day_of_week=_day_of_week(dow, text),
    )


def zone_of(timezone_id: str) -> ZoneInfo:
    """The IANA zone `timezone_id`; QuartzError if there is none of that name."""
    try:
        return ZoneInfo(timezone_id)
    except (ZoneInfoNotFoundError, ValueError):
        raise QuartzError(f"unknown timezone_id '{timezone_id}'; use an IANA name such as "
                          "'UTC' or 'Europe/Berlin'") from None


# croniter's standard 7-field layout: minute hour day month weekday second year.
_FULL = {0: range(60), 1: range(24), 2: range(1, 32), 3: range(1, 13), 4: range(7),
         6: range(1970, 2100)}


def _expand(field: str, position: int, name: str, text: str, shown: str | None = None
            ) -> set[int]:
    """Expand a plain field (lists, ranges, steps, names) with croniter; errors quote
    `shown` (the field as written) when the field was translated."""
    if field in ("*", "?"):
        return set(_FULL[position])
    parts = ["*"] * 7
    parts[position] = field
    try:
        expanded = croniter.expand(" ".join(parts))[0][position]
    except (CroniterError, ValueError, IndexError):
        raise QuartzError(f"'{text}': the {name} field '{shown or field}' is not valid"
                          ) from None
    return set(_FULL[position]) if expanded == ["*"] else {int(v) for v in expanded}


def _day_of_month(field: str, text: str) -> DayOfMonth:
    if field in ("?", "*"):
        return DayOfMonth()
    if field == "L":
        return DayOfMonth(last_offset=0)
    if field == "LW":
        return DayOfMonth(last_weekday=True)
    if m := re.fullmatch(r"L-(\d{1,2})", field):
        if int(m[1]) > 30:
            raise QuartzError(f"'{text}': 'L-{m[1]}' is more days before the month's end "
                              "than a month has")
        return DayOfMonth(last_offset=int(m[1]))
    if m := re.fullmatch(r"(\d{1,2})W", field):
        if not 1 <= int(m[1]) <= 31:
            raise QuartzError(f"'{text}': '{field}' needs a day of the month from 1 to 31")
        return DayOfMonth(nearest_weekday=int(m[1]))
    if any(c in field for c in "LW#"):
        raise QuartzError(f"'{text}': the day-of-month field '{field}' is not valid; L, L-n, "
                          "nW and LW stand alone")
    return DayOfMonth(days=frozenset(_expand(field, 2, "day-of-month", text)))


_QUARTZ_DAY = {str(n): str(n - 1) for n in range(1, 8)}  # Quartz 1-7 (SUN-SAT) -> cron 0-6


def _cron_weekdays(field: str, text: str) -> frozenset[int]:
    """Python weekdays (Monday 0) of a plain Quartz day-of-week field."""
    translated = re.sub(r"\d+", lambda m: _QUARTZ_DAY.get(m[0], "99"),
                        field.split("/")[0])
    if "/" in field:
        step = field.split("/", 1)[1]
        if not step.isdigit():
            raise QuartzError(f"'{text}': the day-of-week field '{field}' is not valid")
        translated += "/" + step
    cron = _expand(translated, 4, "day-of-week", text, field)  # croniter: Sunday 0
    return frozenset((d - 1) % 7 for d in cron)


def _day_of_week(field: str, text: str) -> DayOfWeek:
    if field in ("?", "*"):
        return DayOfWeek()
    if field == "L":  # alone, L means the last day of the week: Saturday
        return DayOfWeek(weekdays=frozenset({5}))
    if m := re.fullmatch(r"([1-7A-Za-z]+)L", field):
        return DayOfWeek(weekdays=_cron_weekdays(m[1], text), last=True)
    if m := re.fullmatch(r"([1-7A-Za-z]+)#(\d)", field):
        if not 1 <= int(m[2]) <= 5:
            raise QuartzError(f"'{text}': in '{field}', the week of the month after '#' "
                              "must be 1 to 5")
        return DayOfWeek(weekdays=_cron_weekdays(m[1], text), nth=int(m[2]))
    if any(c in field for c in "L#W"):
        raise QuartzError(f"'{text}': the day-of-week field '{field}' is not valid; nL and "
                          "n#k stand alone")
    return DayOfWeek(weekdays=_cron_weekdays(field, text))


def _weekday_near(year: int, month: int, day: int, length: int) -> int:
    """Quartz's `nW`: the weekday nearest to `day`, not leaving the month."""
    weekday = date(year, month, day).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before at the month's end
        return day + 1 if day < length else day - 2
    return day


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time names in `zone`: its first occurrence, or, inside a
    DST gap, the first instant after the gap."""
    first = wall.replace(tzinfo=zone, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == wall:
        return utc
    # In a gap: the zone's offset changes between these two readings of the wall time;
    # find the first whole second whose wall time is at or after it.
    ends = sorted([int(utc.timestamp()),
                   int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())])
    low, high = ends[0], ends[1]
    while low < high:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid + 1
    return datetime.fromtimestamp(high, UTC)
