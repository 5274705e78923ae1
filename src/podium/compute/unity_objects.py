"""Unity Catalog's objects as the workspace's folders hold them, read and changed without
Spark, so the Unity Catalog API answers with exactly what tasks see (`unity.py` says
where each lives): catalogs and schemas are the warehouse's `c__s.db` folders
(`hive_metastore`'s are `s.db`, `samples`' the sample tables' folders), tables their table
folders and `<name>.view.json` files, columns read from a Delta table's log or a Parquet
table's files, volumes the folders under `/Volumes` (an external one a link to its
location). A schema or volume made here is a folder every running application finds at
its next statement, as one made by SQL or a bundle is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from podium import defaults, samples
from podium.compute import unity
from podium.compute.catalog import (
    DEFAULT_DB,
    data_format,
    database_folders,
    partition_columns,
    scan,
)
from podium.compute.errors import CatalogError
from podium.files import write_whole
from podium.spec.models import name_problem

INFORMATION_SCHEMA = "information_schema"
READ_ONLY = ("samples", "system")
VIEW_SUFFIX = ".view.json"  # jvm/LocalViews.java's files
# Spark's JSON type names and Unity Catalog's `type_name` for them
TYPE_NAMES = {"boolean": "BOOLEAN", "byte": "BYTE", "short": "SHORT", "integer": "INT",
              "long": "LONG", "float": "FLOAT", "double": "DOUBLE", "date": "DATE",
              "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP_NTZ", "string": "STRING",
              "binary": "BINARY", "variant": "VARIANT", "void": "NULL"}
SQL_NAMES = {"byte": "tinyint", "short": "smallint", "integer": "int", "long": "bigint",
             "void": "void"}


@dataclass(frozen=True)
class Column:
    """One column of a table, as Unity Catalog describes it."""

    name: str
    type_text: str  # Spark SQL's name: bigint, array<string>, decimal(10,2)
    type_name: str  # Unity Catalog's: LONG, ARRAY, DECIMAL
    type_json: str
    position: int
    nullable: bool
    partition_index: int | None = None


@dataclass(frozen=True)
class Table:
    """A table or view of a schema."""

    catalog: str
    schema: str
    name: str
    table_type: str  # MANAGED, EXTERNAL or VIEW
    data_source_format: str | None
    storage_location: str | None
    columns: list[Column]
    created_at: int  # ms
    updated_at: int
    table_id: str
    properties: dict[str, str] = field(default_factory=dict)
    view_definition: str | None = None


@dataclass(frozen=True)
class Volume:
    """A volume: a folder under `/Volumes/<catalog>/<schema>/`."""

    catalog: str
    schema: str
    name: str
    volume_type: str  # MANAGED or EXTERNAL
    storage_location: str
    created_at: int
    updated_at: int

    @property
    def volume_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"podium-volume:{self.full_name}"))

    @property
    def full_name(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.name}"


def check_name(kind: str, name: str, catalog: str | None = None) -> None:
    """INVALID_PARAMETER_VALUE unless `name` (of a schema: in `catalog`) is a name podium
    can keep as a folder."""
    problem = name_problem(name, kind, catalog)
    if problem is not None:
        raise CatalogError("INVALID_PARAMETER_VALUE", f"Invalid {kind} name: {problem}")


def _ms(path: Path) -> int:
    try:
        return int(path.lstat().st_mtime * 1000)
    except OSError:
        return 0


def _warehouse() -> Path:
    return defaults.warehouse_dir()


def _schema_folders() -> dict[tuple[str, str], Path]:
    """Every schema with a folder in the warehouse, by (catalog, schema)."""
    found: dict[tuple[str, str], Path] = {}
    for database, folder in database_folders(_warehouse()).items():
        catalog, sep, schema = database.partition(unity.SEPARATOR)
        found[(catalog, schema) if sep else (unity.HIVE_METASTORE, database)] = folder
    return found


def _sample_schemas() -> dict[str, Path]:
    if not samples.ready():
        return {}
    return {p.name: p for p in samples.location().iterdir()
            if p.is_dir() and not p.name.startswith(".")
            and p.name != defaults.datasets_dir().name}


def catalogs() -> list[str]:
    """Every catalog: the standard ones, `hive_metastore` and each with a schema folder."""
    made = {catalog for catalog, _ in _schema_folders()}
    return sorted({*unity.STANDARD, unity.HIVE_METASTORE, *made})


def catalog_created(name: str) -> int:
    """When a catalog was made (ms): its oldest schema folder's time; 0 for built-in ones."""
    times = [_ms(p) for (c, _), p in _schema_folders().items() if c == name]
    return min(times) if times and name not in unity.STANDARD else 0


