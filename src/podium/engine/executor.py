"""The control loop: the one place where run and task states change.

Worker threads run task code and report back through `events`; cluster starts report
the same way. `step(now)` handles what arrived, checks deadlines and starts what is
ready; it never blocks on work. Every change goes through `transition`, which checks the
move, tells the listeners (the store first, then the progress view) and only then is
acted on. Two task types are run by the loop itself, without a thread: a
`for_each_task` feeds its iterations (child task runs) up to its concurrency, and a
`run_job_task` starts a child run in this same executor and ends with it; their
bookkeeping is in `for_each.py` and `child_runs.py`, their state changes here.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium import defaults
from podium.compute.manager import DEFAULT_KEY, SHARED_PREFIX, ClusterManager
from podium.engine import child_runs, decide, for_each, isolated
from podium.engine.environments import EnvironmentBuilt, Environments
from podium.engine.model import Attempt, ChildJob, Run, TaskRun, bundle_child_job
from podium.engine.references import UnresolvedReference, renderer
from podium.engine.states import MOVES, LifeCycle, Result
from podium.engine.workers import Workers
from podium.jvm import jars
from podium.python_envs import EnvironmentBuildError
from podium.runtime import context as context_mod
from podium.runtime import databricks_process, output
from podium.runtime.context import TaskContext, now_ms
from podium.runtime.dbutils import forget
from podium.runtime.errors import TaskFailed, TaskInterrupted
from podium.spec.models import shared_spec
from podium.store.errors import StoreUnavailable
from podium.tasks import REGISTRY, requirements

Listener = Callable[[Run, TaskRun | None], None]


class IllegalTransition(RuntimeError):
    """A state change the life-cycle rules forbid: a bug in the executor, never input."""


@dataclass
class Finished:
    """A worker thread's report: its task attempt ended."""

    run_id: int
    task_key: str
    attempt: int
    error: str | None
    exit_value: Any


@dataclass
class ClusterStarted:
    """A cluster start ended (error is None on success)."""

    key: str
    error: str | None


@dataclass
class ClusterLost:
    """A ready cluster's driver or server died (why, in words). `cluster` is the one the
    watcher found dead: by the time the loop reads this, its key may name a new one."""

    key: str
    reason: str
    cluster: Any = None


@dataclass
class UsageRead:
    """What a run's tasks used of a cluster, read off the loop (None: nothing known)."""

    run_id: int
    key: str
    by_tag: dict[str, dict[str, int]] | None


@dataclass
class Cancel:
    """Someone asked to cancel a run (or every run when run_id is None)."""

    run_id: int | None


TAKEN_OVER = ("Stopped here: another podium process took this run over while this one "
              "could not reach the database for longer than the run lease")


