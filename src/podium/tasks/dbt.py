"""`dbt_task`: the task's dbt `commands` (`dbt deps`, `dbt seed`, `dbt run`, ...) run in
its Python environment (dbt-databricks, from its `environment_key` or libraries; podium
adds `requirements.DBT_ADAPTER` when nothing names dbt), on the job's own cluster.

The project is run unchanged: its `type: databricks` profile (from `profiles_directory`,
or one made as Databricks makes it from the task's `catalog` and `schema`) connects through
`tasks/dbsql.py`, which runs dbt's SQL in the task's Spark session instead of a SQL
warehouse. `DBT_HOST` and `DBT_ACCESS_TOKEN` are set as Databricks sets them, so profiles
that read them render. dbt's output is the task's log; a command that fails fails the task
with dbt's message.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from typing import Any

from podium.runtime.context import TaskContext
from podium.spec.models import Task
from podium.tasks import dbsql

HTTP_PATH = "/sql/1.0/warehouses/podium"


class DbtTaskError(RuntimeError):
    """A dbt command failed or is not a dbt command."""


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Run each command in order; the first that fails fails the task."""
    spec = task.dbt_task
    project = Path(spec.project_directory or ctx.bundle_root)
    spark = ctx.start_spark()
    if spec.catalog:
        spark.sql(f"USE CATALOG `{spec.catalog}`")
    env = dict(ctx.env.values()) if ctx.env is not None else {}
    host = env.get("DATABRICKS_HOST", "127.0.0.1").split("://")[-1]  # a host, as Databricks'
    os.environ.setdefault("DBT_HOST", host)
    os.environ.setdefault("DBT_ACCESS_TOKEN", env.get("DATABRICKS_TOKEN", "local"))
    dbsql.install(ctx)
    _no_discovery_probe()
    from dbt.cli.main import dbtRunner

    with tempfile.TemporaryDirectory(prefix="podium-dbt-") as made:
        profiles = Path(spec.profiles_directory) if spec.profiles_directory else \
            _profiles(project, Path(made), spec.catalog, spec.schema_)
        for command in spec.commands:
            words = shlex.split(str(render(command)))
            if not words or words[0] != "dbt":
                raise DbtTaskError(f"'{command}' is not a dbt command; each of a dbt "
                                   "task's commands starts with `dbt`")
            print(f"[podium] {shlex.join(words)}", flush=True)
            args = [*words[1:], "--project-dir", str(project), "--profiles-dir",
                    str(profiles)]
            result = dbtRunner().invoke(args)
            if not result.success:
                raise DbtTaskError(f"`{shlex.join(words)}` failed: {_why(result)}")
    return None


def _no_discovery_probe() -> None:
    """dbt-databricks 1.11+ asks `https://<host>/.well-known/databricks-config` whether the
    workspace is a unified (SPOG) one, three times with backoff before it gives up (about
    two seconds a task). Its connections are the task's own session here, so the answer
    is the legacy host's, given at once."""
    try:
        from dbt.adapters.databricks.spog import probe
    except ImportError:  # an adapter from before the probe
        return
    probe.probe_host = lambda host: probe.HostMetadata(host_type=None)


def _profiles(project: Path, folder: Path, catalog: str | None, schema: str | None) -> Path:
    """A profiles.yml as Databricks makes one when the task names no profiles_directory:
    the project's profile, a Databricks target with the task's catalog and schema."""
    import yaml

    name = (yaml.safe_load((project / "dbt_project.yml").read_text()) or {}).get(
        "profile", "default")
    profile = {name: {"target": "databricks", "outputs": {"databricks": {
        "type": "databricks", "host": "{{ env_var('DBT_HOST') }}",
        "token": "{{ env_var('DBT_ACCESS_TOKEN') }}", "http_path": HTTP_PATH,
        "catalog": catalog or "hive_metastore", "schema": schema or "default",
        "threads": 1}}}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile))
    return folder


def _why(result: Any) -> str:
    """What dbt says went wrong: the failing nodes' messages, else its exception."""
    if result.exception is not None:
        return _headline(str(result.exception)) or type(result.exception).__name__
    failed = [r for r in getattr(result.result, "results", None) or []
              if str(getattr(r, "status", "")).lower() in ("error", "fail", "runtime error")]
    if failed:
        first = failed[0]
        node = getattr(getattr(first, "node", None), "name", "a node")
        said = _headline(first.message or "") or str(first.status)
        return f"{node}: {said}" + (
            f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")
    return "see the task's log"


def _headline(message: str) -> str:
    """dbt's message on one line: its kind ("Database Error in model x (path)") with what
    the database said, which dbt puts on the next line."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].split(" in ")[0].endswith("Error"):
        return f"{lines[0]}: {lines[1]}"
    return lines[0] if lines else ""