def require_catalog(name: str) -> None:
    """CATALOG_DOES_NOT_EXIST unless catalog `name` exists."""
    if name not in catalogs():
        raise CatalogError("CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")


def create_catalog(name: str, comment: str | None = None,
                   properties: dict[str, str] | None = None) -> None:
    """Make catalog `name` with its `default` schema, as `CREATE CATALOG` does."""
    check_name("catalog", name)
    if name in catalogs() or name == "spark_catalog":
        raise CatalogError("CATALOG_ALREADY_EXISTS", f"Catalog '{name}' already exists")
    (_warehouse() / f"{unity.database(name, DEFAULT_DB)}.db").mkdir(parents=True)
    describe(name, None, comment, properties)


def _about_file(catalog: str, schema: str | None) -> Path | None:
    """Where a catalog's (in its `default` schema's folder) or a schema's comment and
    properties are kept; None for objects without a folder of their own."""
    if catalog in READ_ONLY or (catalog == unity.HIVE_METASTORE
                                and schema in (None, DEFAULT_DB)):
        return None  # read-only, or the warehouse folder itself
    folder = _warehouse() / f"{unity.database(catalog, schema or DEFAULT_DB)}.db"
    return folder / (".podium-catalog.json" if schema is None else ".podium-schema.json")


def about(catalog: str, schema: str | None = None) -> dict[str, Any]:
    """A catalog's or schema's `comment` and `properties` (empty when none were given)."""
    file = _about_file(catalog, schema)
    try:
        return json.loads(file.read_text(encoding="utf-8")) if file is not None else {}
    except (OSError, ValueError):
        return {}


def describe(catalog: str, schema: str | None, comment: str | None,
             properties: dict[str, str] | None) -> None:
    """Keep a catalog's or schema's comment and properties (given ones replace kept ones;
    a file beside its tables, which scans leave out)."""
    if comment is None and properties is None:
        return
    file = _about_file(catalog, schema)
    if file is None:
        name = catalog if schema is None else f"{catalog}.{schema}"
        raise CatalogError("PERMISSION_DENIED", f"'{name}' is built in; it keeps no comment "
                           "or properties")
    file.parent.mkdir(parents=True, exist_ok=True)
    kept = about(catalog, schema)
    if comment is not None:
        kept["comment"] = comment
    if properties is not None:
        kept["properties"] = {str(k): str(v) for k, v in properties.items()}
    write_whole(file, json.dumps(kept).encode())


def delete_catalog(name: str, force: bool) -> None:
    """Drop catalog `name`: its schemas' folders, which must be empty unless `force`."""
    require_catalog(name)
    if name in (*unity.STANDARD, unity.HIVE_METASTORE):
        raise CatalogError("PERMISSION_DENIED", f"Catalog '{name}' is built in and cannot be "
                           "deleted")
    for schema in schemas(name):
        if schema != INFORMATION_SCHEMA:
            delete_schema(name, schema, force, last=True)
    with contextlib.suppress(OSError):  # its (now empty) folder under /Volumes
        (unity.volumes_root() / name).rmdir()


