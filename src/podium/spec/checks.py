"""Checks that need the whole job: the DAG, clusters, references, files, extra fields."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from podium.spec import policies as policies_mod
from podium.spec import quartz, references, workspace
from podium.spec.errors import NOTE, Location, Problem
from podium.spec.models import (
    JIT_CONF,
    JIT_MODES,
    TASK_TYPES,
    UNSUPPORTED_TASK_TYPES,
    ClusterSpec,
    Job,
    Node,
    Task,
)
from podium.spec.paths import find_file
from podium.spec.yaml_source import YList, YMap

COMMON_MISTAKES: dict[str, str] = {
    "concurrent_run": "max_concurrent_runs",
    "concurrent_runs": "max_concurrent_runs",
    "depends": "depends_on",
    "retries": "max_retries",
    "timeout": "timeout_seconds",
    "cluster_key": "job_cluster_key",
    "notebook": "notebook_task",
    "parameters_file": "parameters",
}


def suggest(word: str, choices: list[str]) -> str:
    """A ` did you mean 'x'?` suffix when a close field name exists, else ''."""
    if word in COMMON_MISTAKES and COMMON_MISTAKES[word] in choices:
        return f"; did you mean '{COMMON_MISTAKES[word]}'?"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else "; remove it"


def extra_fields(node: Node, where: str, unknown: str = "warning") -> Iterator[Problem]:
    """Unknown fields (a warning, as the Databricks CLI says them; `unknown="error"` for
    the Jobs API, which refuses them) and cloud-only fields, recursively: those are
    notes (`podium validate` lists them; runs say nothing), since every bundle has some."""
    known = list(type(node).model_fields) + sorted(type(node).IGNORED)
    for key in node.model_extra or {}:
        if key in UNSUPPORTED_TASK_TYPES and isinstance(node, Task):
            continue  # task_types says it, once
        if key in type(node).IGNORED:
            if key in UNSUPPORTED_TASK_TYPES:
                yield Problem(node.loc_of(key), f"{where}.{key} is a task type podium does "
                              "not run", "warning")
            else:
                yield Problem(node.loc_of(key), f"{where}.{key} is ignored locally", NOTE)
        else:  # the field is not used
            yield Problem(node.loc_of(key), f"unknown field '{key}' in {where}"
                          + suggest(key, known), unknown)
    for name in type(node).model_fields:
        value = getattr(node, name)
        for i, child in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(child, Node):
                label = getattr(child, "task_key", None) or getattr(child, "job_cluster_key", None)
                suffix = f"[{label}]" if label else (f"[{i}]" if isinstance(value, list) else "")
                yield from extra_fields(child, f"{where}.{name}{suffix}", unknown)


def task_types(task: Task) -> Iterator[Problem]:
    """Exactly one task type per task."""
    present = [t for t in TASK_TYPES if getattr(task, t) is not None]
    unsupported = [t for t in UNSUPPORTED_TASK_TYPES if t in (task.model_extra or {})]
    if len(present) == 0 and not unsupported:
        yield Problem(task.loc, f"task '{task.task_key}' has no task type; add one of "
                      + ", ".join(TASK_TYPES))
    elif len(present) + len(unsupported) > 1:
        both = present + unsupported
        yield Problem(task.loc_of(both[1]), f"task '{task.task_key}' sets {len(both)} task "
                      f"types ({', '.join(both)}); keep exactly one")
    elif unsupported:  # the Databricks CLI deploys it; only this task fails in a run
        yield Problem(task.loc_of(unsupported[0]), f"task '{task.task_key}' is a "
                      f"{unsupported[0]}, which podium does not run: that task fails when "
                      "the job runs and its dependents follow their run_if; or use "
                      "notebook_task, spark_python_task, sql_task or python_task",
                      "warning")


# Databricks' rule for a task key; here it also names the task's log folder.
TASK_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}")


def task_keys(job: Job) -> Iterator[Problem]:
    """A task key that Databricks would refuse (and that would lead its log folder
    elsewhere: '../x')."""
    for task in all_tasks(job):
        if not TASK_KEY.fullmatch(task.task_key):
            yield Problem(task.loc_of("task_key"), f"task key '{task.task_key}' may hold only "
                          "letters, digits, '_' and '-' (1 to 100 of them); rename it")


def graph(job: Job) -> Iterator[Problem]:
    """Known dependencies, no cycles, condition outcomes well placed (duplicate keys are
    caught before the merge, by `merge.duplicate_keys`)."""
    seen = {task.task_key: task for task in job.tasks}
    for task in job.tasks:
        for dep in task.depends_on:
            if dep.task_key not in seen:
                yield Problem(dep.loc_of("task_key"), f"task '{task.task_key}' depends on "
                              f"'{dep.task_key}', which is not a task of this job"
                              + suggest(dep.task_key, list(seen)))
            elif dep.outcome is not None and seen[dep.task_key].condition_task is None:
                yield Problem(dep.loc_of("outcome"), f"'outcome' is only for dependencies on "
                              f"a condition_task, and '{dep.task_key}' is not one; remove it")
    sorter = TopologicalSorter(
        {t.task_key: [d.task_key for d in t.depends_on if d.task_key in seen] for t in job.tasks}
    )
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        first = seen[cycle[0]]
        yield Problem(first.loc_of("depends_on"), "dependency cycle: " + " -> ".join(cycle)
                      + "; remove one of these depends_on entries")


def upstream(job: Job) -> dict[str, set[str]]:
    """For each task, every task it depends on directly or transitively."""
    direct = {t.task_key: {d.task_key for d in t.depends_on} for t in job.tasks}
    result: dict[str, set[str]] = {}

    def visit(key: str, trail: frozenset[str]) -> set[str]:
        if key in result:
            return result[key]
        found: set[str] = set()
        for dep in direct.get(key, ()):
            if dep not in trail:
                found |= {dep} | visit(dep, trail | {dep})
        result[key] = found
        return found

    for key in direct:
        visit(key, frozenset({key}))
    return result


def clusters(job: Job, shared: set[str]) -> Iterator[Problem]:
    """Job cluster keys that exist and at most one compute per task."""
    keys = [c.job_cluster_key for c in job.job_clusters]
    for task in all_tasks(job):
        if task.job_cluster_key and task.existing_cluster_id:
            yield Problem(task.loc_of("existing_cluster_id"), f"task '{task.task_key}' sets both "
                          "job_cluster_key and existing_cluster_id; keep one")
        if task.job_cluster_key and task.job_cluster_key not in keys:
            yield Problem(task.loc_of("job_cluster_key"), f"task '{task.task_key}' uses "
                          f"job_cluster_key '{task.job_cluster_key}', which is not in the job's "
                          "job_clusters" + (suggest(task.job_cluster_key, keys) if keys else
                                            "; add it under job_clusters"))


COORDINATE = re.compile(r"^([\w.\-]+):([\w.\-]+):([\w.\-+]+)$")
EXCLUSION = re.compile(r"^([\w.\-]+):([\w.\-*]+)$")


def coordinate_problem(coordinates: str) -> str | None:
    """Why `coordinates` is not `group:artifact:version`, or None when it is."""
    if COORDINATE.match(coordinates.strip()):
        return None
    return (f"maven coordinates '{coordinates}' are not 'group:artifact:version' "
            "(e.g. 'com.h2database:h2:2.3.232')")


def library_problems(libraries: list[Any]) -> Iterator[Problem]:
    """Malformed `maven` entries of a `libraries` list, each at its line."""
    for library in libraries:
        if library.maven is None:
            continue
        if problem := coordinate_problem(library.maven.coordinates):
            yield Problem(library.maven.loc_of("coordinates"), problem)
        for exclusion in library.maven.exclusions:
            if not EXCLUSION.match(exclusion.strip()):
                yield Problem(library.maven.loc_of("exclusions"),
                              f"maven exclusion '{exclusion}' is not 'group:artifact' "
                              "(e.g. 'org.slf4j:*')")


def all_tasks(job: Job) -> Iterator[Task]:
    """Every task of a job, including the nested task of each for_each_task."""
    for task in job.tasks:
        yield task
        if task.for_each_task is not None:
            yield task.for_each_task.task


def located_strings(value: Any, loc: Location, raw: Any = None
                    ) -> Iterator[tuple[str, Location]]:
    """Every string inside a (nested) model, dict or list, with where it is written."""
    if isinstance(value, str):
        yield value, loc
    elif isinstance(value, Node):
        for name in type(value).model_fields:
            yield from located_strings(getattr(value, name), value.loc_of(name),
                                       value.raw_of(name))
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = raw if isinstance(raw, YMap) else YMap(loc=loc)
            yield from located_strings(item, inner.loc_of(key) if key in inner.key_locs
                                       else loc, inner.get(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner_list = raw if isinstance(raw, YList) and len(raw) == len(value) else None
            yield from located_strings(item, inner_list.loc_of(index) if inner_list else loc,
                                       inner_list[index] if inner_list else None)


def dynamic_references(job: Job) -> Iterator[Problem]:
    """Every `{{...}}` is known, names a job parameter that exists, and an upstream task;
    a problem points at the value that holds the reference."""
    params = {p.name for p in job.parameters}
    ups = upstream(job)
    for task in job.tasks:
        nested = task.for_each_task.task if task.for_each_task else None
        for owner, in_loop in ((task, False), (nested, True)):
            if owner is None:
                continue
            payload = getattr(owner, owner.task_type, None) if _has_type(owner) else None
            texts = list(located_strings(payload, owner.loc_of(owner.task_type)
                                         if payload is not None else owner.loc))
            if owner is task and task.for_each_task is not None:
                fe = task.for_each_task
                texts = [(fe.inputs, fe.loc_of("inputs"))] if isinstance(fe.inputs, str) \
                    else []
            for text, where in texts:
                for expr in references.find(text):
                    message = _check_reference(expr, task, params, ups, in_loop)
                    if message:
                        yield Problem(where, message)


def _has_type(task: Task) -> bool:
    return any(getattr(task, t) is not None for t in TASK_TYPES)


def _check_reference(expr: str, task: Task, params: set[str], ups: dict[str, set[str]],
                     in_loop: bool) -> str | None:
    try:
        kind = references.classify(expr)
    except references.ReferenceError_ as exc:
        return f"task '{task.task_key}': {exc}"
    if kind[0] == "job.parameters" and kind[1] not in params:
        return (f"task '{task.task_key}' refers to job parameter '{kind[1]}', which the job "
                f"does not define; add it under the job's `parameters`"
                + (f" (defined: {', '.join(sorted(params))})" if params else ""))
    if kind[0] in ("tasks", "tasks.values") and kind[1] not in ups.get(task.task_key, set()):
        return (f"task '{task.task_key}' reads {{{{{expr}}}}} but '{kind[1]}' is not upstream of "
                f"it; add '{kind[1]}' to its depends_on")
    if kind[0] == "input" and not in_loop:
        return (f"task '{task.task_key}' uses {{{{{expr}}}}} outside a for_each_task; "
                "{{input}} only exists in the nested task of a for_each_task")
    return None


def for_each_inputs(job: Job) -> Iterator[Problem]:
    """`inputs` is a JSON array (literal or YAML list) or a single reference."""
    for task in job.tasks:
        fe = task.for_each_task
        if fe is None or isinstance(fe.inputs, list):
            continue
        text = fe.inputs.strip()
        if references.REFERENCE.fullmatch(text):
            continue
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            yield Problem(fe.loc_of("inputs"), f"for_each_task inputs of '{task.task_key}' must "
                          "be a JSON array (such as '[\"a\", \"b\"]') or a reference such as "
                          "'{{tasks.x.values.list}}'")


def files(job: Job) -> Iterator[Problem]:
    """Notebooks, Python files and SQL files exist; their paths become absolute."""
    for task in all_tasks(job):
        for attr, node, field in (
            ("notebook_path", task.notebook_task, "notebook_path"),
            ("python_file", task.spark_python_task, "python_file"),
            ("path", task.sql_task.file if task.sql_task else None, "path"),
        ):
            if node is None:
                continue
            written = getattr(node, attr)
            found = locate_file(written, node.loc)
            if found is None:
                kind = "notebook" if field == "notebook_path" else "file"
                yield Problem(node.loc_of(field), f"{kind} '{written}' of task "
                              f"'{task.task_key}' does not exist; paths are relative to the "
                              "YAML file that names them")
            elif not workspace.is_workspace_path(written):  # those stay as written
                setattr(node, attr, str(found))
    for task in all_tasks(job):
        if task.dbt_task is not None:
            yield from dbt_folders(task)
    for library in (lib for task in all_tasks(job) for lib in task.libraries):
        yield from jar_path(library)
    for cluster in job.job_clusters:
        for library in cluster.new_cluster.libraries:
            yield from jar_path(library)


def jar_path(library: Any) -> Iterator[Problem]:
    """A `jar` library written as a local path becomes absolute (relative to its YAML
    file); one that does not exist is a warning, since a build may make it later."""
    written = library.jar
    if not written or written.startswith("dbfs:/") or workspace.is_workspace_path(written):
        return
    path = Path(written).expanduser()
    if not path.is_absolute():
        path = library.loc_of("jar").folder() / path
    library.jar = str(path)
    if not path.is_file():
        yield Problem(library.loc_of("jar"), f"jar library '{written}' does not exist yet; "
                      "the cluster start fails unless it is built first", "warning")


def dbt_folders(task: Any) -> Iterator[Problem]:
    """A dbt task's project folder (relative to its YAML file; the bundle root when not
    given) holds a dbt_project.yml, and its profiles folder (relative to the project) is
    one; both become absolute."""
    spec = task.dbt_task
    base = spec.loc.folder()
    project = (base / spec.project_directory) if spec.project_directory else None
    if project is None:  # Databricks runs the project at the root of the synced files
        project = next((f for f in (base, *base.parents)
                        if (f / "dbt_project.yml").is_file()), base)
    project = project.resolve()
    where = spec.loc_of("project_directory") if spec.project_directory else spec.loc
    if not (project / "dbt_project.yml").is_file():
        yield Problem(where, f"dbt task '{task.task_key}': {project} has no dbt_project.yml; "
                      "point project_directory at the dbt project")
        return
    spec.project_directory = str(project)
    if spec.profiles_directory:
        profiles = (project / spec.profiles_directory).resolve()
        if not (profiles / "profiles.yml").is_file():
            yield Problem(spec.loc_of("profiles_directory"), f"dbt task '{task.task_key}': "
                          f"{profiles} has no profiles.yml (profiles_directory is relative "
                          "to the project)")
            return
        spec.profiles_directory = str(profiles)


def locate_file(written: str, loc: Location) -> Path | None:
    """A file named in YAML: relative to that YAML file, with `.py`/`.ipynb`/`.sql` tried."""
    if "{{" in written:
        return None
    path = Path(written)
    if not path.is_absolute():
        path = loc.folder() / path
    return find_file(path)


def sql_tasks(job: Job) -> Iterator[Problem]:
    """A SQL task runs a file or inline text; saved queries need a workspace."""
    for task in all_tasks(job):
        sql = task.sql_task
        if sql is None:
            continue
        if (sql.file is None) == (sql.query is None):
            yield Problem(sql.loc, f"sql_task of '{task.task_key}' needs exactly one of `file` "
                          "or `query`")
        elif sql.query is not None and not sql.query.text:
            yield Problem(sql.query.loc, f"sql_task of '{task.task_key}' names a saved query "
                          "(query_id), which needs a Databricks workspace; use `file: {path: "
                          "...}` or podium's `query: {text: ...}`")


def starts(job: Job, where: str) -> Iterator[Problem]:
    """What starts the job: one of schedule, trigger, continuous; a Quartz expression
    and time zone podium can honour; one trigger kind."""
    given = [k for k in ("schedule", "trigger", "continuous") if getattr(job, k) is not None]
    if len(given) > 1:
        yield Problem(job.loc_of(given[1]), f"{where} has both `{given[0]}` and "
                      f"`{given[1]}`; a job is started by one of schedule, trigger and "
                      "continuous")
    if job.schedule is not None:
        schedule = job.schedule
        try:
            quartz.parse(schedule.quartz_cron_expression)
        except quartz.QuartzError as exc:
            yield Problem(schedule.loc_of("quartz_cron_expression"), str(exc))
        try:
            quartz.zone_of(schedule.timezone_id)
        except quartz.QuartzError as exc:
            yield Problem(schedule.loc_of("timezone_id"), str(exc))
    if job.trigger is not None and len(job.trigger.kinds) != 1:
        yield Problem(job.trigger.loc, f"{where}.trigger needs exactly one of periodic, "
                      f"file_arrival and table_update (has "
                      f"{', '.join(job.trigger.kinds) or 'none'})")


Policies = Callable[[], dict[str, tuple[str, dict[str, Any]]]]  # id -> (name, rules)


def podium_settings(spec: ClusterSpec, label: str) -> Iterator[Problem]:
    """podium's own `spark_conf` settings that take one of a few words, checked here so
    a wrong one is a located error, not a cluster that fails to start."""
    value = spec.spark_conf.get(JIT_CONF)
    if value is None or str(value).strip().lower() in JIT_MODES:
        return
    raw = spec.raw_of("spark_conf")
    where = raw.loc_of(JIT_CONF) if isinstance(raw, YMap) and JIT_CONF in raw.key_locs \
        else spec.loc_of("spark_conf")
    yield Problem(where, f"{label}: {JIT_CONF} is '{value}'; use "
                  + " or ".join(f"'{m}'" for m in JIT_MODES))


def cluster_policies(job: Job, where: str, policies: Policies | None) -> Iterator[Problem]:
    """Job clusters that name a `policy_id` follow it (see `follows_policy`)."""
    known: dict[str, tuple[str, dict[str, Any]]] = {}
    for cluster in job.job_clusters:
        yield from follows_policy(cluster.new_cluster, f"{where}.job_clusters["
                                  f"{cluster.job_cluster_key}]", "job", policies, known)


def follows_policy(spec: ClusterSpec, label: str, cluster_type: str,
                   policies: Policies | None,
                   known: dict[str, tuple[str, dict[str, Any]]] | None = None
                   ) -> Iterator[Problem]:
    """A cluster spec naming a `policy_id` follows it: fixed (and, with
    `apply_policy_default_values`, default) values are set in the spec; each violation
    is an error at the attribute. A policy this workspace does not have is a warning.
    `known` caches the workspace's policies between calls."""
    if spec.policy_id is None:
        return
    known = {} if known is None else known
    if not known and policies is not None:
        known.update(policies())
    if spec.policy_id not in known:
        yield Problem(spec.loc_of("policy_id"), f"{label}: cluster policy "
                      f"'{spec.policy_id}' is not in this workspace, so it is not applied "
                      "(create it with the Cluster Policies API or `podium policies "
                      "create`)", "warning")
        return
    name, rules = known[spec.policy_id]
    given = spec.model_dump(mode="json", exclude_none=True)
    applied, violations = policies_mod.apply(rules, given, cluster_type,
                                             spec.apply_policy_default_values)
    for violation in violations:
        head = violation.attribute.split(".")[0]
        yield Problem(spec.loc_of(head if head in given else "policy_id"),
                      f"{label}: {violation} under cluster policy '{name}'; change the "
                      "cluster or the policy")
    if not violations:
        for field, value in applied.items():
            if field in type(spec).model_fields:
                setattr(spec, field, value)
            elif spec.model_extra is not None:
                spec.model_extra[field] = value


