"""Stored runs in the Databricks Jobs API 2.2 shapes (`runs/get`, `runs/list`)."""

from __future__ import annotations

import json
from typing import Any

from podium.store.cost import run_cost
from podium.store.pipeline_events import events_of, summary
from podium.store.runs import RunStore
from podium.store.schema import AttemptRow, NotebookRunRow, RunRow, TaskRunRow


def _state(life: str, result: str | None, message: str) -> dict[str, Any]:
    state: dict[str, Any] = {"life_cycle_state": life, "state_message": message}
    if result is not None:
        state["result_state"] = result
    return state


def _status(life: str, result: str | None, message: str) -> dict[str, Any]:
    status: dict[str, Any] = {"state": life}
    if result is not None:
        status["termination_details"] = {"code": result, "message": message}
    return status


def run_summary(row: RunRow) -> dict[str, Any]:
    """A run without its tasks, as `runs/list` gives it."""
    end = row.end_ms or 0
    params = json.loads(row.params_json)
    out = {
        "run_id": row.id,
        "run_type": "SUBMIT_RUN" if row.job_key.startswith("submit-") else "JOB_RUN",
        "run_name": row.run_name,
        "number_in_job": row.id,
        "state": _state(row.life, row.result, row.message),
        "status": _status(row.life, row.result, row.message),
        "start_time": row.start_ms or 0,
        "end_time": end,
        "run_duration": (end - row.start_ms) if end and row.start_ms else 0,
        "trigger": row.trigger,
        "creator_user_name": row.creator_user_name,
        "job_parameters": [{"name": k, "value": v} for k, v in params.items()],
        "podium_job_key": row.job_key,
    }
    # A run of a registry job has its job_id; a bundle's run (`podium run`) or a one-time
    # run has none, as databricks-sdk reads job_id as an integer.
    if row.workspace_job_id is not None:
        out["job_id"] = row.workspace_job_id
    return out


def task_view(task: TaskRunRow, attempts: list[AttemptRow], children: list[NotebookRunRow],
              spec: dict[str, Any] | None) -> dict[str, Any]:
    """One task run in the `tasks[]` shape of runs/get."""
    spec = spec or {}
    first, last = (attempts[0], attempts[-1]) if attempts else (None, None)
    out: dict[str, Any] = {
        "task_key": task.task_key,
        "run_id": task.id,
        "state": _state(task.life, task.result, task.message),
        "status": _status(task.life, task.result, task.message),
        "attempt_number": last.number if last else 0,
        "start_time": first.start_ms if first else 0,
        "end_time": (last.end_ms or 0) if last else 0,
        "execution_duration": (last.end_ms - last.start_ms) if last and last.end_ms else 0,
        "depends_on": [{k: v for k, v in d.items() if v is not None}
                       for d in spec.get("depends_on", [])],
        "run_if": spec.get("run_if", "ALL_SUCCESS"),
    }
    if task.cluster_key or task.spark_context_id:  # a for_each task: its iterations'
        out["cluster_instance"] = {"cluster_id": (task.cluster_key or ":-").split(":", 1)[1]}
        if task.spark_context_id:
            out["cluster_instance"]["spark_context_id"] = task.spark_context_id
    if task.usage_json:
        out["podium_usage"] = json.loads(task.usage_json)
    if task.exit_value is not None:
        out["podium_exit_value"] = task.exit_value
    if task.error:
        out["error"] = task.error
    if last is not None:
        out["log_path"] = last.log_path
    out["attempts"] = [{"attempt_number": a.number, "start_time": a.start_ms,
                        "end_time": a.end_ms or 0, "result_state": a.result, "error": a.error,
                        "log_path": a.log_path, "repair_number": a.repair_number}
                       for a in attempts]
    if children:
        out["notebook_runs"] = [{"attempt_number": c.attempt, "path": c.path,
                                 "arguments": json.loads(c.arguments_json), "result": c.result,
                                 "exit_value": c.exit_value, "error": c.error,
                                 "log_path": c.log_path} for c in children]
    return out


def for_each_view(rows: list[Any]) -> dict[str, Any]:
    """A for_each task's iteration counts (Databricks' names) and each iteration."""
    done = [r for r in rows if r.life in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")]
    return {
        "stats": {"task_run_stats": {
            "total_iterations": len(rows),
            "completed_iterations": len(done),
            "succeeded_iterations": sum(r.result == "SUCCESS" for r in done),
            "failed_iterations": sum(r.result not in ("SUCCESS", None) for r in done),
            "active_iterations": len(rows) - len(done),
        }},
        "iterations": [{"index": r.idx, "input": json.loads(r.input_json),
                        "state": _state(r.life, r.result, r.error or ""),
                        "start_time": r.start_ms or 0, "end_time": r.end_ms or 0,
                        "error": r.error, "log_path": r.log_path} for r in rows],
    }


def run_view(store: RunStore, run_id: int) -> dict[str, Any]:
    """The whole run in the runs/get shape, plus podium's own section."""
    row = store.run_row(run_id)
    _, spec = store.job_spec(row.job_id)
    specs = {t["task_key"]: t for t in spec.get("tasks", [])}
    out = run_summary(row)
    out["tasks"] = [task_view(t, a, c, specs.get(t.task_key))
                    for t, a, c in store.task_rows(run_id)]
    children = {r.parent_task_key: r for r in store.children(run_id)}
    for task in out["tasks"]:
        spec_task = specs.get(task["task_key"], {})
        if "for_each_task" in spec_task:
            task["for_each_task"] = for_each_view(store.iterations(task["run_id"]))
        if "pipeline_task" in spec_task:  # the update's flows and how it ended
            task["podium_pipeline_update"] = summary(events_of(task.get("log_path")))
        if task["task_key"] in children:
            child = children[task["task_key"]]
            task["run_job_task"] = {"run_id": child.id, "result_state": child.result,
                                    **{k: v for k, v in run_summary(child).items()
                                       if k in ("job_id", "podium_job_key")}}
    out["repair_history"] = [{"type": "ORIGINAL", "id": row.id, "start_time": row.start_ms or 0}]
    out["repair_history"] += [{"type": "REPAIR", "id": r.number, "start_time": r.created_ms,
                               "rerun_tasks": json.loads(r.rerun_tasks_json)}
                              for r in store.repairs(run_id)]
    out["podium"] = {"task_values": store.task_values(run_id), "owner": {
        "host": row.owner_host, "pid": row.owner_pid, "heartbeat_ms": row.heartbeat_ms},
        "cost": run_cost(out)}
    return out
