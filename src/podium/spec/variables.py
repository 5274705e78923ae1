"""Bundle variables and `${...}` substitution at load time.

Precedence, as in the Databricks CLI: `--var` > `BUNDLE_VAR_<name>` > the target's
value > the variable's `default`.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podium.spec.errors import Location, Problem
from podium.spec.yaml_source import YList, YMap

INTERPOLATION = re.compile(r"\$\{([A-Za-z0-9_.\-\[\]]+)\}")


@dataclass
class Context:
    """What `${...}` can refer to while a bundle is being loaded."""

    variables: dict[str, Any]
    bundle_name: str
    target: str
    file_path: str
    job_ids: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)  # the raw resources, by kind
    # (kind, name) -> the id of a workspace object, for `lookup` variables
    lookups: Callable[[str, str], str | None] | None = None
    # A lookup that found nothing: its stand-in value -> the problem, raised only where a
    # job that runs (or is deployed) uses it.
    unresolved: dict[str, Problem] = field(default_factory=dict)
    # The merged `bundle` and `workspace` mappings: fields set there are what `${bundle.x}`
    # and `${workspace.x}` give (`bundle.git.branch` overrides what git says).
    bundle: dict[str, Any] = field(default_factory=dict)
    workspace: dict[str, Any] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)  # warnings given once per load
    sync_root: str = ""  # the synced tree's root, when sync paths leave the bundle root
    location: Location | None = None  # where the reference being resolved is written
    _git: dict[str, str] | None = None

    def lookup(self, path: str) -> Any:
        """The value of `${path}`; raises KeyError with a helpful message if unknown."""
        parts = path.split(".")
        user = getpass.getuser()
        fixed = {
            "bundle.name": self.bundle_name,
            "bundle.target": self.target,
            "bundle.environment": self.target,
            "workspace.file_path": self.sync_root or self.file_path,
            "workspace.root_path": self.file_path,
            "workspace.current_user.userName": user,
            "workspace.current_user.short_name": user.split("@")[0],
            "workspace.current_user.displayName": user,
            "workspace.current_user.user_name": user,
        }
        if path in fixed:
            return fixed[path]
        if parts[0] == "bundle" and parts[1:2] == ["git"] and len(parts) == 3:
            return self._git_field(parts[2], path)
        if parts[0] in ("bundle", "workspace") and len(parts) >= 2:
            found = _field(self.bundle if parts[0] == "bundle" else self.workspace, parts[1:])
            if found is not None:
                return found
            if parts[0] == "workspace" and len(parts) == 2 and parts[1] in DERIVED_PATHS:
                return f"{self.file_path}/{DERIVED_PATHS[parts[1]]}"
        if parts[0] in ("var", "variables") and len(parts) >= 2:
            name = parts[1]
            if name not in self.variables:
                raise KeyError(f"undefined variable '{name}' in ${{{path}}}; declare it under "
                               f"`variables:` or pass --var {name}=VALUE")
            value = self.variables[name]
            rest = parts[2:] if parts[0] == "var" else parts[3:]
            for part in rest:
                if not isinstance(value, dict) or part not in value:
                    raise KeyError(f"variable '{name}' has no field '{part}' in ${{{path}}}")
                value = value[part]
            return value
        if parts[0] == "resources" and len(parts) == 4 and parts[1] == "jobs":
            if parts[2] not in self.job_ids:
                raise KeyError(f"unknown job '{parts[2]}' in ${{{path}}}; "
                               f"defined jobs: {', '.join(sorted(self.job_ids)) or 'none'}")
            if parts[3] in ("id", "name"):
                return self.job_ids[parts[2]] if parts[3] == "id" else parts[2]
        if parts[0] == "resources" and len(parts) >= 4:
            return self._resource(path, parts[1], parts[2], ".".join(parts[3:]))
        raise KeyError(f"unknown reference ${{{path}}}; podium knows ${{var.<name>}}, "
                       "${bundle.name}, ${bundle.target}, ${workspace.*} and "
                       "${resources.<type>.<key>.<field>}")

    def _git_field(self, name: str, path: str) -> str:
        """`${bundle.git.<name>}`: set under `bundle.git`, else what git says of the bundle
        root; outside a git checkout empty, with one warning (as the Databricks CLI)."""
        written = _field(self.bundle, ["git", name])
        if written is not None:
            return str(written)
        if name not in GIT_FIELDS:
            raise KeyError(f"unknown reference ${{{path}}}; bundle.git has "
                           f"{', '.join(GIT_FIELDS)}")
        if self._git is None:
            self._git = git_info(self.file_path)
        if not self._git and "git" not in self.warned:
            self.warned.add("git")
            self.problems.append(Problem(
                self.location or Location(path), f"${{{path}}}: {self.file_path} is not in a "
                "git checkout; ${bundle.git.*} are empty", "warning"))
        return self._git.get(name, "")

    def _resource(self, path: str, kind: str, key: str, attribute: str) -> Any:
        """`${resources.<kind>.<key>.<field>}` of a resource that is not a job: its `id`
        is its key locally (a pipeline, a shared cluster), other fields are its own
        (a schema's `name` and `catalog_name`, a volume's, a secret scope's `name`)."""
        items = self.resources.get(kind)
        if not isinstance(items, dict) or key not in items:
            known = ", ".join(sorted(items)) if isinstance(items, dict) else "none"
            raise KeyError(f"unknown {kind} '{key}' in ${{{path}}}; defined: {known}")
        value: Any = items[key]
        if attribute == "id" and not (isinstance(value, dict) and "id" in value):
            return key
        for part in attribute.split("."):
            if not isinstance(value, dict) or part not in value:
                if attribute == "name":  # a resource without a name field goes by its key
                    return key
                if kind not in DEPLOYED:  # a field the workspace would give, e.g. space_id
                    if path not in self.warned:
                        self.warned.add(path)
                        self.problems.append(Problem(
                            self.location or Location(path), f"${{{path}}}: resources."
                            f"{kind} are not deployed locally; it stands for '{key}'",
                            "warning"))
                    return key
                raise KeyError(f"resources.{kind}.{key} has no field '{attribute}' in "
                               f"${{{path}}}")
            value = value[part]
        if isinstance(value, str) and "${" in value:  # the field's own references
            where = items.loc_of(key) if isinstance(items, YMap) else Location(path)
            value = interpolate(value, self, where)
        return value


# Resource kinds podium makes locally; fields of others that the workspace would give (an
# app's url, a Genie space's space_id) stand for the resource's key.
DEPLOYED = ("jobs", "clusters", "schemas", "volumes", "pipelines")
GIT_FIELDS = ("origin_url", "branch", "commit", "actual_branch", "bundle_root_path",
              "inferred")
# `${workspace.x}` paths the Databricks CLI derives from the root path.
DERIVED_PATHS = {"artifact_path": "artifacts", "state_path": "state",
                 "resource_path": "resources"}


def _field(mapping: Any, parts: list[str]) -> Any:
    """The scalar at `parts` inside nested mappings, or None."""
    for part in parts:
        if not isinstance(mapping, dict) or part not in mapping:
            return None
        mapping = mapping[part]
    return None if isinstance(mapping, (dict, list)) else mapping


def git_info(folder: str) -> dict[str, str]:
    """What git says of the checkout `folder` is in (empty when it is in none):
    `origin_url`, `branch`, `commit`, as the Databricks CLI fills `bundle.git`."""
    def ask(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", folder, *args], capture_output=True,
                                  text=True, check=False, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    top = ask("rev-parse", "--show-toplevel")
    if not top:
        return {}
    branch = ask("rev-parse", "--abbrev-ref", "HEAD")
    branch = "" if branch == "HEAD" else branch
    return {"origin_url": ask("remote", "get-url", "origin"), "branch": branch,
            "actual_branch": branch, "commit": ask("rev-parse", "HEAD"),
            "bundle_root_path": os.path.relpath(folder, top), "inferred": "true"}


def interpolate(node: Any, ctx: Context, loc: Location) -> Any:
    """Substitute `${...}` everywhere in `node`; a string that is exactly one reference
    to a complex variable becomes that value. Problems are collected in `ctx`."""
    if isinstance(node, YMap):
        out = YMap(loc=node.loc)
        out.key_locs = node.key_locs
        for key, value in node.items():
            out[key] = interpolate(value, ctx, node.loc_of(key))
        return out
    if isinstance(node, YList):
        out_list = YList(loc=node.loc)
        out_list.item_locs = node.item_locs
        out_list.extend(interpolate(v, ctx, node.loc_of(i)) for i, v in enumerate(node))
        return out_list
    if isinstance(node, dict):
        return {k: interpolate(v, ctx, loc) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, ctx, loc) for v in node]
    if not isinstance(node, str) or "${" not in node:
        return node
    whole = INTERPOLATION.fullmatch(node)
    ctx.location = loc
    try:
        if whole:
            return ctx.lookup(whole.group(1))
        return INTERPOLATION.sub(lambda m: _text(ctx.lookup(m.group(1))), node)
    except KeyError as exc:
        ctx.problems.append(Problem(loc, exc.args[0]))
        return node


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


LOOKUP_KINDS = ("alert", "cluster", "cluster_policy", "dashboard", "instance_pool", "job",
                "metastore", "notification_destination", "pipeline", "query",
                "service_principal", "warehouse")


def _look_up(name: str, spec: Any, loc: Location, ctx: Context,
             problems: list[Problem]) -> str:
    """The id a `lookup` variable names in this workspace (a shared cluster, a cluster
    policy, a job); else a stand-in whose use by a job that runs is the error."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in LOOKUP_KINDS:
        problems.append(Problem(loc, f"variable '{name}': `lookup` needs exactly one of "
                                f"{', '.join(LOOKUP_KINDS)} with the object's name"))
        return ""
    kind, wanted = next(iter(spec.items()))
    found = ctx.lookups(kind, str(wanted)) if ctx.lookups is not None else None
    if found is not None:
        return found
    stand_in = f"<lookup of {kind} '{wanted}' for variable '{name}' found nothing>"
    ctx.unresolved[stand_in] = Problem(
        loc, f"variable '{name}' looks up {kind} '{wanted}', which this workspace does not "
        "have (podium finds clusters, cluster policies, jobs and SQL warehouses); create it, "
        f"or give the variable a value with --var {name}=VALUE")
    return stand_in


def resolve_values(
    declared: YMap,
    target_values: YMap | None,
    cli_values: dict[str, str],
    problems: list[Problem],
    ctx: Context,
) -> dict[str, Any]:
    """Choose each variable's value by precedence, then resolve `${var.x}` inside values."""
    raw: dict[str, Any] = {}
    where: dict[str, Location] = {}
    for name, spec in declared.items():
        loc = declared.loc_of(name)
        where[name] = loc
        spec = spec if isinstance(spec, dict) else {"default": spec}
        if "lookup" in spec:
            raw[name] = _look_up(name, spec["lookup"],
                                 spec.loc_of("lookup") if isinstance(spec, YMap) else loc,
                                 ctx, problems)
        if "default" in spec:
            raw[name] = spec["default"]
    for name, value in (target_values or {}).items():
        loc = target_values.loc_of(name) if isinstance(target_values, YMap) else Location("")
        if name not in declared:
            problems.append(Problem(loc, f"target sets variable '{name}' which is not declared; "
                                         "declare it under the top-level `variables:`"))
            continue
        is_complex = isinstance(declared[name], dict) and declared[name].get("type") == "complex"
        if isinstance(value, dict) and ("default" in value or "lookup" in value):
            if "lookup" in value:
                raw[name] = _look_up(name, value["lookup"], loc, ctx, problems)
            if "default" in value:
                raw[name] = value["default"]
        elif isinstance(value, dict) and not is_complex:
            problems.append(Problem(loc, f"variable '{name}' is not `type: complex`, so its "
                                         "target value must be a plain value"))
        else:
            raw[name] = value
    for name in declared:
        env = os.environ.get(f"BUNDLE_VAR_{name}")
        if env is not None:
            raw[name] = env
    for name, value in cli_values.items():
        if name not in declared:
            problems.append(Problem(Location("--var"), f"variable '{name}' is not declared in "
                                    "the bundle; declare it under `variables:` or drop --var"))
            continue
        raw[name] = value
    for name in declared:
        if name not in raw:
            problems.append(Problem(where[name], f"variable '{name}' has no value; give it a "
                                    f"`default`, pass --var {name}=VALUE or set "
                                    f"BUNDLE_VAR_{name}"))
    # Values may refer to other variables; substitute until nothing changes.
    ctx.variables = dict(raw)
    for _ in range(len(raw) + 1):
        before = dict(ctx.variables)
        scratch = Context(ctx.variables, ctx.bundle_name, ctx.target, ctx.file_path, ctx.job_ids,
                          resources=ctx.resources, lookups=ctx.lookups, bundle=ctx.bundle,
                          workspace=ctx.workspace, warned=ctx.warned,
                          sync_root=ctx.sync_root)
        ctx.variables = {k: interpolate(v, scratch, where.get(k, Location(""))) for k, v in
                         ctx.variables.items()}
        ctx.problems += [p for p in scratch.problems if p.severity == "warning"]
        if ctx.variables == before:
            break
    for name, value in ctx.variables.items():
        if isinstance(value, str) and INTERPOLATION.search(value):
            problems.append(Problem(where.get(name, Location("")),
                                    f"variable '{name}' refers to itself or to an undefined "
                                    f"value: {value}"))
    return ctx.variables
