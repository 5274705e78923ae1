"""The Clusters API (`/api/2.0|2.1/clusters/...`): all-purpose clusters are podium's
shared clusters, Spark Connect servers that outlive runs, in the same registry as
`podium cluster start/stop`. Starting and stopping happen in the background; the answer
comes at once and `clusters/get` shows the state, as on Databricks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import secrets
import shutil
import string
import threading
import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import ValidationError

from podium.compute.errors import ClusterError
from podium.engine import shared_clusters
from podium.server import bodies
from podium.server.errors import ApiError, invalid, validation_error
from podium.server.runtimes import DEFAULT_RUNTIME, RUNTIMES
from podium.server.workspace import user, workspace
from podium.spec import policies as rules
from podium.spec.models import ClusterSpec
from podium.store import clusters as registry
from podium.store import policies

router = APIRouter(prefix="/clusters", dependencies=[Depends(user)])


class ClusterId(bodies.Body):
    cluster_id: str


def _pyspark() -> str:
    import pyspark

    return pyspark.__version__


def _new_id() -> str:
    """A cluster id in Databricks' shape: MMDD-HHMMSS-xxxxxxxx."""
    tail = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    return time.strftime("%m%d-%H%M%S-", time.gmtime()) + tail


def _spec(request: Request, body: dict[str, Any]) -> ClusterSpec:
    """The cluster spec of a create or edit request, its policy applied; 400 when it
    does not validate or breaks the policy."""
    if not body.get("cluster_name"):
        raise invalid("Missing required field: cluster_name")
    if body.get("policy_id"):
        try:
            row = policies.get(workspace(request).store, str(body["policy_id"]))
        except policies.PolicyNotFound as exc:
            raise invalid(str(exc)) from None
        body, violations = rules.apply(rules.parse(row.definition), body, "all-purpose",
                                       bool(body.get("apply_policy_default_values")))
        if violations:
            raise invalid("; ".join(f"{v} under cluster policy '{row.name}'"
                                    for v in violations))
    try:
        return ClusterSpec.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc.errors()[0]) from None


def row_of(request: Request, cluster_id: str) -> Any:
    """The registry row of cluster `cluster_id`; 400 `Cluster X does not exist` (as
    Databricks answers) when there is none."""
    row = shared_clusters.current(workspace(request).store, cluster_id)
    if row is None:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Cluster {cluster_id} does not exist")
    return row


def view(row: Any) -> dict[str, Any]:
    """A cluster in the ClusterDetails shape."""
    spec = json.loads(row.spec_json)
    out = {"spark_version": DEFAULT_RUNTIME,
           **{k: v for k, v in spec.items() if k != "creator_user_name"}}
    out.update({
        "cluster_id": row.key, "cluster_name": row.cluster_name or row.key,
        "state": "RESTARTING" if row.key in _restarting else row.state,
        "state_message": row.message,
        "creator_user_name": spec.get("creator_user_name", ""),
        "cluster_source": "API" if "creator_user_name" in spec else "UI",
        "start_time": row.start_ms, "last_activity_time": row.last_used_ms,
        "autotermination_minutes": row.autotermination_minutes,
        "spark_conf": spec.get("spark_conf", {}),
        "default_tags": {"Vendor": "podium", "ClusterId": row.key,
                         "ClusterName": row.cluster_name or row.key},
    })
    if row.application_id:
        out["spark_context_id"] = int(hashlib.sha256(row.application_id.encode())
                                      .hexdigest()[:15], 16)
    if row.url:
        out["jdbc_port"] = 0
        out["driver"] = {"host_private_ip": "127.0.0.1", "node_id": row.application_id or ""}
    if row.end_ms:
        out["terminated_time"] = row.end_ms
        out["termination_reason"] = {"code": "USER_REQUEST" if row.state == "TERMINATED"
                                     else "UNEXPECTED_LAUNCH_FAILURE",
                                     "parameters": {"message": row.message}}
    return out


def _background(action: Any, *args: Any) -> None:
    """Run a start or stop beside the request (its end shows in clusters/get)."""
    def run() -> None:
        with contextlib.suppress(ClusterError):  # the registry says ERROR with the reason
            action(*args)
    threading.Thread(target=run, name="podium-cluster-action", daemon=True).start()


@router.post("/create")
def create(request: Request, body: dict[str, Any] = Body(...),
           who: str = Depends(user)) -> dict[str, Any]:
    """Create and start an all-purpose cluster; its cluster_id at once."""
    spec = _spec(request, body)
    cluster_id = _new_id()
    shared_clusters.launch(workspace(request).store, cluster_id, spec,
                           {"creator_user_name": who})
    return {"cluster_id": cluster_id}