class Executor:
    """Runs jobs: one control loop, worker threads, clusters shared by every run."""

    def __init__(self, listener: Listener | None = None, keep_clusters: bool = False,
                 shared_clusters: Callable[[str, Any], str] | None = None,
                 idle_cluster_seconds: float | None = None):
        databricks_process.install()  # what task code expects of its process
        self.events: queue.Queue[Any] = queue.Queue()
        self.runs: dict[int, Run] = {}
        self.listeners: list[Listener] = [listener] if listener else []
        self.clusters = ClusterManager(lambda k, e: self.events.put(ClusterStarted(k, e)),
                                       keep_alive=keep_clusters, shared=shared_clusters,
                                       idle_seconds=idle_cluster_seconds,
                                       on_lost=lambda *lost: self.events.put(ClusterLost(*lost)))
        # Called with a child run (and its parent run and task) before it is submitted,
        # so the history can give it an id; the recorder sets this.
        self.on_child_run: Callable[[Run, Run, TaskRun], None] = lambda child, run, tr: None
        # Whether a sql_task's `warehouse_id` names a SQL warehouse of the workspace (a
        # shared cluster): such tasks run on it, others on their job's cluster.
        self.is_warehouse: Callable[[str], bool] = lambda warehouse_id: False
        # Finds the job a run_job_task names; a server also looks in its job registry.
        self.child_job: Callable[[Run, str], ChildJob | None] = bundle_child_job
        # Takes a declared output for a task: None when taken, else who holds it. The
        # recorder replaces this in-process table with the store, shared by processes.
        self.claim_output: Callable[[str, Run, TaskRun], str | None] = self._claim_locally
        # Writes the changes recorded since the last call and returns the ids of runs
        # another process has taken over; the recorder sets it. Called at the end of each
        # turn, before task code of that turn starts.
        self.on_commit: Callable[[], set[int]] = set
        # The environment variables of a run's tasks (`DATABRICKS_HOST`, a token): set by
        # whoever serves the workspace API (`engine/workspace_access.py`).
        self.task_env: Callable[[Run], Any] = lambda run: None
        self.environments = Environments(self.events.put)  # tasks' own Python packages
        self._launches: list[tuple[Run, TaskRun, Any, int]] = []
        self.workers = Workers()  # threads that run task code
        self._held: dict[str, tuple[int, str]] = {}

    # ---- requests from other threads -------------------------------------------------

    def cancel(self, run_id: int | None = None) -> None:
        """Ask the loop to cancel a run (or all runs); safe from any thread or signal."""
        self.events.put(Cancel(run_id))

    # ---- the loop --------------------------------------------------------------------

    def submit(self, run: Run, now: float | None = None) -> Run:
        """Accept a run: it starts with the next step."""
        now = time.monotonic() if now is None else now
        self.runs[run.run_id] = run
        run.start_ms = run.start_ms or now_ms()
        if run.job.timeout_seconds:
            run.deadline = now + run.job.timeout_seconds
        for tr in run.task_runs.values():
            self._register(run, tr)
            nested = tr.task.for_each_task
            if nested is not None and not tr.final:
                self._register(run, TaskRun(nested.task, parent=tr))
        self._set_run(run, LifeCycle.RUNNING)
        self._commit(now)  # else written by a later turn
        return run

    def run_until_done(self, runs: list[Run], on_tick: Callable[[], None] | None = None) -> None:
        """Drive the loop until every given run has ended and its cost has been read."""
        while not all(r.final and not r.usage_pending for r in runs):
            try:
                event = self.events.get(timeout=defaults.LOOP_TICK_SECONDS)
                self.events.put(event)
            except queue.Empty:
                pass
            self.step(time.monotonic())
            if on_tick is not None:
                on_tick()

    def step(self, now: float) -> None:
        """One turn of the loop: handle events, deadlines, readiness, starts, endings."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            self._handle(event, now)
        for run in [r for r in self.runs.values() if not r.final]:
            self._check_deadlines(run, now)
            self._advance(run, now)
            self._maybe_finish(run)
        self.clusters.adapt(now)
        self._commit_and_launch()

    def _commit(self, now: float) -> bool:
        """Write this turn's changes (the recorder); False while the database cannot be
        reached. Runs another process took over meanwhile are stopped here."""
        try:
            taken = self.on_commit()
        except StoreUnavailable:
            return False
        for run_id in taken:
            run = self.runs.get(run_id)
            if run is not None and not run.final:
                self._stop_run(run, Result.CANCELED, TAKEN_OVER, now)  # ends next turn
        return True

    def _commit_and_launch(self) -> None:
        """Write this turn's changes, then start the task code they record: code never
        runs before its RUNNING row is committed."""
        if not self._commit(time.monotonic()):
            return  # the database is away: task code starts once a later turn wrote it
        launches, self._launches = self._launches, []
        for run, tr, cluster, number in launches:
            # an attempt stopped (a cancel, a timeout) while it waited is not started
            if tr.life is LifeCycle.RUNNING and tr.attempt_number == number:
                self._start_thread(run, tr, cluster)

    # ---- events ----------------------------------------------------------------------

    def _handle(self, event: Any, now: float) -> None:
        if isinstance(event, Finished):
            run = self.runs.get(event.run_id)
            tr = run.find(event.task_key) if run else None
            if tr is None or tr.life is not LifeCycle.RUNNING or tr.attempt_number != event.attempt:
                return  # a late report from an attempt already stopped
            tr.exit_value = None if event.exit_value is None else str(event.exit_value)
            why = self.clusters.exit_reason(tr.cluster_key, after_error=True) \
                if event.error else None
            if why is not None:  # its cluster died under it: say so, and start it anew
                self._cluster_lost(ClusterLost(tr.cluster_key or "", why), now)
            elif event.error is None:
                self._end_attempt(run, tr, Result.SUCCESS, None, now)
            else:
                self._end_attempt(run, tr, Result.FAILED, event.error, now)
        elif isinstance(event, ClusterStarted):
            self.clusters.started(event.key, event.error)
        elif isinstance(event, ClusterLost):
            self._cluster_lost(event, now)
        elif isinstance(event, EnvironmentBuilt):  # its tasks see the build's state
            if event.env is not None:
                isolated.prestart(event.env)  # imports done before its first task
        elif isinstance(event, UsageRead):
            self._usage_read(event)
        elif isinstance(event, Cancel):
            for run in self.runs.values():
                if not run.final and event.run_id in (None, run.run_id):
                    self._stop_run(run, Result.CANCELED, "Run cancelled", now)

    def _cluster_lost(self, event: ClusterLost, now: float) -> None:
        """A cluster died under its tasks: fail each running one now, naming the cluster
        (its retries start the cluster anew), then forget the dead cluster."""
        slot = self.clusters.slots.get(event.key)
        if slot is None or slot.state != "READY" or \
                (event.cluster is not None and event.cluster is not slot.cluster):
            return  # nothing there now, or its successor under the same key
        keys = {k for k, s in self.clusters.slots.items() if s is slot}
        name = event.key.removeprefix(SHARED_PREFIX) if event.key.startswith(SHARED_PREFIX) \
            else event.key.split(":", 1)[-1]  # a job cluster by its job_cluster_key
        message = f"cluster '{name}' stopped under the task: {event.reason}"
        for run in [r for r in self.runs.values() if not r.final]:
            for tr in self._live(run):
                if tr.life is LifeCycle.RUNNING and tr.cluster_key in keys \
                        and tr.spark_context_id:
                    if tr.ctx is not None:
                        tr.ctx.interrupt(spark=False)  # nothing to cancel on a dead cluster
                    self._end_attempt(run, tr, Result.FAILED, message, now)
        self.clusters.lost(event.key)

    # ---- transitions -----------------------------------------------------------------

    def transition(self, run: Run, tr: TaskRun, life: LifeCycle, result: Result | None = None,
                   message: str = "") -> None:
        """Move a task run to a new state: check the move, record it, then let it act."""
        if life is not tr.life and life not in MOVES[tr.life]:
            raise IllegalTransition(f"{tr.key}: {tr.life.value} -> {life.value}")
        tr.life, tr.message = life, message
        if result is not None:
            tr.result = result
        for listener in self.listeners:
            listener(run, tr)

    def _set_run(self, run: Run, life: LifeCycle, result: Result | None = None,
                 message: str = "") -> None:
        run.life, run.message = life, message
        if result is not None:
            run.result = result
            run.end_ms = now_ms()
        for listener in self.listeners:
            listener(run, None)

    # ---- deadlines, readiness, starting ----------------------------------------------

    def _check_deadlines(self, run: Run, now: float) -> None:
        if run.deadline is not None and now >= run.deadline:
            self._stop_run(run, Result.TIMEDOUT,
                           f"Run timed out after {run.job.timeout_seconds}s", now)
            return
        for tr in self._live(run):
            if tr.life is LifeCycle.RUNNING and tr.deadline is not None and now >= tr.deadline:
                message = f"Task timed out after {tr.task.timeout_seconds}s"
                self._halt(run, tr, Result.TIMEDOUT, message, now)
                self._end_attempt(run, tr, Result.TIMEDOUT, message, now)
            elif tr.life is LifeCycle.WAITING_FOR_RETRY and now >= (tr.retry_at or 0):
                tr.retry_at = None
                self.transition(run, tr, LifeCycle.PENDING, message="retrying")

    def _live(self, run: Run) -> list[TaskRun]:
        """Task runs that may have a deadline: top-level ones and in-flight iterations."""
        live = [tr for tr in run.task_runs.values() if not tr.final]
        for tr in list(live):
            live += [tr.iterations[i] for i in tr.active]
        return live

    def _advance(self, run: Run, now: float) -> None:
        for tr in run.task_runs.values():
            if tr.life is LifeCycle.RUNNING and tr.task.for_each_task is not None:
                self._feed(run, tr, now)
            elif tr.life is LifeCycle.RUNNING and tr.child_run is not None:
                self._follow_child(run, tr, now)
            if tr.life not in (LifeCycle.PENDING, LifeCycle.QUEUED, LifeCycle.BLOCKED):
                continue
            if not decide.ready(run, tr):
                continue
            skip = decide.gate(run, tr) if tr.tries == 0 else None
            if skip is not None:
                self.transition(run, tr, LifeCycle.TERMINATED, skip, _skip_message(skip))
            elif tr.task.for_each_task is not None:
                self._start_for_each(run, tr, now)
            elif tr.task.run_job_task is not None:
                self._start_child_job(run, tr, now)
            else:
                self._try_start(run, tr, now)

    def _try_start(self, run: Run, tr: TaskRun, now: float) -> None:
        blocked_by = self._claim_declared(run, tr)
        if blocked_by is not None:
            if tr.life is not LifeCycle.BLOCKED or tr.message != blocked_by:
                self.transition(run, tr, LifeCycle.BLOCKED, message=f"Waiting: {blocked_by}")
            return
        if not self._environment_ready(run, tr, now):
            return
        cluster = None
        if tr.cluster_key:
            if self.clusters.state(tr.cluster_key) == "STOPPED":
                self._register(run, tr)  # stopped after earlier use: start it anew
            state = self.clusters.state(tr.cluster_key)
            if state in ("NEW", "STARTING"):
                if tr.message != "Waiting for cluster":
                    self.transition(run, tr, tr.life, message="Waiting for cluster")
                self.clusters.ensure_started(tr.cluster_key)  # recorded first, then started
                return
            if state == "FAILED":
                self._open_attempt(run, tr, None, now)
                self._end_attempt(run, tr, Result.FAILED,
                                  self.clusters.slots[tr.cluster_key].error, now)
                return
            cluster = self.clusters.try_acquire(tr.cluster_key)
            if cluster is None:
                if tr.life is not LifeCycle.QUEUED:
                    self.transition(run, tr, LifeCycle.QUEUED, message=self.clusters.
                                    waiting_message(tr.cluster_key))
                return
            lacking = jars.missing(cluster, tr.task.libraries)
            if lacking:
                self.clusters.release(tr.cluster_key)
                self._open_attempt(run, tr, None, now)
                self._end_attempt(run, tr, Result.FAILED, (
                    f"the task needs {', '.join(lacking)}, which its running cluster "
                    f"'{tr.cluster_key.removeprefix(SHARED_PREFIX)}' was not started with; "
                    "add it to the cluster's libraries and restart the cluster"), now)
                return
        self._open_attempt(run, tr, cluster, now)
        # started after the turn's changes are written
        self._launches.append((run, tr, cluster, tr.attempt_number))

    def _environment_ready(self, run: Run, tr: TaskRun, now: float) -> bool:
        """Whether the task can start as far as its Python packages go: it asks for none,
        or their environment is built. Starts the build (and the task's cluster, at the
        same time) the first time; a build that fails fails the task."""
        holder = tr.parent or tr  # a for-each's iterations share one task, so one build
        if holder.build is None:
            try:
                asked = requirements.asked_for(run.job, tr.task, run.clusters)
                holder.build = self.environments.get(asked) if asked else False
            except (requirements.RequirementError, EnvironmentBuildError) as exc:
                self._open_attempt(run, tr, None, now)
                self._end_attempt(run, tr, Result.FAILED, str(exc), now)
                return False
        tr.build = holder.build
        if tr.build is False or tr.build.state == "READY":
            return True
        if tr.build.state == "FAILED":
            self._open_attempt(run, tr, None, now)
            self._end_attempt(run, tr, Result.FAILED, "cannot build the task's Python "
                              f"environment: {tr.build.error}", now)
            return False
        if tr.message != "Installing libraries":
            self.transition(run, tr, tr.life, message="Installing libraries")
        if tr.cluster_key and self.clusters.state(tr.cluster_key) == "NEW":
            self.clusters.ensure_started(tr.cluster_key)  # starts while the build runs
        return False

    def _open_attempt(self, run: Run, tr: TaskRun, cluster: Any, now: float) -> Attempt:
        number = len(tr.attempts)
        folder = defaults.logs_dir() / str(run.run_id)
        folder = folder / tr.parent.key / str(tr.index) if tr.parent else folder / tr.key
        attempt = Attempt(number, now_ms(), folder / f"{number}.log")
        tr.attempts.append(attempt)
        tr.spark_context_id = getattr(cluster, "application_id", None)
        tr.error = None
        tr.deadline = now + tr.task.timeout_seconds if tr.task.timeout_seconds else None
        self.transition(run, tr, LifeCycle.RUNNING)
        return attempt

    def _start_thread(self, run: Run, tr: TaskRun, cluster: Any) -> None:
        attempt = tr.attempts[-1]
        anchor = tr.parent or tr
        render = renderer(run, tr, tr.input_value)
        try:
            params = self._widget_params(run, tr, render)
        except UnresolvedReference as exc:
            self.events.put(Finished(run.run_id, tr.key, attempt.number, str(exc), None))
            return
        tr.ctx = TaskContext(
            run_id=run.run_id, job_key=run.job_key, job_name=run.job.name or run.job_key,
            task_key=anchor.key, attempt=attempt.number, task_run_id=tr.run_id, params=params,
            log_path=attempt.log_path, bundle_root=run.bundle_root, values=run.values,
            upstream=frozenset(_upstream(run, anchor.key)), sessions=cluster,
            claim_output=lambda name: self.claim_output(name, run, tr), job_id=run.job_id,
            cluster_id=(tr.cluster_key or "").removeprefix(SHARED_PREFIX),
            env=self.task_env(run),
            tag=f"podium-{run.run_id}-{tr.key}-{attempt.number}".replace("[", "-").replace(
                "]", ""))
        tr.tags.append(tr.ctx.tag)
        ctx = tr.ctx
        self.workers.run(lambda: self._work(run, tr, ctx, render, attempt.number))

    def _claim_declared(self, run: Run, tr: TaskRun) -> str | None:
        """Take the outputs a task declares (`podium.writes` in its parameters, comma
        separated, references allowed); the first conflict, if any."""
        declared = declared_outputs(tr.task)
        if not declared:
            return None
        render = renderer(run, tr, tr.input_value)
        try:
            names = [n.strip() for n in str(render(declared)).split(",") if n.strip()]
        except UnresolvedReference:
            return None  # the task fails on the same reference when it starts
        for name in names:
            holder = self.claim_output(name, run, tr)
            if holder is not None:
                return holder
        return None

    def _claim_locally(self, name: str, run: Run, tr: TaskRun) -> str | None:
        holder = self._held.get(name)
        if holder is not None and holder != (run.run_id, tr.key):
            other = self.runs.get(holder[0])
            other_tr = other.find(holder[1]) if other else None
            if other_tr is not None and not other_tr.final:
                return (f"output '{name}' is being written by task '{holder[1]}' of run "
                        f"{holder[0]} (job '{other.job_key}')")
        self._held[name] = (run.run_id, tr.key)
        return None

    @staticmethod
    def _widget_params(run: Run, tr: TaskRun, render: Any) -> dict[str, str]:
        """Notebook widgets: base_parameters, then job parameters (which win, as on
        Databricks)."""
        base = tr.task.notebook_task.base_parameters if tr.task.notebook_task else {}
        params = {k: "" if v is None else str(render(v) if isinstance(v, str) else v)
                  for k, v in base.items()}
        params.update(run.params)
        return params

    # ---- for_each_task and run_job_task: run by the loop, no thread ----------------

    def _start_for_each(self, run: Run, tr: TaskRun, now: float) -> None:
        """Make the iterations; the container runs until they all end."""
        self._open_attempt(run, tr, None, now)
        try:
            for_each.make_iterations(run, tr, self._cluster_key(run, tr.task.for_each_task.task))
        except for_each.InputsError as exc:
            self._end_attempt(run, tr, Result.FAILED, str(exc), now)
            return
        if not tr.iterations:
            self._end_attempt(run, tr, Result.SUCCESS, None, now)

    def _feed(self, run: Run, tr: TaskRun, now: float) -> None:
        for it in for_each.to_start(run, tr):
            self._try_start(run, it, now)

    def _iteration_ended(self, run: Run, it: TaskRun, now: float) -> None:
        told = for_each.iteration_ended(run, it)
        if told is not None and told.stop_run:
            self._stop_run(run, told.result, told.message or "", now)
        elif told is not None:
            self._end_attempt(run, it.parent, told.result, told.message, now)

    def _start_child_job(self, run: Run, tr: TaskRun, now: float) -> None:
        """Start the child job as a run of its own in this executor (equal job clusters
        are reused, shared clusters too)."""
        self._open_attempt(run, tr, None, now)
        try:
            child = child_runs.make_child(run, tr, self.child_job)
        except child_runs.ChildRunError as exc:
            self._end_attempt(run, tr, Result.FAILED, str(exc), now)
            return
        self.on_child_run(child, run, tr)
        tr.child_run = child
        tr.exit_value = str(child.run_id)
        self.submit(child, now)

    def _follow_child(self, run: Run, tr: TaskRun, now: float) -> None:
        ended = child_runs.outcome(tr.child_run)
        if ended is not None and tr.life is LifeCycle.RUNNING:
            self._end_attempt(run, tr, *ended, now)

    # ---- worker thread ---------------------------------------------------------------

    def _work(self, run: Run, tr: TaskRun, ctx: TaskContext, render: Any, number: int) -> None:
        """Run task code in this worker thread and report the outcome to the loop."""
        error: str | None = None
        exit_value: Any = None
        context_mod.bind(ctx)
        try:
            with output.captured(ctx.log_path, ctx.secret_values) as log:
                try:
                    ctx.attach()
                    try:
                        if tr.build:
                            exit_value = isolated.execute(tr.task, ctx, render, tr.build,
                                                          ctx.sessions)
                        else:
                            exit_value = REGISTRY[tr.task.task_type](tr.task, ctx, render)
                    finally:
                        ctx.detach()
                except TaskInterrupted:
                    error = "interrupted"
                except TaskFailed as exc:  # its own process said what failed, and logged it
                    error = str(exc)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    if type(exc).__name__ != "CellError":
                        with contextlib.suppress(OSError):  # its log may be unwritable
                            traceback.print_exc()
            if log.failed is not None:
                error = log.reason
        except TaskInterrupted:
            error = "interrupted"
        except OSError as exc:  # its log could not even be made (a full disk)
            error = output.unwritable(ctx.log_path, exc)
        finally:
            context_mod.bind(None)
            forget(ctx)
            ctx.close_spark()
            self.events.put(Finished(run.run_id, tr.key, number, error, exit_value))

    # ---- ending attempts, tasks and runs ---------------------------------------------

    def _end_attempt(self, run: Run, tr: TaskRun, result: Result, error: str | None,
                     now: float) -> None:
        attempt = tr.attempts[-1]
        attempt.end_ms, attempt.result, attempt.error = now_ms(), result, error
        tr.error, tr.deadline = error, None
        if tr.cluster_key and tr.spark_context_id:
            self.clusters.release(tr.cluster_key)
        if decide.retry_allowed(tr, result) and run.stop_reason is None:
            tr.retry_at = now + tr.task.min_retry_interval_millis / 1000
            self.transition(run, tr, LifeCycle.WAITING_FOR_RETRY, result,
                            f"Attempt {attempt.number} {result.value.lower()}: {error}")
            return
        self.transition(run, tr, LifeCycle.TERMINATED, result, error or "")
        if tr.parent is not None:
            self._iteration_ended(run, tr, now)

    def _halt(self, run: Run, tr: TaskRun, reason: Result, message: str, now: float) -> None:
        """Stop whatever a running task has under way: its thread and Spark jobs, its
        iterations, or its child run."""
        if tr.ctx is not None:
            tr.ctx.interrupt()
        if tr.child_run is not None and not tr.child_run.final:
            self._stop_run(tr.child_run, reason, message, now)
        for index in list(tr.active):
            it = tr.iterations[index]
            if it.life is LifeCycle.RUNNING:
                self._halt(run, it, reason, message, now)
                self._end_attempt(run, it, reason, message, now)
            elif not it.final:
                self.transition(run, it, LifeCycle.TERMINATED, Result.CANCELED, message)
        tr.active.clear()
        tr.waiting.clear()

    def _stop_run(self, run: Run, reason: Result, message: str, now: float) -> None:
        """Cancel or time out a run: stop running tasks' Spark jobs and threads now."""
        run.stop_reason = reason
        run.message = message
        for tr in run.task_runs.values():
            if tr.final:
                continue
            if tr.life is LifeCycle.RUNNING:
                self._halt(run, tr, reason, message, now)
                if tr.life is LifeCycle.RUNNING:
                    self._end_attempt(run, tr, reason, message, now)
            else:
                self.transition(run, tr, LifeCycle.TERMINATED, Result.CANCELED, message)

    def _maybe_finish(self, run: Run) -> None:
        used, needed = set(), set()
        for tr in run.task_runs.values():
            keys = {tr.cluster_key}
            if tr.task.for_each_task is not None:
                keys.add(self._cluster_key(run, tr.task.for_each_task.task))
            used |= keys
            if not tr.final:
                needed |= keys
        for key in used - needed - {None}:
            if key not in run.usage_read:
                run.usage_read.add(key)
                self._read_usage(run, key)
            elif key not in run.usage_pending:
                self.clusters.done_with(key, run.run_id)
        if all(tr.final for tr in run.task_runs.values()):
            result = decide.run_result(run)
            message = run.message if run.stop_reason else ""
            self._set_run(run, LifeCycle.TERMINATED, result, message)

    def _read_usage(self, run: Run, key: str) -> None:
        """Once the run is done with a cluster, read what each of its task runs used there
        in a thread (HTTP requests to the cluster's monitoring API never hold up the loop);
        the cluster stays the run's until the answer is in."""
        slot = self.clusters.slots.get(key)
        runs = [tr for top in run.task_runs.values() for tr in [top, *top.iterations]
                if tr.cluster_key == key and tr.tags]
        if slot is None or slot.state != "READY" or not hasattr(slot.cluster, "usage") or \
                not runs:
            self.clusters.done_with(key, run.run_id)
            return
        run.usage_pending.add(key)
        tags = {tag for tr in runs for tag in tr.tags}
        cluster = slot.cluster

        def read() -> None:
            try:
                by_tag = cluster.usage(tags)
            except Exception:  # a cluster that stopped or a UI that is off: no cost known
                by_tag = None
            self.events.put(UsageRead(run.run_id, key, by_tag))

        threading.Thread(target=read, name=f"podium-usage-{run.run_id}", daemon=True).start()

    def _usage_read(self, event: UsageRead) -> None:
        """Add a read usage to the run's task runs (all attempts; a for_each task sums its
        iterations), tell the listeners, and let the cluster go."""
        run = self.runs.get(event.run_id)
        if run is None:
            return
        run.usage_pending.discard(event.key)
        runs = [tr for top in run.task_runs.values() for tr in [top, *top.iterations]
                if tr.cluster_key == event.key and tr.tags]
        for tr in runs:
            for tag in tr.tags:
                if event.by_tag and tag in event.by_tag:
                    tr.add_usage(event.by_tag[tag])
            if tr.parent is not None and tr.usage:
                tr.parent.add_usage(tr.usage)
                tr.parent.spark_context_id = tr.parent.spark_context_id or tr.spark_context_id
        for top in {id(tr.parent or tr): tr.parent or tr for tr in runs}.values():
            if top.usage:
                for listener in self.listeners:
                    listener(run, top)
        self.clusters.done_with(event.key, run.run_id)

    # ---- compute lookup --------------------------------------------------------------

    def _register(self, run: Run, tr: TaskRun) -> None:
        tr.cluster_key = self._cluster_key(run, tr.task)
        if tr.cluster_key and not tr.final:
            if tr.task.existing_cluster_id:
                spec = shared_spec(run.clusters, tr.task.existing_cluster_id)
            elif tr.cluster_key.startswith(SHARED_PREFIX):  # a warehouse: its own spec
                spec = None
            else:
                spec = run.job.cluster_as_started(tr.task.job_cluster_key)
            self.clusters.register(tr.cluster_key, spec, run.run_id)

    def _cluster_key(self, run: Run, task: Any) -> str | None:
        """Which cluster a task runs on: shared by id, the job's cluster by key, the SQL
        warehouse a sql_task names, the job's default cluster for other Spark tasks, none
        for the others."""
        if task.existing_cluster_id:
            return f"{SHARED_PREFIX}{task.existing_cluster_id}"
        if task.job_cluster_key:
            return f"{run.job_key}:{task.job_cluster_key}"
        warehouse = str(getattr(task.sql_task, "warehouse_id", None) or "")
        if warehouse and self.is_warehouse(warehouse):
            return f"{SHARED_PREFIX}{warehouse}"
        return f"{run.job_key}:{DEFAULT_KEY}" if task.uses_spark else None


def declared_outputs(task: Any) -> str | None:
    """The `podium.writes` entry of a task's parameters, if any."""
    for spec in (task.notebook_task, task.python_task, task.sql_task):
        if spec is None:
            continue
        fields = type(spec).model_fields  # not getattr: pydantic's miss path is slow
        params = spec.base_parameters if "base_parameters" in fields else \
            spec.parameters if "parameters" in fields else None
        if isinstance(params, dict) and params.get("podium.writes"):
            return str(params["podium.writes"])
    return None


def _upstream(run: Run, key: str) -> set[str]:
    found: set[str] = set()
    stack = [d.task_key for d in run.task_runs[key].task.depends_on]
    while stack:
        dep = stack.pop()
        if dep not in found:
            found.add(dep)
            stack += [d.task_key for d in run.task_runs[dep].task.depends_on]
    return found


def _skip_message(result: Result) -> str:
    return {Result.EXCLUDED: "Excluded: its run_if condition was not met",
            Result.UPSTREAM_FAILED: "Upstream task failed",
            Result.UPSTREAM_CANCELED: "Upstream task was cancelled"}[result]
