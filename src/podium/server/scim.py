"""SCIM 2.0 (`/api/2.0/preview/scim/v2/`): the current user (`Me`), and the workspace's
`Users`, `Groups` and `ServicePrincipals` (`store/principals.py`) with SCIM's `filter`
(parsed by scim2-filter-parser), `attributes`, `startIndex`, `count` and `totalResults`,
get, create, replace, patch and delete, as databricks-sdk's `w.users`, `w.groups` and
`w.service_principals` call them."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from podium.server.errors import ApiError, invalid
from podium.server.workspace import user, workspace
from podium.store import principals
from podium.store.errors import PrincipalConflict, PrincipalNotFound

router = APIRouter(prefix="/api/2.0/preview/scim/v2", dependencies=[Depends(user)])

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
SP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCHEMAS = {principals.USERS: USER_SCHEMA, principals.GROUPS: GROUP_SCHEMA,
           principals.SERVICE_PRINCIPALS: SP_SCHEMA}
NAME_FIELD = {principals.USERS: "userName", principals.GROUPS: "displayName",
              principals.SERVICE_PRINCIPALS: "applicationId"}
KEPT = ("emails", "name", "entitlements", "roles", "externalId")  # kept as given


def user_id(name: str) -> str:
    """A stable numeric id for a user name (SCIM ids are strings of digits)."""
    return principals.principal_id(principals.USERS, name)


def resource(p: principals.Principal) -> dict[str, Any]:
    """A principal in SCIM's shape."""
    out: dict[str, Any] = {"id": p.principal_id, "schemas": [SCHEMAS[p.kind]],
                           "displayName": p.display_name or p.name,
                           **{k: v for k, v in p.extra.items() if k in KEPT}}
    if p.kind != principals.GROUPS:
        out[NAME_FIELD[p.kind]] = p.name
        out["active"] = p.active
        out["groups"] = [{"value": gid, "display": name, "type": "direct",
                          "$ref": f"Groups/{gid}"} for gid, name in p.groups]
    else:
        out["members"] = [{"value": mid, "display": name, "$ref": f"{kind}/{mid}"}
                          for mid, name, kind in p.members]
        out["groups"] = [{"value": gid, "display": name, "type": "direct"}
                         for gid, name in p.groups if name != "users"]
    if p.kind == principals.USERS and "@" in p.name and "emails" not in out:
        out["emails"] = [{"value": p.name, "type": "work", "primary": True}]
    out["meta"] = {"resourceType": p.kind[:-1],
                   "created": datetime.datetime.fromtimestamp(
                       p.created_ms / 1000, datetime.UTC).isoformat()}
    return out


def matcher(text: str) -> Callable[[dict[str, Any]], bool]:
    """A test of a SCIM resource against filter `text`; a 400 naming the problem when it
    is not a SCIM filter."""
    from scim2_filter_parser.lexer import SCIMLexer
    from scim2_filter_parser.parser import SCIMParser

    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text))
    except Exception as exc:  # the parser raises its own and sly's errors
        raise invalid(f"Invalid filter '{text}': {exc}; write it as SCIM does, e.g. "
                      'userName eq "someone@example.com"') from None
    if tree is None:
        raise invalid(f"Invalid filter '{text}'")
    return lambda item: _holds(tree, item)


def _field(item: Any, name: str) -> Any:
    if not isinstance(item, dict):
        return None
    return next((v for k, v in item.items() if k.lower() == name.lower()), None)


def _values(item: dict[str, Any], path: Any) -> list[Any]:
    value = _field(item, path.attr_name)
    if path.sub_attr is not None:
        items = value if isinstance(value, list) else [value]
        return [_field(v, path.sub_attr.value) for v in items]
    if isinstance(value, list):  # a multi-valued attribute compares by its `value`s
        return [_field(v, "value") if isinstance(v, dict) else v for v in value]
    return [value]


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "pr":
        return have not in (None, "", [])
    if have is None:
        return op == "ne"
    if isinstance(have, bool):
        have = "true" if have else "false"
    left, right = str(have).lower(), str(want).lower()
    tests = {"eq": left == right, "ne": left != right, "co": right in left,
             "sw": left.startswith(right), "ew": left.endswith(right),
             "gt": left > right, "ge": left >= right, "lt": left < right,
             "le": left <= right}
    if op not in tests:
        raise invalid(f"Unknown filter operator '{op}'")
    return tests[op]


