"""A run as the Databricks Jobs API 2.2 `runs/get` response shapes it."""

from __future__ import annotations

from typing import Any

from podium.engine.model import Run, TaskRun


def _state(life: Any, result: Any, message: str) -> dict[str, Any]:
    state: dict[str, Any] = {"life_cycle_state": life.value, "state_message": message}
    if result is not None:
        state["result_state"] = result.value
    return state


def _status(life: Any, result: Any, message: str) -> dict[str, Any]:
    status: dict[str, Any] = {"state": life.value}
    if result is not None:
        status["termination_details"] = {"code": result.value, "message": message}
    return status


def task_as_dict(tr: TaskRun) -> dict[str, Any]:
    """One task run in the `tasks[]` shape of runs/get."""
    first = tr.attempts[0] if tr.attempts else None
    last = tr.attempts[-1] if tr.attempts else None
    out: dict[str, Any] = {
        "task_key": tr.key,
        "run_id": tr.run_id,
        "state": _state(tr.life, tr.result, tr.message),
        "status": _status(tr.life, tr.result, tr.message),
        "attempt_number": tr.attempt_number,
        "start_time": first.start_ms if first else 0,
        "end_time": (last.end_ms or 0) if last else 0,
        "execution_duration": ((last.end_ms or 0) - last.start_ms) if last and last.end_ms
        else 0,
        "depends_on": [{"task_key": d.task_key, **({"outcome": d.outcome} if d.outcome else {})}
                       for d in tr.task.depends_on],
        "run_if": tr.task.run_if.value,
    }
    if tr.cluster_key:
        out["cluster_instance"] = {"cluster_id": tr.cluster_key.split(":", 1)[1]}
        if tr.spark_context_id:
            out["cluster_instance"]["spark_context_id"] = tr.spark_context_id
    if tr.exit_value is not None:
        out["podium_exit_value"] = tr.exit_value
    if tr.error:
        out["error"] = tr.error
    if tr.attempts:
        out["log_path"] = str(tr.attempts[-1].log_path)
    if tr.ctx is not None and tr.ctx.children:
        out["notebook_runs"] = [
            {"path": c.path, "arguments": c.arguments, "result": c.result,
             "exit_value": c.exit_value, "error": c.error, "log_path": str(c.log_path)}
            for c in tr.ctx.children]
    return out


def run_as_dict(run: Run) -> dict[str, Any]:
    """The whole run in the runs/get shape."""
    end = run.end_ms or 0
    return {
        "job_id": run.job_key,
        "run_id": run.run_id,
        "run_name": run.job.name,
        "number_in_job": run.run_id,
        "state": _state(run.life, run.result, run.message),
        "status": _status(run.life, run.result, run.message),
        "start_time": run.start_ms or 0,
        "end_time": end,
        "run_duration": (end - run.start_ms) if end and run.start_ms else 0,
        "trigger": run.trigger,
        "job_parameters": [{"name": k, "value": v} for k, v in run.params.items()],
        "tasks": [task_as_dict(tr) for tr in run.task_runs.values()],
        "podium": {"task_values": run.values.values},
    }
