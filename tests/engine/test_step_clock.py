"""The loop decides from events and the clock it is given: retries and timeouts are
checked by calling `step(now)` with chosen times, with no waiting."""

from __future__ import annotations

from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.engine.states import LifeCycle, Result
from podium.spec import load_bundle


def make_run(write_bundle, task_yaml: str) -> Run:
    root = write_bundle("bundle: {name: c}\nresources:\n  jobs:\n    j:\n      tasks:\n"
                        + task_yaml)
    bundle = load_bundle(root)
    return Run("j", bundle.jobs["j"], root, {}, {})


def wait_for_report(executor: Executor) -> None:
    """Block until a worker has reported (the only real wait: the task's own code)."""
    event = executor.events.get(timeout=30)
    executor.events.put(event)


def test_retry_waits_for_its_interval_on_the_loops_clock(write_bundle) -> None:
    run = make_run(write_bundle, "        - {task_key: f, max_retries: 1, "
                   "min_retry_interval_millis: 60000, "
                   "python_task: {function: 'tests.engine.funcs:fail'}}\n")
    ex = Executor()
    ex.submit(run, now=0.0)
    ex.step(0.0)
    tr = run.task_runs["f"]
    assert tr.life is LifeCycle.RUNNING and tr.attempt_number == 0
    wait_for_report(ex)
    ex.step(1.0)
    assert tr.life is LifeCycle.WAITING_FOR_RETRY and tr.retry_at == 61.0
    ex.step(60.9)
    assert tr.life is LifeCycle.WAITING_FOR_RETRY
    ex.step(61.0)
    assert tr.life is LifeCycle.RUNNING and tr.attempt_number == 1
    wait_for_report(ex)
    ex.step(62.0)
    assert tr.result is Result.FAILED and run.result is Result.FAILED


def test_task_timeout_fires_exactly_at_its_deadline(write_bundle) -> None:
    run = make_run(write_bundle, "        - {task_key: s, timeout_seconds: 100, "
                   "python_task: {function: 'tests.engine.funcs:sleep', "
                   "parameters: {seconds: '20'}}}\n")
    ex = Executor()
    ex.submit(run, now=0.0)
    ex.step(0.0)
    tr = run.task_runs["s"]
    ex.step(99.9)
    assert tr.life is LifeCycle.RUNNING
    ex.step(100.0)
    assert tr.life is LifeCycle.TERMINATED and tr.result is Result.TIMEDOUT
    assert run.life is LifeCycle.TERMINATED and run.result is Result.FAILED
    assert tr.error == "Task timed out after 100s"


class Dead:
    """A cluster whose process is gone; `discard` notes that the loop forgot it."""

    kind, spec, discarded = "classic", None, False

    def discard(self) -> None:
        self.discarded = True


def test_word_of_a_dead_cluster_that_comes_after_its_successor_started_is_dropped() -> None:
    from podium.compute.manager import Slot
    from podium.engine.executor import ClusterLost

    ex = Executor()
    old, new = Dead(), Dead()
    ex.clusters.slots["j:main"] = Slot(new, state="READY")  # the retry's cluster, started
    ex.events.put(ClusterLost("j:main", "its driver JVM exited (code -9)", old))
    ex.step(0.0)
    assert ex.clusters.slots["j:main"].state == "READY" and not new.discarded
    ex.events.put(ClusterLost("j:main", "its driver JVM exited (code -9)", new))
    ex.step(1.0)
    assert ex.clusters.slots["j:main"].state == "STOPPED" and new.discarded
