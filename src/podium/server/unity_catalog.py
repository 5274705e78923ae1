"""The Unity Catalog API (`/api/2.1/unity-catalog/`): catalogs, schemas, tables and volumes
with Databricks' shapes, full names, paging and error codes, over the same folders tasks
use (`compute/unity_objects.py`): a schema made here is usable at once by a running job,
and a table a task writes is listed with its columns."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query

from podium.compute import unity_objects as uc
from podium.compute.errors import CatalogError
from podium.compute.unity import HIVE_METASTORE
from podium.server.bodies import Body
from podium.server.errors import invalid
from podium.server.paging import offset_of
from podium.server.workspace import user

router = APIRouter(prefix="/api/2.1/unity-catalog", dependencies=[Depends(user)])

METASTORE_ID = "00000000-0000-4000-8000-00000000a0d1"  # the workspace's one metastore
MAX_PAGE = 1000  # what a page holds when the client does not say (max_results 0)


class CreateCatalog(Body):
    name: str
    comment: str | None = None
    properties: dict[str, str] | None = None
    storage_root: str | None = None
    connection_name: str | None = None
    options: dict[str, str] | None = None
    provider_name: str | None = None
    share_name: str | None = None


class CreateSchema(Body):
    name: str
    catalog_name: str
    comment: str | None = None
    properties: dict[str, str] | None = None
    storage_root: str | None = None


class CreateVolume(Body):
    catalog_name: str
    schema_name: str
    name: str
    volume_type: str = "MANAGED"
    storage_location: str | None = None
    comment: str | None = None


class UpdateCatalogOrSchema(Body):
    comment: str | None = None
    properties: dict[str, str] | None = None
    owner: str | None = None
    enable_predictive_optimization: str | None = None
    isolation_mode: str | None = None


class UpdateVolume(Body):
    new_name: str | None = None
    comment: str | None = None
    owner: str | None = None


def _page(items: list[dict[str, Any]], key: str, max_results: int,
          page_token: str | None) -> dict[str, Any]:
    """One page of `items` under `key`, with the token of the next page if there is one."""
    if max_results < 0:
        raise invalid(f"max_results must be 0 or more, not {max_results}")
    start, size = offset_of(page_token), max_results or MAX_PAGE
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["next_page_token"] = str(start + size)
    return out


def _parts(full_name: str, count: int, kind: str) -> list[str]:
    parts = full_name.split(".")
    if len(parts) != count or not all(parts):
        example = ".".join(("catalog", "schema", "name")[:count])
        raise invalid(f"Invalid {kind} name '{full_name}': give its full name, {example}")
    return parts


def _catalog(name: str, who: str) -> dict[str, Any]:
    kind = {HIVE_METASTORE: "SYSTEM_CATALOG", "samples": "SYSTEM_CATALOG",
            "system": "SYSTEM_CATALOG"}.get(name, "MANAGED_CATALOG")
    created = uc.catalog_created(name)
    return {**uc.about(name), "name": name, "full_name": name, "owner": who,
            "catalog_type": kind,
            "metastore_id": METASTORE_ID, "created_at": created, "created_by": who,
            "updated_at": created, "updated_by": who, "isolation_mode": "OPEN",
            "securable_type": "CATALOG", "browse_only": False}


def _schema(catalog: str, name: str, who: str) -> dict[str, Any]:
    created = uc.schema_created(catalog, name)
    return {**uc.about(catalog, name), "name": name, "catalog_name": catalog,
            "full_name": f"{catalog}.{name}",
            "owner": who, "metastore_id": METASTORE_ID, "created_at": created,
            "created_by": who, "updated_at": created, "updated_by": who,
            "securable_type": "SCHEMA"}


def _table(table: uc.Table, who: str, omit_columns: bool = False,
           omit_properties: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": table.name, "catalog_name": table.catalog, "schema_name": table.schema,
        "full_name": f"{table.catalog}.{table.schema}.{table.name}",
        "table_type": table.table_type, "owner": who, "metastore_id": METASTORE_ID,
        "created_at": table.created_at, "created_by": who, "updated_at": table.updated_at,
        "updated_by": who, "table_id": table.table_id, "securable_type": "TABLE"}
    if table.data_source_format:
        out["data_source_format"] = table.data_source_format
    if table.storage_location:
        out["storage_location"] = table.storage_location
    if table.view_definition is not None:
        out["view_definition"] = table.view_definition
    if not omit_columns:
        out["columns"] = [{k: v for k, v in asdict(c).items() if v is not None}
                          for c in table.columns]
    if not omit_properties and table.properties:
        out["properties"] = table.properties
    return out


def _volume(volume: uc.Volume, who: str) -> dict[str, Any]:
    return {"catalog_name": volume.catalog, "schema_name": volume.schema,
            "name": volume.name, "full_name": volume.full_name,
            "volume_type": volume.volume_type, "storage_location": volume.storage_location,
            "volume_id": volume.volume_id, "owner": who, "metastore_id": METASTORE_ID,
            "created_at": volume.created_at, "created_by": who,
            "updated_at": volume.updated_at, "updated_by": who}


@router.get("/catalogs")
def list_catalogs(max_results: int = Query(0, le=2**31 - 1), page_token: str | None = None,
                  who: str = Depends(user)) -> dict[str, Any]:
    """Every catalog."""
    return _page([_catalog(c, who) for c in uc.catalogs()], "catalogs", max_results,
                 page_token)


@router.post("/catalogs")
def create_catalog(body: CreateCatalog, who: str = Depends(user)) -> dict[str, Any]:
    """A new catalog with its `default` schema."""
    uc.create_catalog(body.name, body.comment, body.properties)
    return _catalog(body.name, who)


@router.get("/catalogs/{name}")
def get_catalog(name: str, who: str = Depends(user)) -> dict[str, Any]:
    """One catalog."""
    uc.require_catalog(name)
    return _catalog(name, who)


@router.patch("/catalogs/{name}")
def update_catalog(name: str, body: UpdateCatalogOrSchema,
                   who: str = Depends(user)) -> dict[str, Any]:
    """Change a catalog's comment or properties."""
    uc.require_catalog(name)
    uc.describe(name, None, body.comment, body.properties)
    return _catalog(name, who)


