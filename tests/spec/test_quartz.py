"""Quartz cron expressions against dates computed by hand from the calendar, DST days in
Europe/Berlin, and croniter as an oracle for the plain fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from croniter.croniter import CroniterBadDateError
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.spec.quartz import QuartzError, parse, zone_of

BERLIN = zone_of("Europe/Berlin")


def fires(expression: str, after: datetime, n: int, zone: str = "UTC") -> list[str]:
    """The next `n` fire times, as local ISO strings in `zone`."""
    tz = zone_of(zone)
    times = parse(expression).times_after(after.replace(tzinfo=tz), tz)
    return [next(times).astimezone(tz).isoformat() for _ in range(n)]


def test_weekday_mornings_in_berlin_keep_their_wall_time_across_both_dst_changes() -> None:
    spring = fires("0 30 2 ? * MON-FRI", datetime(2026, 3, 26), 4, "Europe/Berlin")
    assert spring == ["2026-03-26T02:30:00+01:00", "2026-03-27T02:30:00+01:00",
                      "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]
    autumn = fires("0 30 2 ? * MON-FRI", datetime(2026, 10, 22), 4, "Europe/Berlin")
    assert autumn == ["2026-10-22T02:30:00+02:00", "2026-10-23T02:30:00+02:00",
                      "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]


def test_a_time_in_the_spring_gap_fires_once_when_the_gap_ends() -> None:
    daily = fires("0 30 2 * * ?", datetime(2026, 3, 28, 12), 3, "Europe/Berlin")
    assert daily == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00",
                     "2026-03-31T02:30:00+02:00"]
    every_10_min = fires("0 0/10 * * * ?", datetime(2026, 3, 29, 1, 45), 4, "Europe/Berlin")
    assert every_10_min == ["2026-03-29T01:50:00+01:00", "2026-03-29T03:00:00+02:00",
                            "2026-03-29T03:10:00+02:00", "2026-03-29T03:20:00+02:00"]


def test_a_time_that_happens_twice_in_autumn_fires_once() -> None:
    daily = fires("0 30 2 * * ?", datetime(2026, 10, 24, 12), 2, "Europe/Berlin")
    assert daily == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
    hourly = fires("0 0 * * * ?", datetime(2026, 10, 25, 0, 30), 4, "Europe/Berlin")
    assert hourly == ["2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
                      "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"]


@pytest.mark.parametrize(("expression", "after", "expected"), [
    # November 2026 starts on a Sunday; its Fridays are 6, 13, 20, 27; it has 30 days.
    ("0 0 12 ? * 6#3", datetime(2026, 11, 1), ["2026-11-20", "2026-12-18"]),
    ("0 0 12 ? * FRI#3", datetime(2026, 11, 1), ["2026-11-20", "2026-12-18"]),
    ("0 0 12 ? * 6L", datetime(2026, 11, 1), ["2026-11-27", "2026-12-25"]),
    ("0 0 12 L * ?", datetime(2026, 11, 1), ["2026-11-30", "2026-12-31"]),
    ("0 0 12 L-2 * ?", datetime(2026, 11, 1), ["2026-11-28", "2026-12-29"]),
    ("0 0 12 LW * ?", datetime(2026, 11, 1), ["2026-11-30", "2026-12-31"]),
    # February 2026 ends on Saturday the 28th; May 2026 on Sunday the 31st.
    ("0 0 12 L * ?", datetime(2026, 2, 1), ["2026-02-28", "2026-03-31"]),
    ("0 0 12 LW * ?", datetime(2026, 2, 1), ["2026-02-27", "2026-03-31"]),
    ("0 0 12 L-2 * ?", datetime(2026, 2, 1), ["2026-02-26", "2026-03-29"]),
    ("0 0 12 LW * ?", datetime(2026, 5, 1), ["2026-05-29", "2026-06-30"]),
    ("0 0 12 L * ?", datetime(2028, 2, 1), ["2028-02-29", "2028-03-31"]),
    # August 2026: the 1st and 15th are Saturdays, the 30th a Sunday.
    ("0 0 12 15W * ?", datetime(2026, 8, 1), ["2026-08-14", "2026-09-15"]),
    ("0 0 12 1W * ?", datetime(2026, 8, 1), ["2026-08-03", "2026-09-01"]),
    ("0 0 12 30W * ?", datetime(2026, 8, 1), ["2026-08-31", "2026-09-30"]),
    # Quartz numbers days 1-7 from Sunday: 2-6 is Monday to Friday, 1 and 7 the weekend.
    ("0 0 12 ? * 2-6", datetime(2026, 11, 6), ["2026-11-06", "2026-11-09"]),
    ("0 0 12 ? * 1,7", datetime(2026, 11, 2), ["2026-11-07", "2026-11-08"]),
    ("0 0 12 ? * L", datetime(2026, 11, 2), ["2026-11-07", "2026-11-14"]),
    ("0 0 12 ? * SUN", datetime(2026, 11, 2), ["2026-11-08", "2026-11-15"]),
    ("0 0 12 1 JAN ? 2027-2028", datetime(2026, 11, 2), ["2027-01-01", "2028-01-01"]),
])
def test_quartz_day_rules(expression: str, after: datetime, expected: list[str]) -> None:
    assert [t[:10] for t in fires(expression, after, 2)] == expected


def test_an_expression_that_never_fires_again_gives_none() -> None:
    assert parse("0 0 12 1 JAN ? 2027").next_after(datetime(2027, 2, 1, tzinfo=UTC),
                                                   BERLIN) is None
    assert parse("0 0 0 30 FEB ?").next_after(datetime(2026, 1, 1, tzinfo=UTC), BERLIN) is None


def test_fire_times_of_a_downtime_keep_the_newest_and_count_all() -> None:
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    times, count = parse("0 * * * * ?").fire_times(start, start + timedelta(hours=3),
                                                   zone_of("UTC"), keep=5)
    assert count == 180 and times[-1] == start + timedelta(hours=3)
    assert times == [start + timedelta(minutes=m) for m in range(176, 181)]


@pytest.mark.parametrize(("expression", "says"), [
    ("0 0 12 * *", "has 5 fields"),
    ("0 0 12 * * *", "exactly one of day-of-month"),
    ("0 0 12 ? * ?", "exactly one of day-of-month"),
    ("60 0 12 * * ?", "seconds field '60'"),
    ("0 0 25 * * ?", "hours field '25'"),
    ("0 0 12 ? * 8", "day-of-week field '8'"),
    ("0 0 12 ? * 6#6", "must be 1 to 5"),
    ("0 0 12 L-40 * ?", "more days before the month's end"),
    ("0 0 12 5L * ?", "day-of-month field '5L'"),
    ("0 0 12 ? * MON#2,FRI", "day-of-week field"),
    ("0 0 12 * JANUARY ?", "month field 'JANUARY'"),
    ("0 0 12 * * ? 1900", "year field '1900'"),
])
def test_expressions_podium_cannot_honour_say_why(expression: str, says: str) -> None:
    with pytest.raises(QuartzError, match=says.replace("(", r"\(")):
        parse(expression)


def test_an_unknown_time_zone_is_an_error() -> None:
    with pytest.raises(QuartzError, match="unknown timezone_id 'Mars/Olympus'"):
        zone_of("Mars/Olympus")


def _cron_list(draw: st.DrawFn, low: int, high: int) -> str:
    values = draw(st.lists(st.integers(low, high), min_size=1, max_size=3, unique=True))
    return ",".join(map(str, sorted(values)))


@st.composite
def plain_expressions(draw: st.DrawFn) -> tuple[str, str]:
    sec, minute, hour = (_cron_list(draw, 0, 59), _cron_list(draw, 0, 59),
                         _cron_list(draw, 0, 23))
    dom = draw(st.sampled_from(["*", "1", "1,15", "28", "31", "*/7"]))
    month = draw(st.sampled_from(["*", "2", "1-6", "*/3"]))
    return (f"{sec} {minute} {hour} {dom} {month} ?",  # Quartz
            f"{minute} {hour} {dom} {month} * {sec}")  # croniter, seconds last


@settings(max_examples=60, deadline=None)
@given(plain_expressions(), st.datetimes(min_value=datetime(2000, 1, 1),
                                         max_value=datetime(2090, 1, 1)))
def test_plain_fields_fire_when_croniter_says(pair: tuple[str, str], start: datetime) -> None:
    quartz, cron = pair
    start = start.replace(microsecond=0, tzinfo=UTC)
    oracle = croniter(cron, start)
    try:
        expected = [oracle.get_next(datetime) for _ in range(4)]
    except CroniterBadDateError:  # never fires (the 31st of February)
        assert parse(quartz).next_after(start, zone_of("UTC")) is None
        return
    times = parse(quartz).times_after(start, zone_of("UTC"))
    assert [next(times) for _ in range(4)] == expected


FIELD_TEXT = st.text(alphabet="0123456789*?/,-LW#JANFEBMONSUTHRDCX ", min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(FIELD_TEXT, min_size=0, max_size=8))
def test_any_text_parses_or_is_one_quartz_error(fields: list[str]) -> None:
    """Broken expressions give QuartzError with one line, never another exception; what
    parses yields fire times in order."""
    text = " ".join(fields)
    try:
        expression = parse(text)
    except QuartzError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    times = expression.times_after(datetime(2026, 1, 1, tzinfo=UTC), BERLIN)
    first = [t for _, t in zip(range(3), times, strict=False)]
    assert first == sorted(first) and len(set(first)) == len(first)
