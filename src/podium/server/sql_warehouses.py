"""The SQL Warehouses API (`/api/2.0/sql/warehouses`): a warehouse is one of podium's
shared clusters (a Spark Connect server in the clusters registry, as an all-purpose
cluster is) that runs Spark SQL for the Statement Execution API. It starts when created or
started and when a statement needs it, and stops after `auto_stop_mins` without work."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request

from podium.engine import shared_clusters
from podium.server import bodies
from podium.server.errors import ApiError, invalid
from podium.server.workspace import user, workspace
from podium.spec.models import ClusterSpec
from podium.store import clusters as registry

router = APIRouter(prefix="/api/2.0/sql/warehouses", dependencies=[Depends(user)])

MARK = registry.WAREHOUSE  # kept with a warehouse's cluster spec: its own settings
DEFAULT_AUTO_STOP = 120  # minutes, as Databricks
STATES = {"PENDING": "STARTING", "RUNNING": "RUNNING", "TERMINATING": "STOPPING",
          "TERMINATED": "STOPPED", "ERROR": "STOPPED"}


class WarehouseSettings(bodies.Body):
    name: str | None = None
    cluster_size: str | None = None
    auto_stop_mins: int | None = None
    min_num_clusters: int | None = None
    max_num_clusters: int | None = None
    enable_photon: bool | None = None
    enable_serverless_compute: bool | None = None
    warehouse_type: str | None = None
    spot_instance_policy: str | None = None
    channel: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    creator_name: str | None = None
    instance_profile_arn: str | None = None


def _cluster_spec(settings: dict[str, Any]) -> ClusterSpec:
    minutes = settings.get("auto_stop_mins", DEFAULT_AUTO_STOP)
    return ClusterSpec(cluster_name=settings["name"], autotermination_minutes=minutes,
                       spark_conf={"spark.master": "local[*]"})


def _checked(body: WarehouseSettings, before: dict[str, Any] | None = None) -> dict[str, Any]:
    settings = {**(before or {}), **body.model_dump(exclude_none=True)}
    if not settings.get("name"):
        raise invalid("Missing required field: name")
    minutes = settings.setdefault("auto_stop_mins", DEFAULT_AUTO_STOP)
    if minutes != 0 and not 10 <= minutes <= 10**6:
        raise invalid(f"auto_stop_mins must be 0 (never) or at least 10, not {minutes}")
    settings.setdefault("cluster_size", "2X-Small")
    settings.setdefault("warehouse_type", "PRO")
    return settings


def row_of(request: Request, warehouse_id: str) -> Any:
    """The registry row of warehouse `warehouse_id`; 404 when there is none."""
    row = shared_clusters.current(workspace(request).store, warehouse_id)
    if row is None or not registry.is_warehouse(row):
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {warehouse_id} does not "
                       "exist")
    return row


def view(row: Any, host: str) -> dict[str, Any]:
    """A warehouse in the GetWarehouseResponse shape."""
    spec = json.loads(row.spec_json)
    settings = spec[MARK]
    state = STATES.get(row.state, "STOPPED")
    out = {**settings, "id": row.key, "state": state,
           "num_clusters": 1 if state == "RUNNING" else 0, "num_active_sessions": 0,
           "creator_name": spec.get("creator_user_name", ""),
           "odbc_params": {"hostname": host, "path": f"/sql/1.0/warehouses/{row.key}",
                           "port": 443, "protocol": "https"},
           "jdbc_url": f"jdbc:databricks://{host}:443/default;transportMode=http;ssl=1;"
                       f"httpPath=/sql/1.0/warehouses/{row.key}",
           "health": {"status": "HEALTHY" if row.state != "ERROR" else "FAILED",
                      **({"summary": row.message} if row.state == "ERROR" else {})}}
    return out


@router.post("")
def create(request: Request, body: WarehouseSettings,
           who: str = Depends(user)) -> dict[str, Any]:
    """Create a warehouse and start it; its id at once (`get` shows it STARTING)."""
    settings = _checked(body)
    warehouse_id = secrets.token_hex(8)
    shared_clusters.launch(workspace(request).store, warehouse_id, _cluster_spec(settings),
                           {"creator_user_name": who, MARK: settings})
    return {"id": warehouse_id}


@router.get("")
def list_warehouses(request: Request) -> dict[str, Any]:
    """Every warehouse of the workspace."""
    store = workspace(request).store
    rows = [shared_clusters.current(store, r.key) for r in registry.all_clusters(store)]
    return {"warehouses": [view(r, request.url.hostname or "localhost") for r in rows
                           if r is not None and registry.is_warehouse(r)]}


@router.get("/{warehouse_id}")
def get(request: Request, warehouse_id: str) -> dict[str, Any]:
    """One warehouse."""
    return view(row_of(request, warehouse_id), request.url.hostname or "localhost")


@router.post("/{warehouse_id}/edit")
def edit(request: Request, warehouse_id: str, body: WarehouseSettings) -> dict[str, Any]:
    """Change a warehouse's settings (`auto_stop_mins` applies from its next start)."""
    row = row_of(request, warehouse_id)
    spec = json.loads(row.spec_json)
    settings = _checked(body, spec[MARK])
    cluster = _cluster_spec(settings)
    registry.set_spec(workspace(request).store, row.key, cluster.cluster_name,
                      {**cluster.model_dump(mode="json", exclude_none=True),
                       "creator_user_name": spec.get("creator_user_name", ""),
                       MARK: settings}, cluster.autotermination_minutes or 0)
    return {}


@router.post("/{warehouse_id}/start")
def start(request: Request, warehouse_id: str) -> dict[str, Any]:
    """Start a stopped warehouse (a running one stays as it is)."""
    row = row_of(request, warehouse_id)
    spec = json.loads(row.spec_json)
    shared_clusters.launch(workspace(request).store, row.key, _cluster_spec(spec[MARK]),
                           {k: v for k, v in spec.items() if k in (MARK, "creator_user_name")})
    return {}


@router.post("/{warehouse_id}/stop")
def stop(request: Request, warehouse_id: str) -> dict[str, Any]:
    """Stop a warehouse (it stays, and starts again on `start` or a statement)."""
    row = row_of(request, warehouse_id)
    if row.state in registry.LIVE:
        shared_clusters.stop(workspace(request).store, row.key)
    return {}


@router.delete("/{warehouse_id}")
def delete(request: Request, warehouse_id: str) -> dict[str, Any]:
    """Delete a warehouse; its supervisor, finding it gone, stops its server."""
    registry.forget(workspace(request).store, row_of(request, warehouse_id).key)
    return {}