@router.delete("/catalogs/{name}")
def delete_catalog(name: str, force: bool = False) -> dict[str, Any]:
    """Drop a catalog and its schemas (which must be empty unless `force`)."""
    uc.delete_catalog(name, force)
    return {}


@router.get("/schemas")
def list_schemas(catalog_name: str, max_results: int = Query(0, le=2**31 - 1),
                 page_token: str | None = None, who: str = Depends(user)) -> dict[str, Any]:
    """The schemas of a catalog."""
    return _page([_schema(catalog_name, s, who) for s in uc.schemas(catalog_name)],
                 "schemas", max_results, page_token)


@router.post("/schemas")
def create_schema(body: CreateSchema, who: str = Depends(user)) -> dict[str, Any]:
    """A new schema: its folder in the warehouse, which running jobs find at once."""
    uc.create_schema(body.catalog_name, body.name, body.comment, body.properties)
    return _schema(body.catalog_name, body.name, who)


@router.get("/schemas/{full_name}")
def get_schema(full_name: str, who: str = Depends(user)) -> dict[str, Any]:
    """One schema by `catalog.schema`."""
    catalog, schema = _parts(full_name, 2, "schema")
    uc.require_schema(catalog, schema)
    return _schema(catalog, schema, who)


@router.patch("/schemas/{full_name}")
def update_schema(full_name: str, body: UpdateCatalogOrSchema,
                  who: str = Depends(user)) -> dict[str, Any]:
    """Change a schema's comment or properties."""
    catalog, schema = _parts(full_name, 2, "schema")
    uc.require_schema(catalog, schema)
    uc.describe(catalog, schema, body.comment, body.properties)
    return _schema(catalog, schema, who)