@router.post("/edit")
def edit(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Replace a cluster's spec; a running cluster restarts with it."""
    cluster_id = str(body.pop("cluster_id", "") or "")
    row = row_of(request, cluster_id)
    spec = _spec(request, body)
    store = workspace(request).store
    kept = {k: v for k, v in json.loads(row.spec_json).items() if k == "creator_user_name"}
    registry.set_spec(store, row.key, spec.cluster_name,
                      {**spec.model_dump(mode="json", exclude_none=True), **kept},
                      spec.autotermination_minutes or 0)
    if row.state == "RUNNING":
        _restarting.add(row.key)
        _background(_restart, store, row.key)
    return {}


_restarting: set[str] = set()  # clusters between their stop and their new start


def _restart(store: Any, key: str) -> None:
    """Stop and start a cluster; meanwhile it shows as RESTARTING (never TERMINATED, which
    clients waiting for RUNNING take as a failure)."""
    _restarting.add(key)
    try:
        shared_clusters.stop(store, key)
        row = registry.find(store, key)
        if row is not None:
            shared_clusters.launch(store, key,
                                   ClusterSpec.model_validate(json.loads(row.spec_json)))
    finally:
        _restarting.discard(key)


@router.post("/start")
def start(request: Request, body: ClusterId) -> dict[str, Any]:
    """Start a terminated cluster."""
    row = row_of(request, body.cluster_id)
    if row.state in registry.LIVE:
        raise ApiError(400, "INVALID_STATE", f"Cluster {row.key} is in unexpected state "
                       f"{row.state}.")
    shared_clusters.launch(workspace(request).store, row.key,
                           ClusterSpec.model_validate(json.loads(row.spec_json)))
    return {}


@router.post("/restart")
def restart(request: Request, body: ClusterId) -> dict[str, Any]:
    """Stop and start a running cluster (its Spark application is new)."""
    row = row_of(request, body.cluster_id)
    if row.state != "RUNNING":
        raise ApiError(400, "INVALID_STATE", f"Cluster {row.key} is in unexpected state "
                       f"{row.state}.")
    _restarting.add(row.key)
    _background(_restart, workspace(request).store, row.key)
    return {}


@router.post("/delete")
def terminate(request: Request, body: ClusterId) -> dict[str, Any]:
    """Terminate a cluster (it stays listed and can be started again)."""
    row = row_of(request, body.cluster_id)
    if row.state in registry.LIVE:
        registry.set_state(workspace(request).store, row.key, "TERMINATING", "Terminating")
        _background(shared_clusters.stop, workspace(request).store, row.key)
    return {}


@router.post("/permanent-delete")
def permanent_delete(request: Request, body: ClusterId) -> dict[str, Any]:
    """Remove a cluster at once; its supervisor, finding it gone, stops its server."""
    row = row_of(request, body.cluster_id)
    registry.forget(workspace(request).store, row.key)
    return {}


@router.get("/get")
def get(request: Request, cluster_id: str) -> dict[str, Any]:
    """One cluster; an unknown id is a 400 INVALID_PARAMETER_VALUE, as on Databricks."""
    return view(row_of(request, cluster_id))


@router.get("/list")
def list_clusters(request: Request) -> dict[str, Any]:
    """Every cluster of the workspace (API-created and `podium cluster start`ed); SQL
    warehouses are listed by their own API."""
    store = workspace(request).store
    rows = [shared_clusters.current(store, r.key) for r in registry.all_clusters(store)]
    return {"clusters": [view(r) for r in rows
                         if r is not None and not registry.is_warehouse(r)]}


@router.post("/events")
def events(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """A cluster's events, newest first (`order: ASC` for oldest first)."""
    row = row_of(request, str(body.get("cluster_id", "")))
    found = registry.events(workspace(request).store, row.key)
    if str(body.get("order", "DESC")).upper() == "ASC":
        found = list(reversed(found))
    kinds = body.get("event_types")
    if kinds:
        found = [e for e in found if e.type in kinds]
    return {"events": [{"cluster_id": e.cluster_id, "timestamp": e.timestamp, "type": e.type,
                        "details": json.loads(e.details_json)} for e in found],
            "total_count": len(found)}


@router.get("/spark-versions")
def spark_versions() -> dict[str, Any]:
    """Runtime versions a spec may name; all run on this machine's pyspark."""
    local = _pyspark()
    return {"versions": [
        {"key": key, "name": f"{label} (includes Apache Spark {spark}, Scala {scala}); "
                             f"runs on podium's pyspark {local}"}
        for key, label, spark, scala in RUNTIMES]}


@router.get("/list-node-types")
def list_node_types() -> dict[str, Any]:
    """This machine as the one node type: its cores, memory and disk."""
    cores = os.cpu_count() or 1
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    disk_gb = shutil.disk_usage("/").total // (1024 ** 3)
    node = f"local-{cores}c-{memory_mb // 1024}g"
    return {"node_types": [{
        "node_type_id": node, "instance_type_id": node, "memory_mb": memory_mb,
        "num_cores": float(cores), "num_gpus": 0, "category": "General Purpose",
        "description": f"This machine ({platform.machine()}, {cores} cores)",
        "is_deprecated": False, "is_hidden": False, "support_port_forwarding": True,
        "photon_driver_capable": False, "photon_worker_capable": False,
        "is_io_cache_enabled": False, "supports_elastic_disk": False,
        "node_instance_type": {"instance_type_id": node, "local_disks": 1,
                               "local_disk_size_gb": disk_gb}}]}