def check_job(key: str, job: Job, shared_clusters: set[str],
              policies: Policies | None = None, unknown: str = "warning") -> list[Problem]:
    """Every problem of one validated job, errors and warnings; `policies` gives the
    workspace's cluster policies (asked for only when a cluster names one); `unknown` is
    the severity of unknown fields."""
    problems: list[Problem] = list(extra_fields(job, f"resources.jobs.{key}", unknown))
    for task in all_tasks(job):
        problems += task_types(task)
        problems += library_problems(task.libraries)
    for cluster in job.job_clusters:
        problems += library_problems(cluster.new_cluster.libraries)
        problems += podium_settings(cluster.new_cluster, f"resources.jobs.{key}.job_clusters"
                                    f"[{cluster.job_cluster_key}]")
    problems += task_keys(job)
    problems += graph(job)
    problems += clusters(job, shared_clusters)
    problems += for_each_inputs(job)
    problems += dynamic_references(job)
    problems += sql_tasks(job)
    problems += starts(job, f"resources.jobs.{key}")
    problems += cluster_policies(job, f"resources.jobs.{key}", policies)
    if not any(p.severity == "error" for p in problems):
        problems += files(job)
    if not job.tasks:
        problems.append(Problem(job.loc, f"job '{key}' has no tasks; add at least one under "
                                "`tasks:`"))
    return problems