def schemas(catalog: str) -> list[str]:
    """The schemas of `catalog`, `default` and `information_schema` among them."""
    require_catalog(catalog)
    if catalog == "samples":
        return sorted({*_sample_schemas(), DEFAULT_DB, INFORMATION_SCHEMA})
    found = {s for c, s in _schema_folders() if c == catalog} | {DEFAULT_DB}
    if catalog != unity.HIVE_METASTORE:
        found.add(INFORMATION_SCHEMA)
    return sorted(found)


def schema_folder(catalog: str, schema: str) -> Path | None:
    """The folder of a schema's tables (None for one without any, as `information_schema`)."""
    if catalog == "samples":
        return _sample_schemas().get(schema)
    if catalog == unity.HIVE_METASTORE and schema == DEFAULT_DB:
        return _warehouse()
    return _schema_folders().get((catalog, schema))


def require_schema(catalog: str, schema: str) -> None:
    """SCHEMA_DOES_NOT_EXIST (or CATALOG_DOES_NOT_EXIST) unless the schema exists."""
    if schema not in schemas(catalog):
        raise CatalogError("SCHEMA_DOES_NOT_EXIST", f"Schema '{catalog}.{schema}' does not "
                           "exist.")


def schema_created(catalog: str, schema: str) -> int:
    """When a schema was made (ms); 0 when it has no folder of its own."""
    folder = schema_folder(catalog, schema)
    return _ms(folder) if folder is not None and folder != _warehouse() else 0


def _writable(catalog: str) -> None:
    if catalog in READ_ONLY:
        raise CatalogError("PERMISSION_DENIED", f"Catalog '{catalog}' is read-only")


def create_schema(catalog: str, name: str, comment: str | None = None,
                  properties: dict[str, str] | None = None) -> None:
    """Make schema `name` of `catalog`: its folder in the warehouse."""
    require_catalog(catalog)
    _writable(catalog)
    check_name("schema", name, catalog)
    if name in schemas(catalog):
        raise CatalogError("SCHEMA_ALREADY_EXISTS", f"Schema '{catalog}.{name}' already "
                           "exists")
    (_warehouse() / f"{unity.database(catalog, name)}.db").mkdir(parents=True)
    describe(catalog, name, comment, properties)


def delete_schema(catalog: str, name: str, force: bool, last: bool = False) -> None:
    """Drop schema `name`; SCHEMA_NOT_EMPTY when it has tables or volumes, unless `force`.
    `default` goes only with its catalog (`last`)."""
    require_schema(catalog, name)
    _writable(catalog)
    if name == INFORMATION_SCHEMA or (name == DEFAULT_DB and not last):
        raise CatalogError("PERMISSION_DENIED", f"Schema '{catalog}.{name}' cannot be "
                           "deleted")
    folder = schema_folder(catalog, name)
    held = volumes(catalog, name)
    if not force and (held or tables(catalog, name, with_columns=False)):
        raise CatalogError("SCHEMA_NOT_EMPTY", f"Schema '{catalog}.{name}' is not empty; "
                           "delete its tables and volumes or pass force=true")
    for volume in held:
        delete_volume(catalog, name, volume.name)
    with contextlib.suppress(OSError):
        (unity.volumes_root() / catalog / name).rmdir()
    if folder is not None and folder != _warehouse():
        shutil.rmtree(folder, ignore_errors=True)


def tables(catalog: str, schema: str, with_columns: bool = True) -> list[Table]:
    """The tables and views of a schema, by name."""
    require_schema(catalog, schema)
    folder = schema_folder(catalog, schema)
    if folder is None:
        return []
    found = []
    for name in sorted(_table_names(catalog, schema, folder)):
        with contextlib.suppress(CatalogError):  # dropped while we looked
            found.append(_table_in(folder, catalog, schema, name, with_columns))
    return found


