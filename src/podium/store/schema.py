"""What is remembered: the run-history schema (SQLAlchemy 2). Times are epoch ms.

Changes to this file need an Alembic migration in `migrations/versions/`; a test checks
that the migrations produce exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of podium's tables."""


class JobRow(Base):
    """A job as it was when a run started: the resolved spec and its hash."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(512))
    bundle_name: Mapped[str] = mapped_column(String(255))
    bundle_root: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(255))
    spec_json: Mapped[str] = mapped_column(Text)
    spec_hash: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("bundle_root", "target", "key", "spec_hash",
                                       name="uq_jobs_version"),)


class RunRow(Base):
    """One execution of a job: parameters, state, times, and the process that owns it."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    job_key: Mapped[str] = mapped_column(String(255), index=True)
    run_name: Mapped[str] = mapped_column(String(512))
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    trigger: Mapped[str] = mapped_column(String(32), default="ONE_TIME")
    life: Mapped[str] = mapped_column(String(32), index=True)
    result: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    start_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_pid: Mapped[int] = mapped_column(Integer)
    heartbeat_ms: Mapped[int] = mapped_column(BigInteger)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    repair_count: Mapped[int] = mapped_column(Integer, default=0)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    parent_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    parent_task_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The registry job it is a run of (deployed or created through the API), if any.
    workspace_job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    # Who started it: the API token's user, the job's creator for triggered runs, the OS
    # user for `podium run`.
    creator_user_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # `run-now`/`runs/submit` idempotency: one run per token, whoever asks twice.
    idempotency_token: Mapped[str | None] = mapped_column(String(64), nullable=True,
                                                          unique=True, index=True)


class TaskRunRow(Base):
    """One task of a run."""

    __tablename__ = "task_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    task_key: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    life: Mapped[str] = mapped_column(String(32))
    result: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    cluster_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    spark_context_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    usage_json: Mapped[str | None] = mapped_column(Text, nullable=True)  # its Spark work
    exit_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (UniqueConstraint("run_id", "task_key", name="uq_task_runs_key"),)


