"""What a bundle says, as pydantic models with Databricks' field names.

Every model accepts extra fields so the loader can sort them into "ignored locally"
(cloud-only fields listed in `IGNORED`) and "unknown" (a located error with a
suggestion). Each model instance remembers where it was written (`loc`, `loc_of`).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from podium.spec.errors import Location
from podium.spec.yaml_source import YList, YMap


class Node(BaseModel):
    """Base of every bundle model: extra fields kept, source location remembered."""

    # A number where a string belongs is that number's text, as the Databricks CLI reads
    # it (`policy_id: 3720959008777129` is a policy id of digits only, not an error).
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)
    IGNORED: ClassVar[frozenset[str]] = frozenset()

    _loc: Location = PrivateAttr(default=Location("<unknown>"))
    _key_locs: dict[str, Location] = PrivateAttr(default_factory=dict)
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_location(cls, data: Any, handler: Any) -> Any:
        instance = handler(data)
        if isinstance(data, YMap) and isinstance(instance, Node):
            instance._loc = data.loc
            instance._key_locs = data.key_locs
            # Plain dict and list fields lose their YAML positions in validation; keep the
            # read containers so each entry can still be located.
            instance._raw = {k: v for k, v in data.items() if isinstance(v, (YMap, YList))}
        return instance

    @property
    def loc(self) -> Location:
        """Where this mapping starts in its YAML file."""
        return self._loc

    def loc_of(self, key: str) -> Location:
        """Where field `key` is written, falling back to the mapping itself."""
        return self._key_locs.get(key, self._loc)

    def raw_of(self, key: str) -> Any:
        """The YAML container field `key` was read from (positions of its entries)."""
        return self._raw.get(key)


# A catalog, schema or volume name podium can keep as a folder (no `/` or `.`). A
# catalog's schemas are the folders `<catalog>__<schema>.db` and `hive_metastore`'s are
# `<schema>.db`, so a catalog name, and a `hive_metastore` schema's, has no `__` either.
UNITY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")
UNITY_NAME_RULE = "use letters, digits, '_' and '-', at most 255 characters"
HIVE_METASTORE = "hive_metastore"


def name_problem(name: str, kind: str, catalog: str | None = None) -> str | None:
    """Why `name`, of a `catalog`, a `schema` (of `catalog`; None: `hive_metastore`) or a
    `volume`, cannot be kept as a folder; None when it can."""
    if not UNITY_NAME.fullmatch(name):
        return f"'{name}' is not a name podium can keep; {UNITY_NAME_RULE}"
    if "__" in name and (kind == "catalog" or
                         (kind == "schema" and catalog in (None, HIVE_METASTORE))):
        whose = "a catalog's" if kind == "catalog" else f"a {HIVE_METASTORE} schema's"
        return (f"'{name}' is not a name podium can keep: {whose} name has no '__' (its "
                "folder would read as a catalog and a schema)")
    return None


def _checked(value: str, kind: str, catalog: str | None = None) -> str:
    problem = name_problem(value, kind, catalog)
    if problem is not None:
        raise ValueError(problem)
    return value


def _schema_checked(value: str, info: ValidationInfo) -> str:
    # the resource's catalog field comes first, so it has been read (None: hive_metastore)
    return _checked(value, "schema", info.data.get("catalog_name", info.data.get("catalog")))


# A bundle's catalog, schema and volume names: a located error unless podium can keep them.
CatalogName = Annotated[str, AfterValidator(lambda v: _checked(v, "catalog"))]
SchemaName = Annotated[str, AfterValidator(_schema_checked)]
VolumeName = Annotated[str, AfterValidator(lambda v: _checked(v, "volume"))]


class SchemaResource(Node):
    """`resources.schemas.<key>`: a Unity Catalog schema, made in the local catalog."""

    catalog_name: CatalogName
    name: SchemaName
    comment: str | None = None


class VolumeResource(Node):
    """`resources.volumes.<key>`: a Unity Catalog volume, a folder under `/Volumes`."""

    catalog_name: CatalogName
    schema_name: SchemaName
    name: VolumeName
    volume_type: str = "MANAGED"
    comment: str | None = None


class RunIf(str, Enum):
    """When a task runs, given the outcome of its dependencies (Databricks' names)."""

    ALL_SUCCESS = "ALL_SUCCESS"
    AT_LEAST_ONE_SUCCESS = "AT_LEAST_ONE_SUCCESS"
    NONE_FAILED = "NONE_FAILED"
    ALL_DONE = "ALL_DONE"
    AT_LEAST_ONE_FAILED = "AT_LEAST_ONE_FAILED"
    ALL_FAILED = "ALL_FAILED"


class ConditionOp(str, Enum):
    """Comparison of a condition task (Databricks' names)."""

    EQUAL_TO = "EQUAL_TO"
    NOT_EQUAL = "NOT_EQUAL"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"
    LESS_THAN = "LESS_THAN"
    LESS_THAN_OR_EQUAL = "LESS_THAN_OR_EQUAL"


Scalar = str | int | float | bool


class Dependency(Node):
    task_key: str
    outcome: Literal["true", "false"] | None = None


class NotebookTask(Node):
    IGNORED = frozenset({"warehouse_id"})
    notebook_path: str
    base_parameters: dict[str, Scalar | None] = Field(default_factory=dict)
    source: Literal["WORKSPACE", "GIT"] | None = None


class SparkPythonTask(Node):
    python_file: str
    parameters: list[Scalar] = Field(default_factory=list)
    source: Literal["WORKSPACE", "GIT"] | None = None


class PythonWheelTask(Node):
    package_name: str
    entry_point: str
    parameters: list[Scalar] = Field(default_factory=list)
    named_parameters: dict[str, Scalar] = Field(default_factory=dict)


class SparkJarTask(Node):
    IGNORED = frozenset({"jar_uri", "run_as_repl"})
    main_class_name: str
    parameters: list[Scalar] = Field(default_factory=list)


class PipelineLibrary(Node):
    """One `libraries` entry of a pipeline: a `glob`, a `file` or a `notebook`."""

    glob: dict[str, str] | None = None
    file: dict[str, str] | None = None
    notebook: dict[str, str] | None = None


class PipelineResource(Node):
    """`resources.pipelines.<key>`: a Lakeflow Declarative Pipeline, run by a
    `pipeline_task` on Spark Declarative Pipelines."""

    name: str | None = None
    catalog: CatalogName | None = None
    schema_: SchemaName | None = Field(default=None, alias="schema")
    target: SchemaName | None = None  # the older name of `schema`
    libraries: list[PipelineLibrary] = Field(default_factory=list)
    configuration: dict[str, Scalar] = Field(default_factory=dict)
    root_path: str | None = None


class PipelineTask(Node):
    pipeline_id: str
    full_refresh: bool = False
    # The pipeline as the bundle defines it (`resources.pipelines.<key>`), put here by the
    # loader so a stored job runs it without its bundle.
    podium_pipeline: dict[str, Any] | None = None


class DbtTask(Node):
    """`dbt_task`: dbt `commands` run on the task's cluster (`tasks/dbt.py`)."""

    IGNORED = frozenset({"warehouse_id"})
    commands: list[str] = Field(min_length=1)
    project_directory: str | None = None  # the bundle root when not given
    profiles_directory: str | None = None  # relative to the project; generated if unset
    catalog: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    source: Literal["WORKSPACE", "GIT"] | None = None


class PythonTask(Node):
    """podium's own: call `module:function` with keyword `parameters`, no Spark needed."""

    function: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class SqlFile(Node):
    path: str
    source: Literal["WORKSPACE", "GIT"] | None = None


class SqlQuery(Node):
    """`query_id` is a saved query in a Databricks workspace; `text` is podium's inline SQL."""

    query_id: str | None = None
    text: str | None = None


class SqlTask(Node):
    IGNORED = frozenset({"warehouse_id", "dashboard", "alert"})
    file: SqlFile | None = None
    query: SqlQuery | None = None
    parameters: dict[str, Scalar | None] = Field(default_factory=dict)


class RunJobTask(Node):
    IGNORED = frozenset(
        {"notebook_params", "python_params", "jar_params", "spark_submit_params", "sql_params",
         "python_named_params", "pipeline_params", "dbt_commands"}
    )
    job_id: str | int
    job_parameters: dict[str, Scalar | None] = Field(default_factory=dict)


class ConditionTask(Node):
    op: ConditionOp
    left: Scalar
    right: Scalar


class MavenLibrary(Node):
    coordinates: str
    repo: str | None = None
    exclusions: list[str] = Field(default_factory=list)


class PypiLibrary(Node):
    package: str
    repo: str | None = None


class Library(Node):
    """One `libraries` entry: JVM ones (`maven`, `jar`) are loaded by the cluster; Python
    ones (`pypi`, `whl`, `requirements`) make the task's own environment."""

    IGNORED = frozenset({"cran", "egg"})
    maven: MavenLibrary | None = None
    jar: str | None = None
    pypi: PypiLibrary | None = None
    whl: str | None = None
    requirements: str | None = None

    @property
    def is_jvm(self) -> bool:
        """Whether the cluster's JVM loads it (rather than a task's Python environment)."""
        return self.maven is not None or self.jar is not None

    @property
    def is_python(self) -> bool:
        """Whether it is a package for the task's Python environment."""
        return self.pypi is not None or self.whl is not None or self.requirements is not None


TASK_TYPES: tuple[str, ...] = (
    "notebook_task",
    "spark_python_task",
    "python_wheel_task",
    "spark_jar_task",
    "python_task",
    "sql_task",
    "run_job_task",
    "for_each_task",
    "condition_task",
    "pipeline_task",
    "dbt_task",
)

UNSUPPORTED_TASK_TYPES: frozenset[str] = frozenset(
    {"spark_submit_task", "dashboard_task",
     "power_bi_task", "clean_rooms_notebook_task", "gen_ai_compute_task"}
)


class Task(Node):
    IGNORED = frozenset(
        {"email_notifications", "webhook_notifications", "notification_settings", "health",
         "disable_auto_optimization", "existing_cluster_id_alias", "new_cluster", "compute_key",
         "description"}
        | UNSUPPORTED_TASK_TYPES
    )
    task_key: str
    description: str | None = None
    depends_on: list[Dependency] = Field(default_factory=list)
    run_if: RunIf = RunIf.ALL_SUCCESS
    job_cluster_key: str | None = None
    existing_cluster_id: str | None = None
    environment_key: str | None = None
    timeout_seconds: int = Field(default=0, ge=0)
    max_retries: int = Field(default=0, ge=-1)
    min_retry_interval_millis: int = Field(default=0, ge=0)
    retry_on_timeout: bool = False
    libraries: list[Library] = Field(default_factory=list)

    notebook_task: NotebookTask | None = None
    spark_python_task: SparkPythonTask | None = None
    python_wheel_task: PythonWheelTask | None = None
    spark_jar_task: SparkJarTask | None = None
    python_task: PythonTask | None = None
    sql_task: SqlTask | None = None
    run_job_task: RunJobTask | None = None
    for_each_task: ForEachTask | None = None
    condition_task: ConditionTask | None = None
    pipeline_task: PipelineTask | None = None
    dbt_task: DbtTask | None = None

    @property
    def task_type(self) -> str:
        """The name of the one task type this task sets (validated by the loader), which
        may be one podium does not run (`pipeline_task`, ...)."""
        return next((t for t in TASK_TYPES if getattr(self, t) is not None), None) or \
            next(t for t in sorted(UNSUPPORTED_TASK_TYPES) if t in (self.model_extra or {}))

    @property
    def uses_spark(self) -> bool:
        """Whether this task needs a Spark session (pure Python and control tasks do not)."""
        return self.task_type in ("notebook_task", "spark_python_task", "sql_task",
                                  "python_wheel_task", "spark_jar_task", "pipeline_task",
                                  "dbt_task")


class ForEachTask(Node):
    inputs: str | list[Any]
    concurrency: int = Field(default=1, ge=1, le=100)
    task: Task


Task.model_rebuild()


class Autoscale(Node):
    min_workers: int = 0
    max_workers: int = 0


# How the driver's JVM compiles hot code (compute/cluster_conf.py gives each its flags).
JIT_CONF = "spark.podium.jit"
JIT_MODES = ("full", "quick")


class ClusterSpec(Node):
    """A `new_cluster` (or `resources.clusters.<key>`): where podium runs Spark."""

    IGNORED = frozenset(
        {"spark_version", "node_type_id", "driver_node_type_id", "aws_attributes",
         "azure_attributes", "gcp_attributes", "data_security_mode", "single_user_name",
         "runtime_engine", "instance_pool_id",
         "driver_instance_pool_id", "enable_elastic_disk", "enable_local_disk_encryption",
         "init_scripts", "ssh_public_keys", "custom_tags", "cluster_log_conf", "docker_image",
         "workload_type", "is_single_node", "kind", "use_ml_runtime", "permissions",
         "cluster_source", "remote_disk_throughput", "total_initial_remote_disk_size",
         "lifecycle"}
    )
    cluster_name: str | None = None
    spark_conf: dict[str, Scalar] = Field(default_factory=dict)
    spark_env_vars: dict[str, Scalar] = Field(default_factory=dict)
    num_workers: int | None = Field(default=None, ge=0)
    autoscale: Autoscale | None = None
    autotermination_minutes: int | None = Field(default=None, ge=0)
    policy_id: str | None = None  # applied where the workspace has the policy
    apply_policy_default_values: bool = False
    # Loaded when the cluster starts, with the JVM libraries of the tasks that run on it.
    libraries: list[Library] = Field(default_factory=list)

    @property
    def master(self) -> str:
        """The Spark master this cluster runs on (embedded `local[*]` when unset)."""
        return str(self.spark_conf.get("spark.master", "local[*]"))

    @property
    def remote(self) -> str | None:
        """The Spark Connect address when the cluster is an existing Connect server."""
        value = self.spark_conf.get("spark.remote")
        return str(value) if value else None


class JobCluster(Node):
    job_cluster_key: str
    new_cluster: ClusterSpec


class JobParameter(Node):
    name: str
    default: Scalar | None = ""


class Queue(Node):
    enabled: bool = False


class Schedule(Node):
    quartz_cron_expression: str
    timezone_id: str = "UTC"
    pause_status: Literal["PAUSED", "UNPAUSED"] = "UNPAUSED"


class Periodic(Node):
    interval: int = Field(ge=1)
    unit: Literal["HOURS", "DAYS", "WEEKS"]


class FileArrival(Node):
    url: str
    min_time_between_triggers_seconds: int = Field(default=0, ge=0)
    wait_after_last_change_seconds: int = Field(default=0, ge=0)


class TableUpdate(Node):
    table_names: list[str] = Field(min_length=1)
    condition: Literal["ANY_UPDATED", "ALL_UPDATED"] = "ANY_UPDATED"
    min_time_between_triggers_seconds: int = Field(default=0, ge=0)
    wait_after_last_change_seconds: int = Field(default=0, ge=0)


class Trigger(Node):
    """`trigger`: exactly one of periodic, file_arrival, table_update (or `table`)."""

    pause_status: Literal["PAUSED", "UNPAUSED"] = "UNPAUSED"
    periodic: Periodic | None = None
    file_arrival: FileArrival | None = None
    table_update: TableUpdate | None = None
    table: TableUpdate | None = None  # the older name of table_update

    @property
    def kinds(self) -> list[str]:
        """The trigger kinds given (valid when exactly one)."""
        return [k for k in ("periodic", "file_arrival", "table_update", "table")
                if getattr(self, k) is not None]


class Continuous(Node):
    pause_status: Literal["PAUSED", "UNPAUSED"] = "UNPAUSED"
    task_retry_mode: Literal["NEVER", "ON_FAILURE"] = "NEVER"


class EnvironmentSpec(Node):
    IGNORED = frozenset({"client", "environment_version", "base_environment"})
    client: str | None = None
    environment_version: str | None = None
    dependencies: list[str] = Field(default_factory=list)


class Environment(Node):
    environment_key: str
    spec: EnvironmentSpec = Field(default_factory=EnvironmentSpec)


class Job(Node):
    IGNORED = frozenset(
        {"email_notifications", "webhook_notifications", "notification_settings", "health",
         "git_source", "run_as", "permissions", "format", "edit_mode",
         "deployment", "budget_policy_id", "performance_target", "access_control_list",
         "usage_policy_id", "description"}
    )
    name: str | None = None
    description: str | None = None
    tasks: list[Task] = Field(default_factory=list)
    job_clusters: list[JobCluster] = Field(default_factory=list)
    parameters: list[JobParameter] = Field(default_factory=list)
    max_concurrent_runs: int = Field(default=1, ge=0, le=1000)
    queue: Queue | None = None
    timeout_seconds: int = Field(default=0, ge=0)
    schedule: Schedule | None = None
    trigger: Trigger | None = None
    continuous: Continuous | None = None
    tags: dict[str, Scalar] = Field(default_factory=dict)
    environments: list[Environment] = Field(default_factory=list)

    def task(self, key: str) -> Task:
        """The task with this `task_key`."""
        return next(t for t in self.tasks if t.task_key == key)

    def cluster(self, key: str) -> ClusterSpec | None:
        """The `new_cluster` of job cluster `key`, if the job defines it."""
        return next((c.new_cluster for c in self.job_clusters if c.job_cluster_key == key), None)

    def cluster_as_started(self, key: str | None) -> ClusterSpec:
        """Job cluster `key` (None: the job's default cluster) as it starts: its spec with
        the libraries of every task that runs on it added, as Databricks installs a task's
        libraries on its cluster."""
        base = (self.cluster(key) if key else None) or ClusterSpec()
        tasks = [t for top in self.tasks
                 for t in (top, *([top.for_each_task.task] if top.for_each_task else []))]
        added = [lib for t in tasks if not t.existing_cluster_id
                 and t.job_cluster_key == key and (key or t.uses_spark)
                 for lib in t.libraries if lib.is_jvm]
        if not added:
            return base
        return base.model_copy(update={"libraries": [*base.libraries, *added]})


def shared_spec(clusters: dict[str, ClusterSpec], name: str) -> ClusterSpec | None:
    """A bundle's shared cluster by key, or else by `cluster_name`."""
    return clusters.get(name) or next(
        (spec for spec in clusters.values() if spec.cluster_name == name), None)
