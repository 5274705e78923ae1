"""Load a Databricks Asset Bundle (or podium.yml) into validated job models.

Order, as the Databricks CLI does it: root file, `include` globs, choose the target,
merge the target over the top level, resolve variables, substitute `${...}`, apply the
target's mode and presets, then validate every job. All problems are gathered and raised
together in one BundleError.
"""

from __future__ import annotations

import difflib
import getpass
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

from pydantic import ValidationError

from podium.spec import checks, merge
from podium.spec.checks import Policies
from podium.spec.errors import NOTE, BundleError, Location, Problem, relative
from podium.spec.models import (
    ClusterSpec,
    Job,
    PipelineResource,
    SchemaResource,
    VolumeResource,
)
from podium.spec.pipelines import attach_pipelines
from podium.spec.pydantic_errors import problems_from
from podium.spec.python_resources import load_python_resources
from podium.spec.variables import Context, interpolate, resolve_values
from podium.spec.yaml_source import YList, YMap, load_yaml_file

ROOT_FILES = ("databricks.yml", "databricks.yaml", "podium.yml", "podium.yaml")
TOP_LEVEL = ("bundle", "include", "variables", "workspace", "targets", "resources",
             "artifacts", "sync", "permissions", "run_as", "presets", "experimental",
             "python", "scripts", "environments")
TARGET_KEYS = ("default", "mode", "presets", "variables", "resources", "bundle", "workspace",
               "artifacts", "sync", "permissions", "run_as", "git", "cluster_id", "compute_id")
LOCAL_RESOURCES = ("jobs", "clusters", "schemas", "volumes", "pipelines")


@dataclass
class Bundle:
    """A loaded bundle: its jobs and shared clusters, resolved for one target."""

    root: Path
    name: str
    target: str
    jobs: dict[str, Job]
    clusters: dict[str, ClusterSpec]
    variables: dict[str, Any]
    files: list[str]
    warnings: list[Problem] = field(default_factory=list)
    unresolved: dict[str, Problem] = field(default_factory=dict)  # lookups found nothing
    artifacts: dict[str, Any] = field(default_factory=dict)  # as read, with positions
    schemas: dict[str, SchemaResource] = field(default_factory=dict)
    volumes: dict[str, VolumeResource] = field(default_factory=dict)
    pipelines: dict[str, PipelineResource] = field(default_factory=dict)

    def lookups_failing(self, job: Job) -> list[Problem]:
        """The `lookup` variables this job uses that found nothing: why it cannot run."""
        if not self.unresolved:
            return []
        text = job.model_dump_json()
        return [p for stand_in, p in self.unresolved.items()
                if json.dumps(stand_in)[1:-1] in text]

    def job(self, key: str) -> Job:
        """The job with this resource key, or a located error naming the known ones."""
        found = self.find_job(key)
        if found is not None:
            return found
        known = [*self.jobs, *self.pipelines]
        if not known:
            raise BundleError([Problem(Location(self.files[0]), f"no job '{key}': bundle "
                                       f"'{self.name}' defines no jobs or pipelines; add one "
                                       "under resources.jobs")])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        listing = "; ".join(f"its {kind} are: {', '.join(sorted(items))}" for kind, items in
                            (("jobs", self.jobs), ("pipelines", self.pipelines)) if items)
        raise BundleError([Problem(Location(self.files[0]), f"no job or pipeline '{key}' in "
                                   f"bundle '{self.name}'; {hint}{listing}")])

    def find_job(self, key: str) -> Job | None:
        """The job with this key, or else this name; None if there is none."""
        if key in self.jobs:
            return self.jobs[key]
        return next((j for j in self.jobs.values() if j.name == key), None)

    def pipeline(self, key: str) -> tuple[str, PipelineResource] | None:
        """The pipeline with this key, or else this name, with its key; None if none."""
        if key in self.pipelines:
            return key, self.pipelines[key]
        return next(((k, p) for k, p in self.pipelines.items() if p.name == key), None)