class AttemptRow(Base):
    """One try of a task run, with its log."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_runs.id", ondelete="CASCADE"),
                                             index=True)
    number: Mapped[int] = mapped_column(Integer)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    result: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_path: Mapped[str] = mapped_column(Text)
    repair_number: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (UniqueConstraint("task_run_id", "number", name="uq_attempts_number"),)


class TaskValueRow(Base):
    """A value a task published with dbutils.jobs.taskValues.set (JSON)."""

    __tablename__ = "task_values"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    task_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)


class NotebookRunRow(Base):
    """A child notebook started by dbutils.notebook.run inside a task."""

    __tablename__ = "notebook_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_runs.id", ondelete="CASCADE"),
                                             index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    arguments_json: Mapped[str] = mapped_column(Text)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    result: Mapped[str | None] = mapped_column(String(40), nullable=True)
    exit_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_path: Mapped[str] = mapped_column(Text)


class ForEachIterationRow(Base):
    """One iteration of a for_each_task."""

    __tablename__ = "for_each_iterations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_runs.id", ondelete="CASCADE"),
                                             index=True)
    idx: Mapped[int] = mapped_column(Integer)
    input_json: Mapped[str] = mapped_column(Text)
    life: Mapped[str] = mapped_column(String(32))
    result: Mapped[str | None] = mapped_column(String(40), nullable=True)
    start_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)


class RepairRow(Base):
    """One repair of a run: which tasks were rerun, with which parameters."""

    __tablename__ = "repairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    rerun_tasks_json: Mapped[str] = mapped_column(Text)
    params_json: Mapped[str] = mapped_column(Text)


class TaskOutputRow(Base):
    """A table or path a running task declared it writes; no two running tasks may hold
    the same one."""

    __tablename__ = "task_outputs"
    name: Mapped[str] = mapped_column(String(1024), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    task_key: Mapped[str] = mapped_column(String(255))
    job_key: Mapped[str] = mapped_column(String(255))
    owner_pid: Mapped[int] = mapped_column(Integer)
    since_ms: Mapped[int] = mapped_column(BigInteger)


metadata = Base.metadata


class SharedClusterRow(Base):
    """A shared cluster (`resources.clusters`) started by `podium cluster start`: a Spark
    Connect server that outlives runs, found by every process of the workspace."""

    __tablename__ = "shared_clusters"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    cluster_name: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(32))  # PENDING … TERMINATED, ERROR
    message: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    application_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the supervising process
    spec_json: Mapped[str] = mapped_column(Text)
    autotermination_minutes: Mapped[int] = mapped_column(Integer, default=0)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    last_used_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DeployedObject:
    """The columns of a workspace object that `podium deploy` makes from a bundle (one per
    bundle root, target and key) or the API creates."""

    creator_user_name: Mapped[str] = mapped_column(String(255))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # BUNDLE or API
    bundle_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    bundle_root: Mapped[str | None] = mapped_column(Text, nullable=True)
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key: Mapped[str | None] = mapped_column(String(255), nullable=True)


class WorkspaceJobRow(DeployedObject, Base):
    """A job of the workspace's registry, with a stable `job_id`: deployed from a bundle
    (`podium deploy`: one per bundle root, target and key) or created through the API."""

    __tablename__ = "workspace_jobs"
    job_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                        primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(4096))
    settings_json: Mapped[str] = mapped_column(Text)  # Jobs API JobSettings
    # A deleted job's id is never handed out again (SQLite would reuse the highest).
    __table_args__ = (UniqueConstraint("bundle_root", "target", "key",
                                       name="uq_workspace_jobs_bundle_key"),
                      {"sqlite_autoincrement": True})


class TokenRow(Base):
    """A personal access token: only a salted hash of its secret is kept."""

    __tablename__ = "api_tokens"
    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    user_name: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expiry_ms: Mapped[int] = mapped_column(BigInteger)  # -1: never


class RunIdCounterRow(Base):
    """The next run id. Job runs and task runs take their ids from this one counter, as on
    Databricks, so a `run_id` names one thing (`runs/get-output` of a job run's id is not
    the output of some task run that happens to share it)."""

    __tablename__ = "run_id_counter"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_id: Mapped[int] = mapped_column(BigInteger)


class TriggerTickRow(Base):
    """One due time of a job's schedule or trigger and what became of it (`FIRED` with
    its run, or `SKIPPED` with the reason). The key makes a tick happen once, whichever
    server gets there first: it is inserted in the transaction that creates the run."""

    __tablename__ = "trigger_ticks"
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    due_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # SCHEDULE, PERIODIC, FILE_ARRIVAL, ...
    state: Mapped[str] = mapped_column(String(16))  # FIRED or SKIPPED
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)


class TriggerStateRow(Base):
    """Where a job's schedule or trigger stands. `since_ms` is when its current settings
    were first seen: ticks before it never fire, so a changed expression, a redeploy or a
    resume never replays old ticks. Every write checks and bumps `version`."""

    __tablename__ = "trigger_state"
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    spec_hash: Mapped[str] = mapped_column(String(64))
    since_ms: Mapped[int] = mapped_column(BigInteger)
    considered_ms: Mapped[int] = mapped_column(BigInteger)  # ticks up to here are decided
    last_fire_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checked_ms: Mapped[int] = mapped_column(BigInteger, default=0)  # last look at files/tables
    watermark_json: Mapped[str] = mapped_column(Text, default="{}")  # files seen, table stamps
    version: Mapped[int] = mapped_column(Integer, default=0)


class ClusterEventRow(Base):
    """What happened to a shared cluster, as the Clusters API's `events` lists it."""

    __tablename__ = "cluster_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_id: Mapped[str] = mapped_column(String(255), index=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))  # CREATING, RUNNING, TERMINATING, ...
    details_json: Mapped[str] = mapped_column(Text, default="{}")


class PrincipalRow(Base):
    """A user, group or service principal of the workspace (SCIM): its name is the user's
    `userName`, the group's `displayName` or the service principal's `applicationId`."""

    __tablename__ = "scim_principals"
    principal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # Users, Groups, ServicePrincipals
    name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_json: Mapped[str] = mapped_column(Text, default="{}")  # emails, roles, externalId
    created_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_scim_principals_kind_name"),)


class MembershipRow(Base):
    """A principal that belongs to a group."""

    __tablename__ = "scim_members"
    group_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class ClusterPolicyRow(Base):
    """A cluster policy: rules a cluster spec naming its `policy_id` must follow."""

    __tablename__ = "cluster_policies"
    policy_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    definition: Mapped[str] = mapped_column(Text)  # the JSON text, as given
    description: Mapped[str] = mapped_column(Text, default="")
    max_clusters_per_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creator_user_name: Mapped[str] = mapped_column(String(255))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class WorkspacePipelineRow(DeployedObject, Base):
    """A pipeline of the workspace (`/api/2.0/pipelines`): deployed from a bundle (one per
    bundle root, target and key) or created through the API. `settings_json` is Databricks'
    PipelineSpec; `spec_json` is what podium runs (`spec.pipelines`: local source paths)."""

    __tablename__ = "workspace_pipelines"
    pipeline_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(4096))
    settings_json: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("bundle_root", "target", "key",
                                       name="uq_workspace_pipelines_bundle_key"),)


class PipelineUpdateRow(Base):
    """An update of a pipeline: the run that carries it out and what was asked."""

    __tablename__ = "pipeline_updates"
    update_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(String(36), index=True)
    run_id: Mapped[int] = mapped_column(BigInteger, index=True)
    cause: Mapped[str] = mapped_column(String(32))  # API_CALL, USER_ACTION, JOB_TASK, ...
    options_json: Mapped[str] = mapped_column(Text)  # full_refresh, selections, validate_only
    created_ms: Mapped[int] = mapped_column(BigInteger)
