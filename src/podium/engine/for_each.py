"""A `for_each_task`'s bookkeeping: its inputs made into iterations, which to start next,
and what the end of one means for the container. Pure functions of the run: the
executor asks, and alone changes states with the answers."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass

from podium.engine.model import Run, TaskRun
from podium.engine.references import UnresolvedReference, renderer
from podium.engine.states import LifeCycle, Result


class InputsError(ValueError):
    """The task's `inputs` are not a JSON array once references are filled in."""


@dataclass(frozen=True)
class Outcome:
    """What the container should do now: end with `result` (and `message`), or stop the
    whole run (`stop_run`: a failed iteration in a fail-fast job)."""

    result: Result
    message: str | None = None
    stop_run: bool = False


def make_iterations(run: Run, tr: TaskRun, cluster_key: str | None) -> None:
    """Resolve the container's inputs and give it one iteration (a child task run on
    `cluster_key`) per value, all waiting; InputsError when they are not a list."""
    spec = tr.task.for_each_task
    inputs = spec.inputs
    try:
        if isinstance(inputs, str):
            inputs = json.loads(renderer(run, tr)(inputs))
    except (ValueError, UnresolvedReference) as exc:
        raise InputsError(f"for_each_task inputs: {exc}") from exc
    if not isinstance(inputs, list):
        raise InputsError(f"for_each_task inputs: inputs resolved to {type(inputs).__name__}, "
                          "not a JSON array")
    tr.iterations = [TaskRun(spec.task, parent=tr, index=i, input_value=value)
                     for i, value in enumerate(inputs)]
    for it in tr.iterations:
        it.cluster_key = cluster_key
    tr.waiting, tr.active, tr.done, tr.failed = deque(range(len(inputs))), set(), 0, 0


def to_start(run: Run, tr: TaskRun) -> list[TaskRun]:
    """Iterations to try now: active ones waiting to be retried or for a slot, then new
    ones up to the concurrency (none once the run is stopping)."""
    ready = [tr.iterations[i] for i in sorted(tr.active)
             if tr.iterations[i].life in (LifeCycle.PENDING, LifeCycle.QUEUED)]
    limit = tr.task.for_each_task.concurrency
    while tr.waiting and len(tr.active) < limit and run.stop_reason is None:
        index = tr.waiting.popleft()
        tr.active.add(index)
        ready.append(tr.iterations[index])
    return ready


def iteration_ended(run: Run, it: TaskRun) -> Outcome | None:
    """Count an ended iteration; what its container should do now, if anything."""
    container = it.parent
    container.active.discard(it.index)
    container.done += 1
    if it.result is not Result.SUCCESS:
        container.failed += 1
        if str(run.job.tags.get("podium.fail_fast", "")).lower() == "true" \
                and run.stop_reason is None:
            return Outcome(Result.CANCELED, f"Iteration {it.key} failed and the job fails "
                           "fast (tag podium.fail_fast)", stop_run=True)
    if container.done < len(container.iterations) or container.life is not LifeCycle.RUNNING:
        return None
    if container.failed:
        return Outcome(Result.FAILED,
                       f"{container.failed} of {container.done} iterations failed")
    return Outcome(Result.SUCCESS)