def _table_names(catalog: str, schema: str, folder: Path) -> set[str]:
    if catalog == "samples":
        names = {p.name for p in folder.iterdir() if p.is_dir()}
    elif catalog == unity.HIVE_METASTORE and schema == DEFAULT_DB:
        names = {name for db, name in scan(folder)[1] if db == DEFAULT_DB}
    else:
        names = {p.name for p in folder.iterdir()
                 if p.is_dir() and not p.name.startswith((".", "_"))}
    with contextlib.suppress(OSError):
        names |= {p.name.removesuffix(VIEW_SUFFIX) for p in folder.iterdir()
                  if p.name.endswith(VIEW_SUFFIX)}
    return names


def table(catalog: str, schema: str, name: str, with_columns: bool = True) -> Table:
    """Table or view `catalog.schema.name`; TABLE_DOES_NOT_EXIST when it is not there or
    is still being written."""
    require_schema(catalog, schema)
    folder = schema_folder(catalog, schema)
    if folder is None:
        raise CatalogError("TABLE_DOES_NOT_EXIST",
                           f"Table '{catalog}.{schema}.{name}' does not exist.")
    return _table_in(folder, catalog, schema, name, with_columns)


def _table_in(folder: Path, catalog: str, schema: str, name: str,
              with_columns: bool) -> Table:
    """Table or view `name` of the schema whose folder is `folder`."""
    missing = CatalogError("TABLE_DOES_NOT_EXIST",
                           f"Table '{catalog}.{schema}.{name}' does not exist.")
    view = folder / f"{name}{VIEW_SUFFIX}"
    if view.is_file():
        return _view(catalog, schema, name, view)
    path = folder / name
    fmt = data_format(path) if path.is_dir() else None
    if fmt is None:
        raise missing
    meta = _delta_metadata(path) if fmt == "delta" else {}
    columns = _columns(path, fmt, meta) if with_columns else []
    properties = {k: str(v) for k, v in (meta.get("configuration") or {}).items()}
    table_id = meta.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"podium-table:{path}"))
    created = _ms(path / "_delta_log" / f"{0:020d}.json") if fmt == "delta" else _ms(path)
    return Table(catalog, schema, name, "MANAGED", fmt.upper(), path.resolve().as_uri(),
                 columns, created or _ms(path), _ms(path), table_id, properties)


def _view(catalog: str, schema: str, name: str, file: Path) -> Table:
    kept = json.loads(file.read_text(encoding="utf-8"))
    struct = json.loads(kept.get("schema") or '{"fields": []}')
    columns = [_column(f, i) for i, f in enumerate(struct.get("fields", []))]
    return Table(catalog, schema, name, "VIEW", None, None, columns, _ms(file), _ms(file),
                 str(uuid.uuid5(uuid.NAMESPACE_URL, f"podium-view:{file}")),
                 {str(k): str(v) for k, v in (kept.get("properties") or {}).items()},
                 kept.get("query"))


def delete_table(catalog: str, schema: str, name: str) -> None:
    """Drop a table (its folder) or view (its file)."""
    _writable(catalog)
    found = table(catalog, schema, name, with_columns=False)
    folder = schema_folder(catalog, schema)
    assert folder is not None
    if found.table_type == "VIEW":
        (folder / f"{name}{VIEW_SUFFIX}").unlink(missing_ok=True)
    else:
        shutil.rmtree(folder / name, ignore_errors=True)


def _delta_metadata(path: Path) -> dict[str, Any]:
    """The table's latest `metaData` action: from the newest commit that has one, else
    from the last checkpoint."""
    log = path / "_delta_log"
    commits = sorted(p for p in log.glob("*.json") if p.stem.isdigit())
    for commit in reversed(commits):
        with contextlib.suppress(OSError, ValueError):
            for line in commit.read_text(encoding="utf-8").splitlines():
                action = json.loads(line) if line.strip() else {}
                if "metaData" in action:
                    return action["metaData"]
    for checkpoint in sorted(log.glob("*.checkpoint*.parquet"), reverse=True):
        import pyarrow.parquet as pq  # only for tables whose first commits were cleaned up

        rows = pq.read_table(checkpoint, columns=["metaData"]).column("metaData").to_pylist()
        for row in rows:
            if row:
                return row
    return {}