def find_root(start: Path) -> Path:
    """The bundle's root file in `start` or the nearest parent folder that has one."""
    start = start.resolve()
    if start.is_file():
        return start
    for folder in (start, *start.parents):
        for name in ROOT_FILES:
            if (folder / name).is_file():
                return folder / name
    raise BundleError([Problem(Location(str(start)), "no databricks.yml or podium.yml here or "
                               "in any parent folder; pass --bundle DIR or create one")])


def load_bundle(
    start: Path | str = ".",
    target: str | None = None,
    variables: dict[str, str] | None = None,
    policies: Policies | None = None,
    lookups: Callable[[str, str], str | None] | None = None,
) -> Bundle:
    """Load, merge, resolve and validate a bundle; raise BundleError with every problem.
    `policies` gives the workspace's cluster policies for job clusters that name one;
    `lookups` finds the workspace objects `lookup` variables name."""
    root_file = find_root(Path(start))
    root_dir = root_file.parent
    problems: list[Problem] = []
    config = load_yaml_file(root_file, root_dir)
    files = [relative(root_file, root_dir)]
    _check_keys(config, TOP_LEVEL, "the bundle", problems)
    config = _with_includes(config, root_dir, files, problems)
    _raise_errors(problems)

    bundle_node = config.get("bundle") if isinstance(config.get("bundle"), dict) else YMap()
    name = str(bundle_node.get("name") or root_dir.name)
    targets = config.get("targets") or config.get("environments") or YMap(loc=config.loc)
    target_name, target_node = _choose_target(targets, target, config, problems)
    _raise_errors(problems)

    duplicates: list[Problem] = []  # reported with the job checks, not instead of them
    for source in (config, target_node or {}):
        resources = source.get("resources") if isinstance(source, dict) else None
        jobs = resources.get("jobs") if isinstance(resources, dict) else None
        for key, job in (jobs or {}).items() if isinstance(jobs, dict) else ():
            for loc, message in merge.duplicate_keys(job, f"job '{key}'"):
                duplicates.append(Problem(loc, message))

    merged = YMap(loc=config.loc)
    merged.key_locs = config.key_locs
    for key in ("resources", "presets", "bundle", "workspace", "artifacts", "sync"):
        base = config.get(key, YMap(loc=config.loc))
        over = target_node.get(key) if target_node else None
        merged[key] = merge.merge(base, over) if over is not None else base
    jobs_raw = merged["resources"].get("jobs") if isinstance(merged["resources"], dict) else None
    jobs_raw = jobs_raw if isinstance(jobs_raw, dict) else YMap()
    for job in jobs_raw.values():
        merge.collapse_job(job)

    ctx = Context({}, name, target_name, str(root_dir), {k: k for k in jobs_raw},
                  resources=dict(merged["resources"]) if isinstance(merged["resources"], dict)
                  else {}, lookups=lookups,
                  bundle=merged["bundle"] if isinstance(merged["bundle"], dict) else {},
                  workspace=merged["workspace"] if isinstance(merged["workspace"], dict)
                  else {}, sync_root=str(sync_root(root_dir, merged["sync"], problems)))
    declared = config.get("variables") or YMap(loc=config.loc)
    target_vars = target_node.get("variables") if target_node else None
    values = resolve_values(declared, target_vars, variables or {}, problems, ctx)
    _raise_errors(problems)
    _add_python_resources(merged["resources"], load_python_resources(
        config, root_dir, name, target_name, values, problems), ctx, problems)
    _raise_errors(problems)

    resources = interpolate(merged["resources"], ctx, config.loc)
    presets = interpolate(merged["presets"], ctx, config.loc)
    artifacts = interpolate(merged["artifacts"], ctx, config.loc)
    problems += ctx.problems
    _raise_errors(problems)

    warnings = _ignored_resources(resources)
    mode = target_node.get("mode") if target_node else None
    jobs_raw = resources.get("jobs") or YMap()
    _apply_mode_and_presets(jobs_raw, mode, presets)

    jobs: dict[str, Job] = {}
    shared_raw = resources.get("clusters") or YMap()
    clusters = _validate_clusters(shared_raw, problems, policies)
    schemas = _validate_resources(resources.get("schemas"), SchemaResource, "schemas", problems)
    volumes = _validate_resources(resources.get("volumes"), VolumeResource, "volumes", problems)
    pipelines = _validate_resources(resources.get("pipelines"), PipelineResource, "pipelines",
                                    problems)
    for key, raw in jobs_raw.items():
        where = f"resources.jobs.{key}"
        if not isinstance(raw, dict):
            problems.append(Problem(jobs_raw.loc_of(key), f"{where} must be a mapping"))
            continue
        try:
            job = Job.model_validate(raw)
        except ValidationError as exc:
            problems += problems_from(exc, raw, where)
            continue
        if job.name is None:
            job.name = key
        problems += checks.check_job(key, job, set(clusters), policies)
        problems += attach_pipelines(key, job, pipelines)
        jobs[key] = job
    warnings += [p for p in problems if p.severity in ("warning", NOTE)]
    warnings += [replace(p, message=p.message + "; the jobs that use it will not run",
                         severity="warning") for p in ctx.unresolved.values()]
    _raise_errors(problems + duplicates)
    return Bundle(root_dir, name, target_name, jobs, clusters, values, files, warnings,
                  ctx.unresolved, artifacts if isinstance(artifacts, dict) else {},
                  schemas, volumes, pipelines)


