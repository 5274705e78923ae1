"""The workspace's users, groups and service principals (SCIM): kept in the history
database, so every server on one database sees the same ones. The owners of the
workspace's tokens are its users from the start, and the groups `admins` (the token
owners) and `users` (everyone) always exist, as on Databricks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from podium.store.errors import PrincipalConflict, PrincipalNotFound
from podium.store.runs import RunStore, now_ms
from podium.store.schema import MembershipRow, PrincipalRow, TokenRow

USERS, GROUPS, SERVICE_PRINCIPALS = "Users", "Groups", "ServicePrincipals"
BUILT_IN_GROUPS = ("admins", "users")


@dataclass(frozen=True)
class Principal:
    """A user, group or service principal with the groups it is in (and, for a group, its
    members)."""

    principal_id: str
    kind: str
    name: str
    display_name: str
    active: bool
    extra: dict[str, Any]
    created_ms: int
    groups: list[tuple[str, str]] = field(default_factory=list)  # (id, displayName)
    members: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, kind)


def principal_id(kind: str, name: str) -> str:
    """A stable numeric id for a principal (SCIM ids are strings of digits); a user's is
    the one `Me` has always answered."""
    seed = name if kind == USERS else f"{kind}:{name}"
    return str(int(hashlib.sha256(seed.encode()).hexdigest()[:13], 16))


def _ensure_defaults(db: Any) -> None:
    """Token owners as users, and the built-in groups, when missing."""
    owners = set(db.scalars(select(TokenRow.user_name)))
    known = {(r.kind, r.name) for r in db.scalars(select(PrincipalRow))}
    wanted = [(USERS, name) for name in owners] + [(GROUPS, g) for g in BUILT_IN_GROUPS]
    admins = principal_id(GROUPS, "admins")
    have = set(db.scalars(select(MembershipRow.member_id)
                          .where(MembershipRow.group_id == admins)))
    added = [PrincipalRow(principal_id=principal_id(kind, name), kind=kind, name=name,
                          display_name=name, active=True, extra_json="{}",
                          created_ms=now_ms())
             for kind, name in wanted if (kind, name) not in known]
    added += [MembershipRow(group_id=admins, member_id=principal_id(USERS, name))
              for name in owners if principal_id(USERS, name) not in have]
    for row in added:
        try:
            with db.begin_nested():  # another server may add the same row at once
                db.add(row)
        except IntegrityError:
            pass


def _rows(db: Any, kind: str | None) -> list[Principal]:
    rows = list(db.scalars(select(PrincipalRow).order_by(PrincipalRow.created_ms,
                                                         PrincipalRow.name)))
    by_id = {r.principal_id: r for r in rows}
    memberships = list(db.scalars(select(MembershipRow)))
    everyone_group = principal_id(GROUPS, "users")
    found = []
    for row in rows:
        if kind is not None and row.kind != kind:
            continue
        groups = [(m.group_id, by_id[m.group_id].name) for m in memberships
                  if m.member_id == row.principal_id and m.group_id in by_id]
        if row.kind != GROUPS:
            groups.append((everyone_group, "users"))
        members: list[tuple[str, str, str]] = []
        if row.kind == GROUPS:
            ids = ({r.principal_id for r in rows if r.kind != GROUPS}
                   if row.principal_id == everyone_group else
                   {m.member_id for m in memberships if m.group_id == row.principal_id})
            members = [(i, by_id[i].display_name or by_id[i].name, by_id[i].kind)
                       for i in sorted(ids) if i in by_id]
        found.append(Principal(row.principal_id, row.kind, row.name, row.display_name,
                               row.active, json.loads(row.extra_json), row.created_ms,
                               sorted(groups), members))
    return found


def listing(store: RunStore, kind: str) -> list[Principal]:
    """Every principal of `kind`, oldest first."""
    with store.sessions.begin() as db:
        _ensure_defaults(db)
        return _rows(db, kind)


def get(store: RunStore, kind: str, pid: str) -> Principal:
    """One principal of `kind`; PrincipalNotFound otherwise."""
    with store.sessions.begin() as db:
        _ensure_defaults(db)
        for principal in _rows(db, kind):
            if principal.principal_id == pid:
                return principal
    raise PrincipalNotFound(f"{kind[:-1]} {pid} does not exist")


def create(store: RunStore, kind: str, name: str, display_name: str, active: bool,
           extra: dict[str, Any], members: list[str]) -> Principal:
    """A new principal (a group with its `members`); PrincipalConflict when its name is
    taken."""
    pid = principal_id(kind, name)
    try:
        with store.sessions.begin() as db:
            _ensure_defaults(db)
            db.add(PrincipalRow(principal_id=pid, kind=kind, name=name,
                                display_name=display_name, active=active,
                                extra_json=json.dumps(extra), created_ms=now_ms()))
            db.flush()
            _set_members(db, pid, members)
    except IntegrityError:
        raise PrincipalConflict(f"{kind[:-1]} with name {name} already exists.") from None
    return get(store, kind, pid)


def _set_members(db: Any, group: str, members: list[str]) -> None:
    known = set(db.scalars(select(PrincipalRow.principal_id)))
    missing = [m for m in members if m not in known]
    if missing:
        raise PrincipalNotFound(f"Member {missing[0]} does not exist")
    db.execute(delete(MembershipRow).where(MembershipRow.group_id == group))
    for member in dict.fromkeys(members):
        db.add(MembershipRow(group_id=group, member_id=member))


def update(store: RunStore, kind: str, pid: str, changes: dict[str, Any],
           members: list[str] | None) -> Principal:
    """Change a principal's `display_name`, `active` or `extra` (and a group's members)."""
    with store.sessions.begin() as db:
        row = db.get(PrincipalRow, pid)
        if row is None or row.kind != kind:
            raise PrincipalNotFound(f"{kind[:-1]} {pid} does not exist")
        if "display_name" in changes:
            row.display_name = changes["display_name"]
        if "active" in changes:
            row.active = bool(changes["active"])
        if "extra" in changes:
            row.extra_json = json.dumps({**json.loads(row.extra_json), **changes["extra"]})
        if members is not None:
            if kind != GROUPS:
                raise PrincipalConflict("Only a group has members")
            _set_members(db, pid, members)
    return get(store, kind, pid)


def remove(store: RunStore, kind: str, pid: str) -> None:
    """Delete a principal and its memberships; the built-in groups stay."""
    with store.sessions.begin() as db:
        row = db.get(PrincipalRow, pid)
        if row is None or row.kind != kind:
            raise PrincipalNotFound(f"{kind[:-1]} {pid} does not exist")
        if kind == GROUPS and row.name in BUILT_IN_GROUPS:
            raise PrincipalConflict(f"Group {row.name} is built in and cannot be deleted")
        db.execute(delete(MembershipRow).where((MembershipRow.group_id == pid)
                                               | (MembershipRow.member_id == pid)))
        db.delete(row)