def _columns(path: Path, fmt: str, meta: dict[str, Any]) -> list[Column]:
    """The table's columns, partition columns marked, in the table's order (a Delta
    table's from its `metaData` action)."""
    if fmt == "delta":
        fields = json.loads(meta.get("schemaString") or '{"fields": []}').get("fields", [])
        partitions = list(meta.get("partitionColumns") or [])
    else:
        fields, partitions = _file_fields(path, fmt), partition_columns(path)
    return [_column(f, i, partitions.index(f["name"]) if f["name"] in partitions else None)
            for i, f in enumerate(fields)]


def _file_fields(path: Path, fmt: str) -> list[dict[str, Any]]:
    """Spark-JSON fields of a Parquet or ORC table from its files (partition columns last,
    as Spark reads them); none for other formats."""
    if fmt not in ("parquet", "orc"):
        return []
    import pyarrow.dataset as ds

    schema = ds.dataset(path, format=fmt, partitioning="hive",
                        exclude_invalid_files=True,
                        ignore_prefixes=[".", "_"]).schema
    return [{"name": f.name, "type": _spark_type(f.type), "nullable": f.nullable,
             "metadata": {}} for f in schema]


def _spark_type(arrow: Any) -> Any:
    """Spark's JSON type for an Arrow type."""
    import pyarrow as pa

    simple = [(pa.types.is_boolean, "boolean"), (pa.types.is_int8, "byte"),
              (pa.types.is_int16, "short"), (pa.types.is_int32, "integer"),
              (pa.types.is_int64, "long"), (pa.types.is_float32, "float"),
              (pa.types.is_floating, "double"), (pa.types.is_date, "date"),
              (pa.types.is_binary, "binary"), (pa.types.is_large_binary, "binary")]
    for check, name in simple:
        if check(arrow):
            return name
    if pa.types.is_timestamp(arrow):
        return "timestamp" if arrow.tz else "timestamp_ntz"
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return {"type": "array", "elementType": _spark_type(arrow.value_type),
                "containsNull": True}
    if pa.types.is_map(arrow):
        return {"type": "map", "keyType": _spark_type(arrow.key_type),
                "valueType": _spark_type(arrow.item_type), "valueContainsNull": True}
    if pa.types.is_struct(arrow):
        return {"type": "struct", "fields": [
            {"name": f.name, "type": _spark_type(f.type), "nullable": f.nullable,
             "metadata": {}} for f in arrow]}
    return "string"


def _column(spark_field: dict[str, Any], position: int,
            partition_index: int | None = None) -> Column:
    kind = spark_field.get("type", "string")
    return Column(spark_field["name"], type_text(kind), type_name(kind),
                  json.dumps(spark_field, separators=(",", ":")), position,
                  bool(spark_field.get("nullable", True)), partition_index)


def type_text(kind: Any) -> str:
    """Spark SQL's name of a Spark JSON type: `bigint`, `array<string>`,
    `struct<a:int,b:string>`."""
    if isinstance(kind, str):
        return SQL_NAMES.get(kind, kind)
    if kind["type"] == "array":
        return f"array<{type_text(kind['elementType'])}>"
    if kind["type"] == "map":
        return f"map<{type_text(kind['keyType'])},{type_text(kind['valueType'])}>"
    if kind["type"] == "struct":
        inner = ",".join(f"{f['name']}:{type_text(f['type'])}" for f in kind["fields"])
        return f"struct<{inner}>"
    return str(kind["type"])