def _holds(node: Any, item: dict[str, Any]) -> bool:
    kind = type(node).__name__
    if kind == "Filter":
        if node.namespace is not None:  # emails[type eq "work"]
            found = _field(item, node.namespace.attr_name)
            result = any(_holds(node.expr, v) for v in (found or []) if isinstance(v, dict))
        else:
            result = _holds(node.expr, item)
        return not result if node.negated else result
    if kind == "LogExpr":
        left = _holds(node.expr1, item)
        return (left and _holds(node.expr2, item)) if node.op == "and" else \
            (left or _holds(node.expr2, item))
    if kind == "AttrExpr":
        want = node.comp_value.value if node.comp_value is not None else None
        return any(_compare(node.value, v, want) for v in _values(item, node.attr_path))
    raise invalid(f"Unsupported filter part {kind}")


def _listing(request: Request, kind: str, filter_text: str | None, attributes: str | None,
             excluded: str | None, start: int, count: int | None,
             sort_by: str | None, sort_order: str) -> dict[str, Any]:
    found = [resource(p) for p in principals.listing(workspace(request).store, kind)]
    if filter_text:
        test = matcher(filter_text)
        found = [r for r in found if test(r)]
    if sort_by:
        found.sort(key=lambda r: str(_field(r, sort_by) or "").lower(),
                   reverse=sort_order.lower() == "descending")
    total = len(found)
    page = found[start - 1:][:count] if count is not None else found[start - 1:]
    if attributes:
        wanted = {a.strip().lower() for a in attributes.split(",")} | {"id", "schemas"}
        page = [{k: v for k, v in r.items() if k.lower() in wanted} for r in page]
    if excluded:
        dropped = {a.strip().lower() for a in excluded.split(",")} - {"id", "schemas"}
        page = [{k: v for k, v in r.items() if k.lower() not in dropped} for r in page]
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start,
            "itemsPerPage": len(page), "Resources": page}


def _found(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except PrincipalNotFound as exc:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", str(exc)) from None
    except PrincipalConflict as exc:
        raise ApiError(409, "RESOURCE_ALREADY_EXISTS", str(exc)) from None


def _members(body: dict[str, Any]) -> list[str] | None:
    members = body.get("members")
    if members is None:
        return None
    if not isinstance(members, list) or not all(isinstance(m, dict) and m.get("value")
                                                for m in members):
        raise invalid("members is a list of {\"value\": \"<principal id>\"}")
    return [str(m["value"]) for m in members]


def _name(kind: str, body: dict[str, Any]) -> str:
    field = NAME_FIELD[kind]
    name = body.get(field) or (body.get("displayName") if kind != principals.USERS else None)
    if kind == principals.SERVICE_PRINCIPALS and not name:
        name = str(uuid.uuid4())  # Databricks gives a new service principal its id
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"Missing required field: {field}")
    return name.strip()


def _patch_changes(kind: str, current: principals.Principal,
                   operations: Any) -> tuple[dict[str, Any], list[str] | None]:
    """What a PATCH's `Operations` change: fields, and a group's new member list."""
    if not isinstance(operations, list):
        raise invalid("Missing required field: Operations")
    changes: dict[str, Any] = {}
    members = [m[0] for m in current.members] if kind == principals.GROUPS else None
    for op in operations:
        if not isinstance(op, dict) or str(op.get("op", "")).lower() not in (
                "add", "remove", "replace"):
            raise invalid("Each operation has an op: add, remove or replace")
        verb, path, value = str(op["op"]).lower(), op.get("path"), op.get("value")
        values = value if isinstance(value, dict) and not path else {path: value}
        for key, given in values.items():
            key_text = str(key or "")
            if key_text.startswith("members"):
                if members is None:
                    raise invalid("Only a group has members")
                if verb == "remove":
                    chosen = matcher(key_text[len("members"):].strip("[]")) \
                        if "[" in key_text else None
                    gone = {str(m.get("value")) for m in given or [] if isinstance(m, dict)}
                    members = [m for m in members if not (
                        m in gone or (chosen is not None and chosen({"value": m})))]
                else:
                    new = _members({"members": given}) or []
                    members = new if verb == "replace" else [*members, *new]
            elif key_text == "active":
                changes["active"] = str(given).lower() == "true" if not isinstance(
                    given, bool) else given
            elif key_text == "displayName":
                changes["display_name"] = str(given)
            elif key_text in KEPT:
                changes.setdefault("extra", {})[key_text] = given
            else:
                raise invalid(f"Cannot {verb} '{key_text}'")
    return changes, members


