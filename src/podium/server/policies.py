"""The Cluster Policies API (`/api/2.0/policies/clusters/...`): rules that job clusters,
`runs/submit` clusters and all-purpose clusters naming a `policy_id` must follow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from podium.server.bodies import Body, Int64
from podium.server.errors import ApiError, invalid, not_found
from podium.server.workspace import user, workspace
from podium.spec.policies import PolicyError
from podium.store import policies

router = APIRouter(prefix="/api/2.0/policies/clusters", dependencies=[Depends(user)])


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # policy families and overrides mean nothing here
    name: str
    definition: str = "{}"
    description: str = ""
    max_clusters_per_user: Int64 | None = None


class EditPolicy(PolicyBody):
    policy_id: str


class PolicyId(Body):
    policy_id: str


def _call(action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except PolicyError as exc:
        raise invalid(f"Invalid policy definition: {exc}") from None
    except policies.PolicyNameTaken as exc:
        raise ApiError(409, "RESOURCE_ALREADY_EXISTS", str(exc)) from None
    except policies.PolicyNotFound as exc:
        raise not_found(str(exc)) from None


@router.post("/create")
def create(request: Request, body: PolicyBody, who: str = Depends(user)) -> dict[str, Any]:
    """A new policy; its policy_id."""
    return {"policy_id": _call(policies.create, workspace(request).store, body.name,
                               body.definition, who, body.description,
                               body.max_clusters_per_user)}


@router.post("/edit")
def edit(request: Request, body: EditPolicy) -> dict[str, Any]:
    """Replace a policy's name and rules (clusters follow them from their next check)."""
    _call(policies.edit, workspace(request).store, body.policy_id, body.name,
          body.definition, body.description, body.max_clusters_per_user)
    return {}


@router.get("/get")
def get(request: Request, policy_id: str) -> dict[str, Any]:
    """One policy."""
    return policies.view(_call(policies.get, workspace(request).store, policy_id))


@router.get("/list")
def list_policies(request: Request) -> dict[str, Any]:
    """Every policy, by name."""
    rows = policies.listing(workspace(request).store)
    return {"policies": [policies.view(r) for r in rows], "total_count": len(rows)}


@router.post("/delete")
def delete(request: Request, body: PolicyId) -> dict[str, Any]:
    """Delete a policy."""
    _call(policies.remove, workspace(request).store, body.policy_id)
    return {}
