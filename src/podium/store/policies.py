"""The workspace's cluster policies (`/api/2.0/policies/clusters/...`, `podium
policies`): stored as given, checked by `spec.policies` when saved and when a cluster
names one."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from podium.spec import policies as rules
from podium.store.runs import RunStore, now_ms
from podium.store.schema import ClusterPolicyRow


class PolicyNotFound(LookupError):
    """No policy with that id."""


class PolicyNameTaken(ValueError):
    """Another policy has that name."""


def create(store: RunStore, name: str, definition: str, user: str, description: str = "",
           max_clusters_per_user: int | None = None) -> str:
    """A new policy; its id (16 hex digits, as Databricks' look). PolicyError for a
    definition that does not read, PolicyNameTaken for a name in use."""
    rules.parse(definition)
    policy_id = secrets.token_hex(8).upper()
    try:
        with store.sessions.begin() as db:
            db.add(ClusterPolicyRow(policy_id=policy_id, name=name, definition=definition,
                                    description=description,
                                    max_clusters_per_user=max_clusters_per_user,
                                    creator_user_name=user, created_ms=now_ms()))
    except IntegrityError:
        raise PolicyNameTaken(f"A policy named '{name}' already exists") from None
    return policy_id


def edit(store: RunStore, policy_id: str, name: str, definition: str,
         description: str = "", max_clusters_per_user: int | None = None) -> None:
    """Replace a policy's name and rules."""
    rules.parse(definition)
    try:
        with store.sessions.begin() as db:
            done = db.execute(update(ClusterPolicyRow).where(
                ClusterPolicyRow.policy_id == policy_id).values(
                name=name, definition=definition, description=description,
                max_clusters_per_user=max_clusters_per_user))
            if done.rowcount == 0:
                raise PolicyNotFound(f"Policy {policy_id} does not exist")
    except IntegrityError:
        raise PolicyNameTaken(f"A policy named '{name}' already exists") from None


def get(store: RunStore, policy_id: str) -> ClusterPolicyRow:
    """One policy, or PolicyNotFound."""
    rows = store.rows(select(ClusterPolicyRow).where(ClusterPolicyRow.policy_id == policy_id))
    if not rows:
        raise PolicyNotFound(f"Policy {policy_id} does not exist")
    return rows[0]


def listing(store: RunStore) -> list[ClusterPolicyRow]:
    """Every policy, by name."""
    return store.rows(select(ClusterPolicyRow).order_by(ClusterPolicyRow.name))


def remove(store: RunStore, policy_id: str) -> None:
    """Delete a policy."""
    with store.sessions.begin() as db:
        if db.execute(delete(ClusterPolicyRow).where(
                ClusterPolicyRow.policy_id == policy_id)).rowcount == 0:
            raise PolicyNotFound(f"Policy {policy_id} does not exist")


def by_id(store: RunStore) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every policy's name and parsed rules by id (what validation checks clusters with)."""
    return {row.policy_id: (row.name, rules.parse(row.definition)) for row in listing(store)}


def view(row: ClusterPolicyRow) -> dict[str, Any]:
    """A policy in the Cluster Policies API's shape."""
    out: dict[str, Any] = {"policy_id": row.policy_id, "name": row.name,
                           "definition": row.definition, "description": row.description,
                           "creator_user_name": row.creator_user_name,
                           "created_at_timestamp": row.created_ms, "is_default": False}
    if row.max_clusters_per_user is not None:
        out["max_clusters_per_user"] = row.max_clusters_per_user
    return out
