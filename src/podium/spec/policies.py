"""Cluster policies as Databricks applies them: a definition maps attribute paths
(`num_workers`, `spark_conf.spark.sql.shuffle.partitions`, `custom_tags.team`,
`autoscale.max_workers`, ...) to rules (`fixed`, `forbidden`, `allowlist`, `blocklist`,
`regex`, `range`, `unlimited`) with `defaultValue`, `isOptional` and `hidden`.

`apply` checks a cluster spec against a policy and returns the spec with fixed values
set and, when asked, default values filled in, or the violations, each naming the
attribute and the rule.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

RULES = ("fixed", "forbidden", "allowlist", "blocklist", "regex", "range", "unlimited")
MAPS = ("spark_conf", "spark_env_vars", "custom_tags")  # attribute paths into these maps
VIRTUAL = ("dbus_per_hour", "cluster_type")  # not in a spec


class PolicyError(ValueError):
    """A policy definition that is not valid JSON or has a rule podium cannot read."""


@dataclass(frozen=True)
class Violation:
    """One attribute of a spec that breaks its policy's rule."""

    attribute: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"Validation failed for {self.attribute} ({self.rule} rule): {self.message}"


def parse(definition: str | dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A policy definition (JSON text or its object) checked for known rules."""
    try:
        rules = json.loads(definition) if isinstance(definition, str) else definition
    except json.JSONDecodeError as exc:
        raise PolicyError(f"the policy definition is not valid JSON: {exc.msg} at line "
                          f"{exc.lineno} column {exc.colno}") from None
    if not isinstance(rules, dict):
        raise PolicyError("the policy definition must be a JSON object of attribute rules")
    for attribute, rule in rules.items():
        if not isinstance(rule, dict) or rule.get("type") not in RULES:
            raise PolicyError(f"the rule of '{attribute}' needs a type, one of "
                              f"{', '.join(RULES)}")
        if rule["type"] in ("allowlist", "blocklist") and not isinstance(rule.get("values"),
                                                                           list):
            raise PolicyError(f"the {rule['type']} rule of '{attribute}' needs `values`")
        if rule["type"] == "regex":
            try:
                re.compile(str(rule.get("pattern", "")))
            except re.error as exc:
                raise PolicyError(f"the regex of '{attribute}' is not valid: {exc}") from None
    return rules


def _get(spec: dict[str, Any], attribute: str) -> tuple[bool, Any]:
    head, _, rest = attribute.partition(".")
    if head in MAPS and rest:
        holder = spec.get(head) or {}
        return rest in holder, holder.get(rest)
    node: Any = spec
    for part in attribute.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set(spec: dict[str, Any], attribute: str, value: Any) -> None:
    head, _, rest = attribute.partition(".")
    if head in MAPS and rest:
        spec.setdefault(head, {})[rest] = value
        return
    parts = attribute.split(".")
    node = spec
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def apply(rules: dict[str, dict[str, Any]], spec: dict[str, Any], cluster_type: str,
          fill_defaults: bool = False) -> tuple[dict[str, Any], list[Violation]]:
    """`spec` under policy `rules` for a cluster of `cluster_type` (`job` or
    `all-purpose`): the spec with fixed (and, with `fill_defaults`, default) values set,
    and every violation."""
    out = copy.deepcopy(spec)
    problems: list[Violation] = []
    for attribute, rule in rules.items():
        kind = rule["type"]
        if attribute == "cluster_type":
            allowed = _allowed(rule, cluster_type)
            if allowed:
                problems.append(Violation(attribute, kind, f"this policy is for {allowed} "
                                          f"clusters, not {cluster_type} clusters"))
            continue
        if attribute in VIRTUAL:
            continue
        present, value = _get(out, attribute)
        if kind == "fixed":
            if present and value != rule.get("value"):
                problems.append(Violation(attribute, kind, f"the value must be "
                                          f"{rule.get('value')!r} (is {value!r})"))
            else:
                _set(out, attribute, rule.get("value"))
            continue
        if kind == "forbidden":
            if present:
                problems.append(Violation(attribute, kind, "the attribute must not be set"))
            continue
        if not present:
            if "defaultValue" in rule and fill_defaults:
                _set(out, attribute, rule["defaultValue"])
                present, value = True, rule["defaultValue"]
            elif kind != "unlimited" and not rule.get("isOptional", False) and \
                    "defaultValue" not in rule:
                problems.append(Violation(attribute, kind, "the value must be present"))
                continue
            else:
                continue
        message = _check(kind, rule, value)
        if message:
            problems.append(Violation(attribute, kind, message))
    return out, problems


def _allowed(rule: dict[str, Any], cluster_type: str) -> str | None:
    """None when `cluster_type` may use the policy, else what it allows."""
    kind = rule["type"]
    if kind == "fixed":
        return None if rule.get("value") == cluster_type else str(rule.get("value"))
    if kind == "allowlist":
        return None if cluster_type in rule["values"] else " or ".join(rule["values"])
    if kind == "blocklist" and cluster_type in rule["values"]:
        return "other"
    return None


def _check(kind: str, rule: dict[str, Any], value: Any) -> str | None:
    """What is wrong with a present `value` under a value rule; None when nothing."""
    if kind == "allowlist" and value not in rule["values"]:
        return f"the value must be one of {rule['values']} (is {value!r})"
    if kind == "blocklist" and value in rule["values"]:
        return f"the value must not be one of {rule['values']} (is {value!r})"
    if kind == "regex" and not re.fullmatch(str(rule.get("pattern", "")), str(value)):
        return f"the value must match {rule.get('pattern')!r} (is {value!r})"
    if kind == "range":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"the value must be a number (is {value!r})"
        low, high = rule.get("minValue"), rule.get("maxValue")
        if low is not None and number < float(low):
            return f"the value must be at least {low} (is {value!r})"
        if high is not None and number > float(high):
            return f"the value must be at most {high} (is {value!r})"
    return None


def hidden(rules: dict[str, dict[str, Any]]) -> set[str]:
    """Attributes a policy hides from the people who use it."""
    return {a for a, r in rules.items() if r.get("hidden")}