def type_name(kind: Any) -> str:
    """Unity Catalog's `type_name` of a Spark JSON type (LONG, DECIMAL, ARRAY, ...)."""
    if isinstance(kind, dict):
        return {"array": "ARRAY", "map": "MAP", "struct": "STRUCT"}.get(kind["type"],
                                                                         "USER_DEFINED_TYPE")
    for prefix, name in (("decimal", "DECIMAL"), ("char", "CHAR"), ("varchar", "STRING"),
                         ("interval", "INTERVAL")):
        if kind.startswith(prefix):
            return name
    return TYPE_NAMES.get(kind, kind.upper())


def volumes(catalog: str, schema: str) -> list[Volume]:
    """The volumes of a schema, by name."""
    require_schema(catalog, schema)
    folder = unity.volumes_root() / catalog / schema
    try:
        names = sorted(p.name for p in folder.iterdir()
                       if (p.is_dir() or p.is_symlink()) and not p.name.startswith("."))
    except OSError:
        return []
    return [volume(catalog, schema, name) for name in names]


def volume(catalog: str, schema: str, name: str) -> Volume:
    """Volume `catalog.schema.name`; VOLUME_DOES_NOT_EXIST when it is not there."""
    require_schema(catalog, schema)
    path = unity.volume_path(catalog, schema, name)
    if path.is_symlink():
        target = Path(os.readlink(path))
        return Volume(catalog, schema, name, "EXTERNAL", target.as_uri(), _ms(path),
                      _ms(path))
    if not path.is_dir():
        raise CatalogError("VOLUME_DOES_NOT_EXIST", f"Volume '{catalog}.{schema}.{name}' "
                           "does not exist.")
    return Volume(catalog, schema, name, "MANAGED", path.resolve().as_uri(), _ms(path),
                  _ms(path))


def create_volume(catalog: str, schema: str, name: str, volume_type: str,
                  storage_location: str | None) -> Volume:
    """Make a volume: a folder, or for an EXTERNAL one a link to its (local) location."""
    require_schema(catalog, schema)
    _writable(catalog)
    if catalog == unity.HIVE_METASTORE:
        raise CatalogError("INVALID_PARAMETER_VALUE", "hive_metastore has no volumes; use a "
                           "Unity Catalog catalog such as main")
    check_name("volume", name)
    path = unity.volume_path(catalog, schema, name)
    if path.exists() or path.is_symlink():
        raise CatalogError("VOLUME_ALREADY_EXISTS", f"Volume '{catalog}.{schema}.{name}' "
                           "already exists")
    external = volume_type == "EXTERNAL"
    if external != bool(storage_location):
        raise CatalogError("INVALID_PARAMETER_VALUE", "an EXTERNAL volume needs a "
                           "storage_location" if external else "storage_location is for "
                           "an EXTERNAL volume")
    path.parent.mkdir(parents=True, exist_ok=True)
    if external:
        assert storage_location is not None
        location = urlparse(storage_location)
        target = Path(unquote(location.path) if location.scheme == "file" else storage_location)
        if not target.is_absolute():
            raise CatalogError("INVALID_PARAMETER_VALUE", f"storage_location "
                               f"'{storage_location}' is a local folder here (file:/... or "
                               "/...)")
        target.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target, target_is_directory=True)
    else:
        path.mkdir()
    return volume(catalog, schema, name)


def rename_volume(catalog: str, schema: str, name: str, new_name: str) -> Volume:
    """Rename a volume in its schema (its files move with it)."""
    _writable(catalog)
    volume(catalog, schema, name)
    check_name("volume", new_name)
    target = unity.volume_path(catalog, schema, new_name)
    if target.exists() or target.is_symlink():
        raise CatalogError("VOLUME_ALREADY_EXISTS", f"Volume '{catalog}.{schema}.{new_name}'"
                           " already exists")
    unity.volume_path(catalog, schema, name).rename(target)
    return volume(catalog, schema, new_name)


def delete_volume(catalog: str, schema: str, name: str) -> None:
    """Drop a volume: a managed one's files go, an external one's stay where they are."""
    _writable(catalog)
    volume(catalog, schema, name)
    path = unity.volume_path(catalog, schema, name)
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path)