def sync_root(root: Path, sync: Any, problems: list[Problem]) -> Path:
    """The root of the tree the Databricks CLI syncs: the common parent of the bundle root
    and its `sync.paths` (which may lie outside it, `../shared`). Locally the files are
    already laid out so; `${workspace.file_path}` is this folder."""
    paths = sync.get("paths") if isinstance(sync, dict) else None
    folders = [root.resolve()]
    for i, written in enumerate(paths if isinstance(paths, list) else []):
        where = paths.loc_of(i) if isinstance(paths, YList) else Location(str(root))
        folder = (where.folder() / str(written)).resolve()
        if not folder.exists():
            problems.append(Problem(where, f"sync path '{written}' does not exist "
                                    f"(looked at {folder})", "warning"))
        folders.append(folder)
    return Path(os.path.commonpath([str(f) for f in folders]))


def _add_python_resources(resources: Any, made: YMap, ctx: Context,
                          problems: list[Problem]) -> None:
    """Put the resources Python code defined beside the YAML ones (before `${...}` is
    filled in, so they refer to each other as YAML resources do); one defined in both is
    an error."""
    if not isinstance(resources, YMap):
        return
    for kind, items in made.items():
        into = resources.get(kind)
        if not isinstance(into, YMap):
            into = resources[kind] = YMap(loc=items.loc)
            resources.key_locs[kind] = items.loc
        for key, node in items.items():
            if key in into:
                problems.append(Problem(node.loc, f"resources.{kind}.{key} is defined in YAML "
                                        f"(at {into.loc_of(key)}) and in Python; keep one"))
                continue
            into[key] = node
            into.key_locs[key] = node.loc
            if kind == "jobs":
                merge.collapse_job(node)
                ctx.job_ids[key] = key
        ctx.resources[kind] = into


