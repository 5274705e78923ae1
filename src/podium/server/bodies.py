"""Request bodies of the Jobs API, with Databricks' field names. A field no model knows is
refused (400 naming it); fields that mean nothing locally are accepted and ignored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from podium.defaults import INT64_MAX, MAX_TOKEN_LIFETIME_SECONDS

# Ids and times are 64-bit in Databricks' API and in the store: a larger number is a 400.
INT64_MIN = -INT64_MAX - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
PathInt64 = Annotated[int, Path(ge=INT64_MIN, le=INT64_MAX)]  # an id in a page's path


def int64(*default: None) -> Any:
    """A 64-bit query parameter, required unless given `None` as its default. A new one per
    parameter: FastAPI names a parameter's `Query` after it, so one shared object would
    give several parameters one name."""
    return Query(*default, ge=INT64_MIN, le=INT64_MAX)


class Body(BaseModel):
    """Base: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class QueueSettings(Body):
    enabled: bool = False


class RunNow(Body):
    job_id: Int64 | str  # a string: a job of the calling task's bundle, by key or name
    job_parameters: dict[str, Any] | None = None
    notebook_params: dict[str, Any] | None = None
    python_params: list[str] | None = None
    python_named_params: dict[str, Any] | None = None
    jar_params: list[str] | None = None
    spark_submit_params: list[str] | None = None
    sql_params: dict[str, Any] | None = None
    pipeline_params: dict[str, Any] | None = None
    dbt_commands: list[str] | None = None
    idempotency_token: str | None = Field(default=None, max_length=64)
    queue: QueueSettings | None = None
    only: list[str] | None = None
    performance_target: str | None = None


class JobId(Body):
    job_id: Int64


class ResetJob(Body):
    job_id: Int64
    new_settings: dict[str, Any]


class UpdateJob(Body):
    job_id: Int64
    new_settings: dict[str, Any] | None = None
    fields_to_remove: list[str] | None = None


class RunId(Body):
    run_id: Int64


class CancelAll(Body):
    job_id: Int64 | None = None
    all_queued_runs: bool = False


class RepairRun(Body):
    run_id: Int64
    rerun_tasks: list[str] | None = None
    rerun_all_failed_tasks: bool = False
    rerun_dependent_tasks: bool = False
    job_parameters: dict[str, Any] | None = None
    notebook_params: dict[str, Any] | None = None
    python_params: list[str] | None = None
    latest_repair_id: Int64 | None = None
    performance_target: str | None = None
    pipeline_params: dict[str, Any] | None = None
    python_named_params: dict[str, Any] | None = None
    jar_params: list[str] | None = None
    spark_submit_params: list[str] | None = None
    sql_params: dict[str, Any] | None = None
    dbt_commands: list[str] | None = None


class CreateToken(Body):
    comment: str = ""
    lifetime_seconds: Annotated[int, Field(ge=INT64_MIN, le=MAX_TOKEN_LIFETIME_SECONDS)] | \
        None = None


class TokenId(Body):
    token_id: str