def _routes(kind: str) -> None:
    """Register the list, get, create, replace, patch and delete routes of `kind`."""

    @router.get(f"/{kind}", name=f"list_{kind}")
    def list_all(request: Request, filter: str | None = None,
                 attributes: str | None = None, excludedAttributes: str | None = None,
                 startIndex: int = Query(1, ge=1, le=2**31 - 1),
                 count: int | None = Query(None, ge=0, le=2**31 - 1),
                 sortBy: str | None = None, sortOrder: str = "ascending") -> dict[str, Any]:
        return _listing(request, kind, filter, attributes, excludedAttributes, startIndex,
                        count, sortBy, sortOrder)

    @router.get(f"/{kind}/{{principal_id}}", name=f"get_{kind}")
    def get_one(request: Request, principal_id: str) -> dict[str, Any]:
        store = workspace(request).store
        return resource(_found(lambda: principals.get(store, kind, principal_id)))

    @router.post(f"/{kind}", status_code=201, name=f"create_{kind}")
    def create(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        name = _name(kind, body)
        display = str(body.get("displayName") or name)
        extra = {k: body[k] for k in KEPT if k in body}
        members = _members(body) or []
        if members and kind != principals.GROUPS:
            raise invalid("Only a group has members")
        store = workspace(request).store
        return resource(_found(lambda: principals.create(
            store, kind, name, display, bool(body.get("active", True)), extra, members)))

    @router.put(f"/{kind}/{{principal_id}}", name=f"replace_{kind}")
    def replace(request: Request, principal_id: str,
                body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        store = workspace(request).store
        changes: dict[str, Any] = {"extra": {k: body.get(k) for k in KEPT if k in body}}
        if "displayName" in body:
            changes["display_name"] = str(body["displayName"])
        if "active" in body:
            changes["active"] = bool(body["active"])
        members = _members(body) if kind == principals.GROUPS else None
        return resource(_found(lambda: principals.update(store, kind, principal_id, changes,
                                                         members)))

    @router.patch(f"/{kind}/{{principal_id}}", name=f"patch_{kind}")
    def patch(request: Request, principal_id: str,
              body: dict[str, Any] = Body(...)) -> Response:
        store = workspace(request).store
        current = _found(lambda: principals.get(store, kind, principal_id))
        changes, members = _patch_changes(kind, current, body.get("Operations"))
        _found(lambda: principals.update(store, kind, principal_id, changes, members))
        return Response(status_code=204)

    @router.delete(f"/{kind}/{{principal_id}}", status_code=204, name=f"delete_{kind}")
    def remove(request: Request, principal_id: str) -> Response:
        store = workspace(request).store
        _found(lambda: principals.remove(store, kind, principal_id))
        return Response(status_code=204)


@router.get("/Me")
def me(request: Request, who: str = Depends(user)) -> dict[str, Any]:
    """The token's owner."""
    try:
        return resource(principals.get(workspace(request).store, principals.USERS,
                                       user_id(who)))
    except PrincipalNotFound:  # a caller without a token of its own (loopback, no auth)
        return resource(principals.Principal(user_id(who), principals.USERS, who, who, True,
                                             {}, 0, [(principals.principal_id(
                                                 principals.GROUPS, "users"), "users")]))


for _kind in (principals.USERS, principals.GROUPS, principals.SERVICE_PRINCIPALS):
    _routes(_kind)
