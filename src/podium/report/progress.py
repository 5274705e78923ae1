"""What people see while a run goes: a live table on a terminal, plain lines otherwise,
and a summary at the end with durations, cluster start-up and failed tasks' last lines."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from podium import defaults
from podium.engine.executor import Executor
from podium.engine.model import Run, TaskRun
from podium.engine.states import Result

COLORS = {Result.SUCCESS: "green", Result.FAILED: "red", Result.TIMEDOUT: "red",
          Result.CANCELED: "yellow", Result.UPSTREAM_FAILED: "red",
          Result.UPSTREAM_CANCELED: "yellow", Result.EXCLUDED: "dim"}


def _duration(tr: TaskRun) -> str:
    if not tr.attempts:
        return ""
    last = tr.attempts[-1]
    end = last.end_ms or int(time.time() * 1000)
    return f"{(end - tr.attempts[0].start_ms) / 1000:.1f}s"


def _state_text(tr: TaskRun) -> str:
    if tr.result is not None and tr.final:
        return f"[{COLORS.get(tr.result, 'white')}]{tr.result.value}[/]"
    return tr.life.value


class Progress:
    """Shows a run's progress: call `update()` from the loop, `close()` at the end."""

    def __init__(self, executor: Executor, runs: list[Run], console: Console):
        self.executor, self.runs, self.console = executor, runs, console
        self.limits: dict[str, str] = {}  # each cluster's latest change of its task limit
        # podium routes task output itself; Live must not redirect stdout as well.
        self.live = Live(self._table(), console=console, auto_refresh=False, transient=False,
                         redirect_stdout=False, redirect_stderr=False) \
            if console.is_terminal else None
        self.seen: dict[tuple[int, str], str] = {}
        executor.clusters.on_decision.append(self.decision)
        if self.live:
            self.live.start()
        self._last = 0.0

    def listener(self, run: Run, tr: TaskRun | None) -> None:
        """Executor listener: a plain line per state change when not on a terminal
        (for_each iterations only when they fail)."""
        if self.live is not None or tr is None:
            return
        if tr.parent is not None and (not tr.final or tr.result is Result.SUCCESS):
            return
        state = tr.result.value if tr.final and tr.result else tr.life.value
        key = (run.run_id, tr.key)
        if self.seen.get(key) != state:
            self.seen[key] = state
            attempt = f" attempt {tr.attempt_number}" if tr.attempts else ""
            self.console.print(f"{run.run_id} {tr.key}{attempt}: {state}"
                               + (f" ({tr.message})" if tr.message and
                                  (tr.final or tr.life.value == "BLOCKED") else ""),
                               markup=False, highlight=False, soft_wrap=True)

    def decision(self, key: str, decision: Any) -> None:
        """A cluster's task limit changed: a line when not on a terminal, else the
        table's caption."""
        self.limits[key] = decision.text()
        if self.live is None:
            self.console.print(f"cluster {key.split(':')[-1]}: {decision.text()}",
                               markup=False, highlight=False, soft_wrap=True)

    def _spark(self, tr: TaskRun) -> str:
        if tr.iterations:
            return bar(tr.done, len(tr.iterations), tr.failed)
        if tr.ctx is None or tr.cluster_key is None or not tr.spark_context_id:
            return ""
        slot = self.executor.clusters.slots.get(tr.cluster_key)
        if slot is None or not hasattr(slot.cluster, "progress") or slot.state != "READY":
            return ""
        jobs, active, done, total = slot.cluster.progress(tr.ctx.tag)
        return f"{jobs} jobs ({active} active), {done}/{total} tasks" if jobs else ""

    def _table(self) -> Table:
        table = Table("run", "task", "state", "attempt", "duration", "cluster", "spark",
                      caption="\n".join(f"cluster {key.split(':')[-1]}: {text}"
                                        for key, text in self.limits.items()) or None)
        for run in self.runs:
            for tr in run.task_runs.values():
                table.add_row(str(run.run_id), escape(tr.key), _state_text(tr),
                              str(tr.attempt_number) if tr.attempts else "",
                              _duration(tr), escape((tr.cluster_key or "-").split(":")[-1]),
                              self._spark(tr) if not tr.final or tr.iterations else "")
        return table

    def update(self) -> None:
        """Redraw the live table (at most a few times a second)."""
        if self.live is None or time.monotonic() - self._last < 0.25:
            return
        self._last = time.monotonic()
        self.live.update(self._table(), refresh=True)

    def close(self) -> None:
        """Stop the live view and print the summary of every run."""
        if self.live is not None:
            self.live.update(self._table(), refresh=True)
            self.live.stop()
        for run in self.runs:
            summarize(run, self.executor, self.console)


def bar(done: int, total: int, failed: int = 0, width: int = 20) -> str:
    """`█████░░░░░ 12/50` (with the failures counted)."""
    filled = int(width * done / total) if total else width
    return "█" * filled + "░" * (width - filled) + f" {done}/{total}" + (
        f" ({failed} failed)" if failed else "")


def summarize(run: Run, executor: Executor, console: Console) -> None:
    """The end-of-run summary: result, each task's duration, start-up, failures' logs."""
    result = run.result.value if run.result else run.life.value
    seconds = ((run.end_ms or 0) - (run.start_ms or 0)) / 1000
    color = "green" if run.result is Result.SUCCESS else "red"
    console.print(f"Run {run.run_id} of [bold]{escape(run.job_key)}[/]: [{color}]{result}[/] "
                  f"in {seconds:.1f}s" + (f" — {escape(run.message)}" if run.message else ""))
    for tr in run.task_runs.values():
        state = tr.result.value if tr.result else tr.life.value
        extra = f" {tr.done}/{len(tr.iterations)} iterations" if tr.iterations else ""
        extra += f" (child run {tr.child_run.run_id})" if tr.child_run is not None else ""
        extra += f" · {usage_text(tr.usage)}" if tr.usage and tr.usage.get("jobs") else ""
        console.print(f"  {escape(tr.key)}: {state} {_duration(tr)}{extra}", highlight=False)
    for key in sorted({tr.cluster_key for tr in run.task_runs.values() if tr.cluster_key}):
        slot = executor.clusters.slots.get(key)
        startup = getattr(slot.cluster, "startup_seconds", None) if slot else None
        if startup is not None:
            console.print(f"  cluster {escape(key.split(':')[-1])}: started in {startup:.1f}s "
                          f"({slot.cluster.application_id})", highlight=False)
    for tr in run.task_runs.values():
        if tr.result in (Result.FAILED, Result.TIMEDOUT) and tr.attempts:
            console.print(f"[red]{escape(tr.key)} failed:[/] {escape(tr.error or '')}")
            console.print(tail(tr.attempts[-1].log_path), markup=False, highlight=False,
                          soft_wrap=True)


def usage_text(usage: dict[str, int]) -> str:
    """A task's Spark work in a few words: executor time, rows in and out."""
    return (f"spark {usage.get('executor_run_time_ms', 0) / 1000:.1f} executor-s, "
            f"{usage.get('input_rows', 0):,} rows in, {usage.get('output_rows', 0):,} out")


def tail(path: Any, lines: int = defaults.LOG_TAIL_LINES) -> str:
    """The last lines of a log file, indented, for the summary."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text)
