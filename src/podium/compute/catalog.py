"""Tables that outlive applications: the workspace's warehouse folder is the catalog.

Every Spark application podium uses (the embedded driver, each Connect server, each shared
cluster) keeps Spark's in-memory catalog with `spark.sql.warehouse.dir` under
`PODIUM_HOME`. Before a task gets its session, `WarehouseCatalog.sync` registers what other
applications and processes wrote there: `<name>.db` folders become databases, table
folders with data become tables (schema and partition columns read from the files),
changed folders are refreshed and vanished ones dropped. Nothing runs in the background,
no metastore database is shared and no file is moved, so any number of processes and JVMs
can read and write one workspace at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = {".parquet": "parquet", ".orc": "orc", ".json": "json"}
DEFAULT_DB = "default"


@dataclass(frozen=True)
class TableDir:
    """A table folder in the warehouse as found on disk."""

    database: str
    name: str
    path: Path
    stamp: int  # modification time (ns) of the folder: changes when files come or go

    @property
    def qualified(self) -> str:
        return f"`{self.database}`.`{self.name}`"


def scan(warehouse: Path) -> tuple[set[str], dict[tuple[str, str], TableDir]]:
    """Databases and table folders under the warehouse: `<db>.db/<table>` and, for the
    default database, `<table>` at the top."""
    databases: set[str] = set()
    tables: dict[tuple[str, str], TableDir] = {}
    for top in _folders(warehouse):
        if top.name.endswith(".db"):
            database = top.name[:-3]
            databases.add(database)
            for entry in _folders(Path(top.path)):
                with contextlib.suppress(OSError):  # dropped while we look
                    tables[database, entry.name] = TableDir(
                        database, entry.name, Path(entry.path), entry.stat().st_mtime_ns)
        else:
            with contextlib.suppress(OSError):
                tables[DEFAULT_DB, top.name] = TableDir(DEFAULT_DB, top.name, Path(top.path),
                                                        top.stat().st_mtime_ns)
    return databases, tables


def database_folders(warehouse: Path) -> dict[str, Path]:
    """The warehouse's database folders (`<db>.db`) by database name, without looking at
    their tables."""
    return {top.name[:-3]: Path(top.path) for top in _folders(warehouse)
            if top.name.endswith(".db")}


def _folders(path: Path) -> list[os.DirEntry[str]]:
    """Visible sub-folders; none when the folder went away (another process dropped it)."""
    try:
        with os.scandir(path) as entries:
            return [e for e in entries
                    if not e.name.startswith((".", "_")) and e.is_dir()]
    except OSError:
        return []


def partition_columns(path: Path) -> list[str]:
    """Partition columns from the folder names (`a=1/b=2/...`), outermost first."""
    columns: list[str] = []
    here = path
    while True:
        parts = sorted(e for e in os.listdir(here) if "=" in e and (here / e).is_dir())
        if not parts:
            return columns
        columns.append(parts[0].split("=", 1)[0])
        here = here / parts[0]


def data_format(path: Path) -> str | None:
    """The format of a complete table folder: `delta` when it has a Delta log with a
    commit, else (once Spark's committer marked it `_SUCCESS`) its data files' format; None
    while it is being written — a Delta table's data files come before its first commit —
    or when it holds no data files, so its schema cannot be read."""
    with contextlib.suppress(OSError):
        if any(name.endswith(".json") for name in os.listdir(path / "_delta_log")):
            return "delta"
    if not (path / "_SUCCESS").exists():
        return None
    for _root, dirs, files in os.walk(path):
        if "_temporary" in dirs:
            return None
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if name.startswith((".", "_")):
                continue
            for suffix, fmt in FORMATS.items():
                if suffix in name:
                    return fmt
    return None


# Every Delta commit of an application carries its writer tag (Delta's commit user
# metadata), so the application's sync can leave the Delta tables it creates itself to its
# own catalog: registering one between Delta's first commit and the writer's catalog entry
# would fail the writer's `saveAsTable` with TABLE_OR_VIEW_ALREADY_EXISTS.
WRITER_CONF = "spark.databricks.delta.commitInfo.userMetadata"


def new_writer_tag() -> str:
    """A tag naming one application's Delta commits."""
    return f"podium-app-{uuid.uuid4().hex}"


def first_writer(path: Path) -> str | None:
    """The writer tag of a Delta table's first commit, if it has one."""
    try:
        with (path / "_delta_log" / f"{0:020d}.json").open(encoding="utf-8") as log:
            for line in log:
                info = json.loads(line).get("commitInfo")
                if info is not None:
                    return info.get("userMetadata")
    except (OSError, ValueError):
        return None
    return None


@dataclass
class WarehouseCatalog:
    """Keeps one application's catalog in step with the warehouse folder."""

    warehouse: Path
    writer: str = field(default_factory=new_writer_tag)  # this application's Delta commits
    seen: dict[tuple[str, str], TableDir] = field(default_factory=dict)
    databases: set[str] = field(default_factory=set)
    # Turns a registered table into a managed one (DROP deletes its files, `saveAsTable`
    # may overwrite it); only a driver in this process can, so Connect tables stay external.
    make_managed: Callable[[str, str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sync(self, spark: Any) -> None:
        """Register new databases and tables, refresh changed ones, drop vanished ones.
        Costs one folder listing when nothing changed."""
        with self._lock:
            databases, tables = scan(self.warehouse)
            for database in sorted(databases - self.databases):
                spark.sql(f"CREATE DATABASE IF NOT EXISTS spark_catalog.`{database}`")
            self.databases |= databases
            for key, table in tables.items():
                before = self.seen.get(key)
                if before is None:
                    if self._register(spark, table):
                        self.seen[key] = table
                elif before.stamp != table.stamp:
                    self._refresh(spark, table)
                    self.seen[key] = table
            for key in set(self.seen) - set(tables):
                with contextlib.suppress(Exception):  # dropped by this application already
                    spark.sql(f"DROP TABLE IF EXISTS {self.seen[key].qualified}")
                del self.seen[key]

    def _register(self, spark: Any, table: TableDir) -> bool:
        """Make a folder written elsewhere a table here (True once it is known)."""
        if spark.catalog.tableExists(f"{table.database}.{table.name}"):
            return True
        fmt = data_format(table.path)
        if fmt is None or (fmt == "delta" and first_writer(table.path) == self.writer):
            return False  # being written, or created here: the writer registers it
        try:
            spark.sql(f"CREATE TABLE IF NOT EXISTS {table.qualified} USING {fmt} "
                      f"LOCATION '{table.path.as_posix()}'")
            if self.make_managed is not None:
                self.make_managed(table.database, table.name)
            if partition_columns(table.path):
                spark.sql(f"ALTER TABLE {table.qualified} RECOVER PARTITIONS")
        except Exception:  # rewritten right now, or not a table: try again next time
            return False
        return True

    @staticmethod
    def _refresh(spark: Any, table: TableDir) -> None:
        with contextlib.suppress(Exception):  # being rewritten: the next sync refreshes it
            if partition_columns(table.path):
                spark.sql(f"ALTER TABLE {table.qualified} RECOVER PARTITIONS")
            spark.sql(f"REFRESH TABLE {table.qualified}")
