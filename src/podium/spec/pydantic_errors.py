"""pydantic validation errors turned into located, actionable problems."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from podium.spec.errors import Location, Problem
from podium.spec.yaml_source import YList, YMap

_TYPE_WORDS = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a string", "float_parsing": "a number", "float_type": "a number",
    "dict_type": "a mapping", "model_type": "a mapping", "list_type": "a list",
    "model_attributes_type": "a mapping",
}


def locate(raw: Any, path: tuple[Any, ...]) -> tuple[Location | None, str]:
    """Follow a pydantic error path into the raw YAML tree: the deepest known location
    and the dotted name of the field, skipping pydantic's union tags."""
    node, loc, names = raw, getattr(raw, "loc", None), []
    for step in path:
        if isinstance(node, dict) and step in node:
            loc = node.loc_of(step) if isinstance(node, YMap) else loc
            names.append(str(step))
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            loc = node.loc_of(step) if isinstance(node, YList) else loc
            item = node[step]
            label = item.get("task_key") if isinstance(item, dict) else None
            names.append(f"[{label or step}]")
            node = item
        elif isinstance(node, dict) and isinstance(step, str) and step.isidentifier() and \
                not _is_union_tag(step):
            names.append(step)  # a missing field: point at its parent mapping
            break
    return loc, ".".join(names).replace(".[", "[")


def _is_union_tag(step: str) -> bool:
    return step in {"str", "int", "float", "bool", "list[any]", "dict[str,any]"} or \
        step.startswith(("list[", "dict[", "function-", "literal[", "model["))


def problems_from(exc: ValidationError, raw: Any, where: str) -> list[Problem]:
    """One problem per distinct field pydantic rejected, most useful message first."""
    found: dict[str, Problem] = {}
    for error in exc.errors():
        loc, field = locate(raw, tuple(error["loc"]))
        field_name = f"{where}.{field}" if field else where
        message = _message(error, field_name)
        location = loc or Location("<bundle>")
        key = f"{location}|{field_name}"
        if key not in found or error["type"] in ("enum", "literal_error"):
            found[key] = Problem(location, message)
    return list(found.values())


def _message(error: dict[str, Any], field: str) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    leaf = field.rsplit(".", 1)[-1]
    if kind == "missing":
        return f"missing required field '{leaf}' in {field.rsplit('.', 1)[0]}; add it"
    if kind in ("enum", "literal_error"):
        return f"{field} is '{value}', which is not allowed; use one of {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {"greater_than_equal": ">=", "less_than_equal": "<=",
                  "greater_than": ">", "less_than": "<"}
        limit = next(iter(ctx.values()), "")
        return f"{field} is {value}, but it must be {bounds[kind]} {limit}; change the value"
    if kind in _TYPE_WORDS:
        shown = value if not isinstance(value, (dict, list)) else type(value).__name__
        return f"{field} must be {_TYPE_WORDS[kind]}, not '{shown}'; fix its value"
    if kind == "value_error":  # a model's own check: its message, without pydantic's prefix
        return f"{field}: {error['msg'].removeprefix('Value error, ')}"
    return f"{field}: {error['msg']}"
