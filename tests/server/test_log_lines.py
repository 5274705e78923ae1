"""What the log viewer and the pages show: Spark's JSON log lines made readable, levels to
filter on, and times, durations and triggers in words."""

from __future__ import annotations

import json

from podium.server.ui import display, log_lines

RECORD = {"ts": "2026-12-03T10:00:01.000Z", "level": "ERROR", "logger": "DAGScheduler",
          "msg": "Job 3 failed", "exception": {"class": "java.lang.IllegalStateException",
                                                "msg": "boom", "stacktrace": [
                                                    {"class": "a.B", "method": "run",
                                                     "file": "B.scala", "line": 7}]}}


def test_a_json_record_becomes_a_readable_line_with_its_exception_apart() -> None:
    line = log_lines.parse(json.dumps(RECORD))
    assert (line.time, line.level, line.logger, line.text) == (
        "2026-12-03T10:00:01.000Z", "ERROR", "DAGScheduler", "Job 3 failed")
    assert line.exception == "java.lang.IllegalStateException: boom\n  at a.B.run(B.scala:7)"


def test_plain_output_stays_as_it_is_with_a_guessed_level() -> None:
    assert log_lines.parse("hello {not json}") == log_lines.LogLine("hello {not json}")
    assert log_lines.parse("Traceback (most recent call last):").level == "ERROR"
    assert log_lines.parse("26/12/03 10:00:00 WARN Utils: slow").level == "WARN"
    assert not log_lines.parse('{"a": 1}').structured  # JSON, but not a log record


def test_filtering_keeps_lines_at_or_above_the_level_that_contain_the_text() -> None:
    warning = {k: v for k, v in RECORD.items() if k != "exception"}
    lines = ["starting", json.dumps({**warning, "level": "WARN", "msg": "careful"}),
             json.dumps(RECORD), "done"]
    assert [x.text for x in log_lines.shown(lines)] == ["starting", "careful", "Job 3 failed",
                                                        "done"]
    assert [x.level for x in log_lines.shown(lines, "warn")] == ["WARN", "ERROR"]
    assert [x.text for x in log_lines.shown(lines, "ALL", "BOOM")] == ["Job 3 failed"]
    assert log_lines.shown(lines, "ERROR", "careful") == []


def test_durations_times_and_triggers_in_words() -> None:
    assert [display.duration(ms) for ms in (None, 0, 850, 4200, 185_000, 7_260_000)] == \
        ["—", "—", "850 ms", "4.2 s", "3 min 05 s", "2 h 01 min"]
    assert display.when(None) == "—"
    assert display.when(1_796_000_000_000)[:4] in ("2026", "2027")
    assert display.trigger({"trigger": "PERIODIC"}) == "Schedule"
    assert display.trigger({"trigger": "ONE_TIME", "repair_history": [
        {"type": "ORIGINAL"}, {"type": "REPAIR"}]}) == "Manual, repaired 1×"
    assert display.symbol("SUCCESS") == "✓" and display.symbol("WHATEVER") == "•"