def _raise_errors(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise BundleError(errors)


MAPPINGS = ("bundle", "variables", "targets", "environments", "resources", "presets",
            "workspace")


def _check_shape(node: YMap, where: str, problems: list[Problem]) -> None:
    """Sections that must be mappings are; a wrong one is reported and emptied so the rest
    of the bundle can still be checked."""
    for key in MAPPINGS:
        if key in node and node[key] is None:  # `targets:` with nothing under it: none
            node[key] = YMap(loc=node.loc_of(key))
        elif key in node and not isinstance(node[key], dict):
            problems.append(Problem(node.loc_of(key), f"`{key}` in {where} must be a mapping, "
                                    f"not {_kind(node[key])}; fix its indentation or value"))
            node[key] = YMap(loc=node.loc_of(key))
    resources = node.get("resources")
    for kind, items in (resources or {}).items():
        if items is None:
            resources[kind] = YMap(loc=resources.loc_of(kind))
        elif not isinstance(items, dict):
            problems.append(Problem(resources.loc_of(kind), f"resources.{kind} must be a "
                                    f"mapping of names to definitions, not {_kind(items)}"))
            resources[kind] = YMap(loc=resources.loc_of(kind))
    if "include" in node and not isinstance(node["include"], list):
        problems.append(Problem(node.loc_of("include"), "`include` must be a list of globs"))
        node["include"] = YList(loc=node.loc_of("include"))


def _kind(value: Any) -> str:
    return "empty" if value is None else f"a {type(value).__name__.lower().lstrip('y')}"


def _check_keys(node: YMap, allowed: tuple[str, ...], where: str, problems: list[Problem]) -> None:
    _check_shape(node, where, problems)
    for key in node:
        if key not in allowed:  # the Databricks CLI warns and goes on (anchor holders)
            problems.append(Problem(node.loc_of(key), f"unknown top-level field '{key}' in "
                                    f"{where}" + checks.suggest(key, list(allowed)),
                                    "warning"))


def _with_includes(config: YMap, root_dir: Path, files: list[str],
                   problems: list[Problem]) -> YMap:
    patterns = config.get("include") or []
    for i, pattern in enumerate(patterns):
        loc = patterns.loc_of(i) if isinstance(patterns, YList) else config.loc
        text = "" if pattern is None else str(pattern)
        if not text.strip():
            problems.append(Problem(loc, "an include pattern is empty; give a glob relative "
                                    "to the bundle root, such as resources/*.yml"))
            continue
        given = PurePath(text)  # an absolute pattern globs from its own anchor
        base = Path(given.anchor) if given.is_absolute() else root_dir
        try:
            matches = sorted(p for p in base.glob(str(given.relative_to(given.anchor))
                                                  if given.is_absolute() else text)
                             if p.is_file())
        except ValueError as exc:
            problems.append(Problem(loc, f"include pattern '{text}' is not a glob ({exc})"))
            continue
        if not matches:  # templates include resources/*/*.yml whether or not it exists
            problems.append(Problem(loc, f"include pattern '{pattern}' matches no file "
                                    "(globs are relative to the bundle root)", "warning"))
        for path in matches:
            shown = relative(path, root_dir)
            if shown in files:
                continue
            files.append(shown)
            try:
                part = load_yaml_file(path, root_dir)
            except BundleError as exc:
                problems += exc.problems
                continue
            _check_keys(part, TOP_LEVEL, shown, problems)
            _duplicate_resources(config, part, problems)
            config = merge.merge(config, part)
    return config


def _duplicate_resources(config: YMap, part: YMap, problems: list[Problem]) -> None:
    ours, theirs = config.get("resources") or {}, part.get("resources") or {}
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return
    for kind, items in theirs.items():
        if isinstance(items, YMap) and isinstance(ours.get(kind), dict):
            for key in items:
                if key in ours[kind]:
                    problems.append(Problem(items.loc_of(key), f"resources.{kind}.{key} is "
                                            f"defined twice (also at {ours[kind].loc_of(key)}); "
                                            "keep one definition"))


def _choose_target(targets: Any, wanted: str | None, config: YMap,
                   problems: list[Problem]) -> tuple[str, YMap | None]:
    if not isinstance(targets, dict) or not targets:
        if wanted:
            problems.append(Problem(config.loc, f"target '{wanted}' is not defined; the bundle "
                                    "has no `targets`"))
        return (wanted or "default"), None
    for tname, node in targets.items():
        if isinstance(node, YMap):
            _check_keys(node, TARGET_KEYS, f"target '{tname}'", problems)
    if wanted is None:
        defaults = [k for k, v in targets.items() if isinstance(v, dict) and v.get("default")]
        if len(defaults) > 1:
            problems.append(Problem(targets.loc, "more than one target has `default: true`; "
                                    "keep one or pass -t TARGET"))
        wanted = defaults[0] if defaults else (next(iter(targets)) if len(targets) == 1 else None)
        if wanted is None:
            problems.append(Problem(targets.loc, "no target has `default: true`; pass -t "
                                    f"TARGET (one of {', '.join(targets)})"))
            return "default", None
    if wanted not in targets:
        problems.append(Problem(targets.loc, f"target '{wanted}' is not defined"
                                + checks.suggest(wanted, list(targets))
                                + f" (targets: {', '.join(targets)})"))
        return wanted, None
    node = targets[wanted]
    return wanted, node if isinstance(node, YMap) else None


def _ignored_resources(resources: Any) -> list[Problem]:
    if not isinstance(resources, YMap):
        return []
    return [Problem(resources.loc_of(kind), f"resources.{kind} is not deployed locally; podium "
                    "makes jobs, shared clusters, pipelines, schemas and volumes", "warning")
            for kind in resources if kind not in LOCAL_RESOURCES]


def _apply_mode_and_presets(jobs: YMap, mode: Any, presets: Any) -> None:
    """Development mode and presets, as the Databricks CLI applies them to jobs."""
    presets = presets if isinstance(presets, dict) else {}
    user = getpass.getuser()
    prefix = presets.get("name_prefix")
    if prefix is None and mode == "development":
        prefix = f"[dev {user}] "
    for key, job in jobs.items():
        if not isinstance(job, dict):
            continue
        if prefix:
            job["name"] = f"{prefix}{job.get('name') or key}"
        tags = dict(presets.get("tags") or {})
        if mode == "development":
            tags.setdefault("dev", user)
        if tags and (isinstance(job.get("tags"), dict) or "tags" not in job):
            job["tags"] = {**tags, **(job.get("tags") or {})}
        runs = presets.get("jobs_max_concurrent_runs") or (4 if mode == "development" else None)
        if runs and "max_concurrent_runs" not in job:
            job["max_concurrent_runs"] = runs
        pause = presets.get("trigger_pause_status") or (
            "PAUSED" if mode == "development" else None)
        for start in ("schedule", "trigger", "continuous"):
            if pause and isinstance(job.get(start), dict) and \
                    "pause_status" not in job[start]:
                job[start]["pause_status"] = pause


def _validate_resources(raw: Any, model: type[Any], kind: str,
                        problems: list[Problem]) -> dict[str, Any]:
    """`resources.<kind>` entries as `model`s; each bad one a located problem."""
    found: dict[str, Any] = {}
    for key, node in (raw.items() if isinstance(raw, dict) else ()):
        try:
            found[key] = model.model_validate(node)
        except ValidationError as exc:
            problems += problems_from(exc, node, f"resources.{kind}.{key}")
    return found


def _validate_clusters(raw: Any, problems: list[Problem],
                       policies: Policies | None = None) -> dict[str, ClusterSpec]:
    clusters: dict[str, ClusterSpec] = {}
    if not isinstance(raw, dict):
        return clusters
    for key, node in raw.items():
        try:
            clusters[key] = ClusterSpec.model_validate(node)
        except ValidationError as exc:
            problems += problems_from(exc, node, f"resources.clusters.{key}")
            continue
        problems += checks.extra_fields(clusters[key], f"resources.clusters.{key}")
        problems += checks.library_problems(clusters[key].libraries)
        problems += checks.podium_settings(clusters[key], f"resources.clusters.{key}")
        for library in clusters[key].libraries:
            problems += checks.jar_path(library)
        problems += checks.follows_policy(clusters[key], f"resources.clusters.{key}",
                                          "all-purpose", policies)
    return clusters