@router.delete("/schemas/{full_name}")
def delete_schema(full_name: str, force: bool = False) -> dict[str, Any]:
    """Drop a schema (with its tables and volumes only when `force`)."""
    catalog, schema = _parts(full_name, 2, "schema")
    uc.delete_schema(catalog, schema, force)
    return {}


@router.get("/tables")
def list_tables(catalog_name: str, schema_name: str,
                max_results: int = Query(0, le=2**31 - 1), page_token: str | None = None,
                omit_columns: bool = False, omit_properties: bool = False,
                who: str = Depends(user)) -> dict[str, Any]:
    """The tables and views of a schema, with their columns unless `omit_columns`."""
    found = uc.tables(catalog_name, schema_name, with_columns=not omit_columns)
    return _page([_table(t, who, omit_columns, omit_properties) for t in found], "tables",
                 max_results, page_token)


@router.get("/tables/{full_name}/exists")
def table_exists(full_name: str) -> dict[str, bool]:
    """Whether `catalog.schema.table` is there (its schema must be)."""
    catalog, schema, name = _parts(full_name, 3, "table")
    try:
        uc.table(catalog, schema, name, with_columns=False)
    except CatalogError as exc:
        if exc.code != "TABLE_DOES_NOT_EXIST":
            raise
        return {"table_exists": False}
    return {"table_exists": True}


@router.get("/tables/{full_name}")
def get_table(full_name: str, who: str = Depends(user)) -> dict[str, Any]:
    """One table or view by `catalog.schema.table`, with its columns."""
    catalog, schema, name = _parts(full_name, 3, "table")
    return _table(uc.table(catalog, schema, name), who)


@router.delete("/tables/{full_name}")
def delete_table(full_name: str) -> dict[str, Any]:
    """Drop a table (its files) or a view."""
    catalog, schema, name = _parts(full_name, 3, "table")
    uc.delete_table(catalog, schema, name)
    return {}


@router.get("/volumes")
def list_volumes(catalog_name: str, schema_name: str,
                 max_results: int = Query(0, le=2**31 - 1), page_token: str | None = None,
                 who: str = Depends(user)) -> dict[str, Any]:
    """The volumes of a schema."""
    return _page([_volume(v, who) for v in uc.volumes(catalog_name, schema_name)],
                 "volumes", max_results, page_token)


@router.post("/volumes")
def create_volume(body: CreateVolume, who: str = Depends(user)) -> dict[str, Any]:
    """A new volume: `/Volumes/<catalog>/<schema>/<name>` for tasks and the Files API."""
    if body.volume_type not in ("MANAGED", "EXTERNAL"):
        raise invalid(f"Invalid volume_type '{body.volume_type}'; use MANAGED or EXTERNAL")
    made = uc.create_volume(body.catalog_name, body.schema_name, body.name, body.volume_type,
                            body.storage_location)
    return _volume(made, who)


@router.get("/volumes/{name}")
def read_volume(name: str, who: str = Depends(user)) -> dict[str, Any]:
    """One volume by `catalog.schema.volume`."""
    return _volume(uc.volume(*_parts(name, 3, "volume")), who)


@router.patch("/volumes/{name}")
def update_volume(name: str, body: UpdateVolume, who: str = Depends(user)) -> dict[str, Any]:
    """Rename a volume (`new_name`); its files move with it."""
    catalog, schema, volume = _parts(name, 3, "volume")
    if body.new_name and body.new_name != volume:
        return _volume(uc.rename_volume(catalog, schema, volume, body.new_name), who)
    return _volume(uc.volume(catalog, schema, volume), who)


@router.delete("/volumes/{name}")
def delete_volume(name: str) -> dict[str, Any]:
    """Drop a volume: a managed one's files go, an external one's stay."""
    uc.delete_volume(*_parts(name, 3, "volume"))
    return {}
