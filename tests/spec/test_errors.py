"""Every bad-input case gives `file:line:col: error: what; what to do`, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.spec import BundleError, load_bundle

NB = {"nb.py": "# Databricks notebook source\n"}


def errors(root: Path, **kwargs) -> list[str]:
    """Load `root`, expect failure, and give each problem as `file:line: message`."""
    with pytest.raises(BundleError) as info:
        load_bundle(root, **kwargs)
    return [f"{Path(p.location.file).name}:{p.location.line}: {p.message}"
            for p in info.value.problems]


def job(tasks: str, extra: str = "") -> str:
    """A one-job bundle whose `tasks:` block is `tasks` (indented 8 spaces in the file)."""
    return f"""
bundle: {{name: bad}}
resources:
  jobs:
    j:
{extra}      tasks:
{tasks}"""


def test_yaml_syntax_error_points_at_the_position(write_bundle) -> None:
    root = write_bundle("bundle:\n  name: x\nresources: [\n")
    (msg,) = errors(root)
    assert msg.startswith("databricks.yml:4: YAML syntax error:")
    assert msg.endswith("fix the YAML syntax at this position")


def test_syntax_error_in_an_included_file_names_that_file(write_bundle) -> None:
    root = write_bundle("bundle: {name: x}\ninclude: [more.yml]\n",
                        {"more.yml": "resources:\n  jobs: {a: [}\n"})
    (msg,) = errors(root)
    assert msg.startswith("more.yml:2: YAML syntax error")


def warnings(root: Path) -> list[str]:
    """Load `root` (it loads) and give each warning as `file:line: message`."""
    return [f"{Path(p.location.file).name}:{p.location.line}: {p.message}"
            for p in load_bundle(root).warnings]


def test_unknown_field_is_a_warning_that_suggests_the_right_one(write_bundle) -> None:
    """As the Databricks CLI: the bundle loads, the field is not used."""
    root = write_bundle(job("        - {task_key: a, notebook_task: {notebook_path: nb.py}}",
                            extra="      concurrent_run: ENABLED\n"), NB)
    assert warnings(root) == ["databricks.yml:5: unknown field 'concurrent_run' in "
                              "resources.jobs.j; did you mean 'max_concurrent_runs'?"]


def test_misspelled_task_field(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, notebook_task: {notebook_path: nb.py},\n"
                            "           max_retires: 2}"), NB)
    assert warnings(root) == ["databricks.yml:7: unknown field 'max_retires' in "
                              "resources.jobs.j.tasks[a]; did you mean 'max_retries'?"]


def test_unknown_top_level_fields_and_empty_includes_are_warnings(write_bundle) -> None:
    """Templates include `resources/*/*.yml` whether or not it matches, and bundles keep
    YAML anchors under top-level keys of their own; `targets:` may be empty."""
    root = write_bundle("bundle: {name: x}\nresource: {}\ninclude: [resources/*/*.yml]\n"
                        "targets:\nworkspace:\nshared: &shared {max_concurrent_runs: 3}\n"
                        "resources:\n  jobs:\n    j:\n      <<: *shared\n      tasks:\n"
                        "        - {task_key: a, python_task: {function: 'm:f'}}\n")
    assert warnings(root) == [
        "databricks.yml:2: unknown top-level field 'resource' in the bundle; did you mean "
        "'resources'?",
        "databricks.yml:6: unknown top-level field 'shared' in the bundle; remove it",
        "databricks.yml:3: include pattern 'resources/*/*.yml' matches no file (globs are "
        "relative to the bundle root)"]
    assert load_bundle(root).jobs["j"].max_concurrent_runs == 3


def test_task_without_a_type(write_bundle) -> None:
    root = write_bundle(job("        - task_key: a\n          max_retries: 1"))
    (msg,) = errors(root)
    assert msg.startswith("databricks.yml:6: task 'a' has no task type; add one of "
                          "notebook_task, spark_python_task")


def test_task_with_two_types(write_bundle) -> None:
    root = write_bundle(job("        - task_key: a\n"
                            "          notebook_task: {notebook_path: nb.py}\n"
                            "          python_task: {function: 'm:f'}"), NB)
    assert errors(root) == ["databricks.yml:8: task 'a' sets 2 task types (notebook_task, "
                            "python_task); keep exactly one"]


def test_duplicate_task_key(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, python_task: {function: 'm:f'}}\n"
                            "        - {task_key: a, python_task: {function: 'm:g'}}"))
    assert errors(root) == ["databricks.yml:7: duplicate task_key 'a' (first at line 6); "
                            "task_key values must be unique within job 'j'"]


def test_a_task_key_databricks_would_refuse_is_an_error(write_bundle) -> None:
    """It names the task's log folder too: '../x' would put the log beside the run's."""
    long = "k" * 101
    root = write_bundle(job("        - {task_key: ../up, python_task: {function: 'm:f'}}\n"
                            "        - {task_key: with space, python_task: {function: 'm:f'}}\n"
                            f"        - {{task_key: {long}, python_task: {{function: 'm:f'}}}}\n"
                            "        - {task_key: ok-key_1, python_task: {function: 'm:f'}}"))
    rule = "may hold only letters, digits, '_' and '-' (1 to 100 of them); rename it"
    assert errors(root) == [f"databricks.yml:6: task key '../up' {rule}",
                            f"databricks.yml:7: task key 'with space' {rule}",
                            f"databricks.yml:8: task key '{long}' {rule}"]


def test_a_pipelines_catalog_and_schema_are_names_not_paths(write_bundle) -> None:
    root = write_bundle("""
bundle: {name: bad}
resources:
  pipelines:
    p:
      catalog: ../up
      schema: a.b
      libraries: [{file: {path: ./p.py}}]
    q:
      schema: my__schema
      libraries: [{file: {path: ./p.py}}]
    r:
      catalog: main
      schema: dev__sales
      libraries: [{file: {path: ./p.py}}]
""", {"p.py": ""})
    rule = "is not a name podium can keep; use letters, digits, '_' and '-', at most 255 " \
           "characters"
    hive = "is not a name podium can keep: a hive_metastore schema's name has no '__' (its " \
           "folder would read as a catalog and a schema)"
    assert errors(root) == [
        f"databricks.yml:5: resources.pipelines.p.catalog: '../up' {rule}",
        f"databricks.yml:6: resources.pipelines.p.schema: 'a.b' {rule}",
        f"databricks.yml:9: resources.pipelines.q.schema: 'my__schema' {hive}"]


def test_depends_on_a_missing_task(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: load, python_task: {function: 'm:f'}}\n"
                            "        - task_key: b\n"
                            "          depends_on: [{task_key: laod}]\n"
                            "          python_task: {function: 'm:f'}"))
    assert errors(root) == ["databricks.yml:8: task 'b' depends on 'laod', which is not a task "
                            "of this job; did you mean 'load'?"]


def test_cycle_is_named(write_bundle) -> None:
    root = write_bundle(job(
        "        - {task_key: a, depends_on: [{task_key: c}], python_task: {function: 'm:f'}}\n"
        "        - {task_key: b, depends_on: [{task_key: a}], python_task: {function: 'm:f'}}\n"
        "        - {task_key: c, depends_on: [{task_key: b}], python_task: {function: 'm:f'}}"))
    (msg,) = errors(root)
    assert msg.startswith("databricks.yml:")
    assert "dependency cycle: " in msg and msg.endswith("; remove one of these depends_on entries")
    cycle = msg.split("dependency cycle: ")[1].split(";")[0].split(" -> ")
    assert set(cycle) == {"a", "b", "c"} and cycle[0] == cycle[-1]


def test_job_cluster_key_not_defined(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, job_cluster_key: mian,\n"
                            "           notebook_task: {notebook_path: nb.py}}",
                            extra="      job_clusters: [{job_cluster_key: main, "
                                  "new_cluster: {}}]\n"),
                        NB)
    assert errors(root) == ["databricks.yml:7: task 'a' uses job_cluster_key 'mian', which is "
                            "not in the job's job_clusters; did you mean 'main'?"]


def test_undefined_variable(write_bundle) -> None:
    root = write_bundle(job("        - task_key: a\n"
                            "          notebook_task:\n"
                            "            notebook_path: nb.py\n"
                            "            base_parameters: {x: '${var.nope}'}"), NB)
    assert errors(root) == ["databricks.yml:9: undefined variable 'nope' in ${var.nope}; "
                            "declare it under `variables:` or pass --var nope=VALUE"]


def test_variable_without_value_and_a_bad_lookup(write_bundle) -> None:
    root = write_bundle("bundle: {name: x}\nvariables:\n  a: {description: needed}\n"
                        "  b:\n    lookup: {cluster: my-cluster, warehouse: w}\n")
    assert errors(root) == [
        "databricks.yml:3: variable 'a' has no value; give it a `default`, pass --var "
        "a=VALUE or set BUNDLE_VAR_a",
        "databricks.yml:5: variable 'b': `lookup` needs exactly one of alert, cluster, "
        "cluster_policy, dashboard, instance_pool, job, metastore, notification_destination, "
        "pipeline, query, service_principal, warehouse with the object's name",
    ]


def test_a_lookup_that_finds_nothing_stops_only_the_jobs_that_use_it(write_bundle) -> None:
    root = write_bundle("""bundle: {name: x}
variables:
  policy: {lookup: {cluster_policy: small}}
  warehouse: {lookup: {warehouse: Shared SQL}}
resources:
  jobs:
    uses:
      job_clusters:
        - job_cluster_key: c
          new_cluster: {policy_id: '${var.policy}'}
      tasks:
        - {task_key: t, job_cluster_key: c, python_task: {function: 'm:f'}}
    plain:
      tasks:
        - {task_key: t, python_task: {function: 'm:f'}}
""")
    found = {("cluster_policy", "small"): "0123456789ABCDEF"}
    bundle = load_bundle(root, lookups=lambda kind, name: found.get((kind, name)))
    assert bundle.jobs["uses"].job_clusters[0].new_cluster.policy_id == "0123456789ABCDEF"
    assert [str(p) for p in bundle.lookups_failing(bundle.jobs["uses"])] == []
    missing = load_bundle(root, lookups=lambda kind, name: None)
    (problem,) = missing.lookups_failing(missing.jobs["uses"])
    assert str(problem).endswith("databricks.yml:3:12: error: variable 'policy' looks up "
                                 "cluster_policy 'small', which this workspace does not have "
                                 "(podium finds clusters, cluster policies, jobs and SQL "
                                 "warehouses); create it, or give the variable a value with "
                                 "--var policy=VALUE")
    assert missing.lookups_failing(missing.jobs["plain"]) == []
    assert sum("looks up warehouse 'Shared SQL'" in w.message for w in missing.warnings) == 1


def test_undeclared_cli_variable(write_bundle) -> None:
    root = write_bundle("bundle: {name: x}\n")
    assert errors(root, variables={"nope": "1"}) == [
        "--var:0: variable 'nope' is not declared in the bundle; declare it under "
        "`variables:` or drop --var"]


def test_task_value_from_a_task_that_is_not_upstream(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, python_task: {function: 'm:f'}}\n"
                            "        - task_key: b\n"
                            "          python_task:\n"
                            "            function: 'm:f'\n"
                            "            parameters: {x: '{{tasks.a.values.n}}'}"))
    assert errors(root) == ["databricks.yml:10: task 'b' reads {{tasks.a.values.n}} but 'a' is "
                            "not upstream of it; add 'a' to its depends_on"]


def test_every_reference_error_points_at_the_value_that_holds_it(write_bundle) -> None:
    root = write_bundle(job(
        "        - {task_key: a, python_task: {function: 'm:f'}}\n"
        "        - task_key: nb\n"                                            # line 8
        "          notebook_task:\n"
        "            notebook_path: nb.py\n"
        "            base_parameters:\n"
        "              day: '{{job.parameters.day}}'\n"
        "              count: '{{tasks.a.values.count}}'\n"                  # line 13
        "        - task_key: py\n"
        "          spark_python_task:\n"
        "            python_file: nb.py\n"
        "            parameters:\n"
        "              - '--x'\n"
        "              - '{{tasks.a.values.n}}'\n"                            # line 19
        "        - task_key: cond\n"
        "          condition_task:\n"
        "            op: EQUAL_TO\n"
        "            left: '1'\n"
        "            right: '{{tasks.a.values.flag}}'\n"                     # line 24
        "        - task_key: loop\n"
        "          depends_on: [{task_key: a}]\n"
        "          for_each_task:\n"
        "            inputs: '[1, 2]'\n"
        "            task:\n"
        "              task_key: inner\n"
        "              python_task:\n"
        "                function: 'm:f'\n"
        "                parameters:\n"
        "                  ok: '{{tasks.a.values.n}}'\n"
        "                  bad: '{{job.parameters.nope}}'",                    # line 35
        extra="      parameters: [{name: day, default: x}]\n"), NB)
    assert [e.split(" ", 1)[0] for e in errors(root)] == [
        "databricks.yml:13:", "databricks.yml:19:", "databricks.yml:24:", "databricks.yml:35:"]


def test_unknown_job_parameter_reference(write_bundle) -> None:
    root = write_bundle(job("        - task_key: a\n"
                            "          python_task: {function: 'm:f', parameters: "
                            "{x: '{{job.parameters.dya}}'}}",
                            extra="      parameters: [{name: day, default: x}]\n"))
    assert errors(root) == ["databricks.yml:8: task 'a' refers to job parameter 'dya', which "
                            "the job does not define; add it under the job's `parameters` "
                            "(defined: day)"]


def test_missing_notebook_and_python_file(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, notebook_task: {notebook_path: src/nope.py}}\n"
                            "        - {task_key: b, spark_python_task: {python_file: run.py}}"))
    assert errors(root) == [
        "databricks.yml:6: notebook 'src/nope.py' of task 'a' does not exist; paths are "
        "relative to the YAML file that names them",
        "databricks.yml:7: file 'run.py' of task 'b' does not exist; paths are relative to "
        "the YAML file that names them",
    ]


def test_bad_run_if_and_condition_op(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, run_if: ALL_SUCCESSFUL, "
                            "python_task: {function: 'm:f'}}\n"
                            "        - {task_key: b, condition_task: {op: EQUALS, left: '1', "
                            "right: '1'}}"))
    msgs = errors(root)
    assert msgs[0] == ("databricks.yml:6: resources.jobs.j.tasks[a].run_if is 'ALL_SUCCESSFUL', "
                       "which is not allowed; use one of 'ALL_SUCCESS', 'AT_LEAST_ONE_SUCCESS', "
                       "'NONE_FAILED', 'ALL_DONE', 'AT_LEAST_ONE_FAILED' or 'ALL_FAILED'")
    assert msgs[1].startswith("databricks.yml:7: resources.jobs.j.tasks[b].condition_task.op is "
                              "'EQUALS', which is not allowed; use one of 'EQUAL_TO'")


def test_for_each_inputs_must_be_an_array_or_reference(write_bundle) -> None:
    root = write_bundle(job("        - task_key: loop\n"
                            "          for_each_task:\n"
                            "            inputs: 'a, b, c'\n"
                            "            task: {task_key: inner, python_task: {function: 'm:f'}}"))
    assert errors(root) == ["databricks.yml:8: for_each_task inputs of 'loop' must be a JSON "
                            "array (such as '[\"a\", \"b\"]') or a reference such as "
                            "'{{tasks.x.values.list}}'"]


def test_max_concurrent_runs_out_of_range(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, python_task: {function: 'm:f'}}",
                            extra="      max_concurrent_runs: 5000\n"))
    assert errors(root) == ["databricks.yml:5: resources.jobs.j.max_concurrent_runs is 5000, "
                            "but it must be <= 1000; change the value"]


def test_wrong_type_is_located(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, timeout_seconds: soon, "
                            "python_task: {function: 'm:f'}}"))
    assert errors(root) == ["databricks.yml:6: resources.jobs.j.tasks[a].timeout_seconds must "
                            "be an integer, not 'soon'; fix its value"]


def test_unknown_target(write_bundle) -> None:
    root = write_bundle("bundle: {name: x}\ntargets:\n  dev: {default: true}\n  prod: {}\n")
    assert errors(root, target="prd") == ["databricks.yml:3: target 'prd' is not defined; did "
                                          "you mean 'prod'? (targets: dev, prod)"]


def test_all_problems_are_reported_together(write_bundle) -> None:
    root = write_bundle(job("        - {task_key: a, python_task: {function: 'm:f'}, "
                            "depends_on: [{task_key: x}]}\n"
                            "        - {task_key: a, python_task: {function: 'm:f'}}"))
    assert len(errors(root)) == 2


def test_a_schedule_podium_cannot_honour_is_located(write_bundle) -> None:
    root = write_bundle(job(
        "        - {task_key: a, notebook_task: {notebook_path: nb.py}}",
        extra="      schedule:\n        quartz_cron_expression: '0 0 12 ? * 6#7'\n"
              "        timezone_id: Europe/Atlantis\n"
              "      trigger: {periodic: {interval: 1, unit: HOURS}}\n"), NB)
    assert errors(root) == [
        "databricks.yml:6: '0 0 12 ? * 6#7': in '6#7', the week of the month after '#' "
        "must be 1 to 5",
        "databricks.yml:7: unknown timezone_id 'Europe/Atlantis'; use an IANA name such as "
        "'UTC' or 'Europe/Berlin'",
        "databricks.yml:8: resources.jobs.j has both `schedule` and `trigger`; a job is "
        "started by one of schedule, trigger and continuous"]


def test_a_trigger_needs_exactly_one_kind(write_bundle) -> None:
    root = write_bundle(job(
        "        - {task_key: a, notebook_task: {notebook_path: nb.py}}",
        extra="      trigger: {pause_status: PAUSED}\n"), NB)
    assert errors(root) == ["databricks.yml:5: resources.jobs.j.trigger needs exactly one of "
                            "periodic, file_arrival and table_update (has none)"]


def test_an_empty_include_pattern_is_a_located_error(write_bundle) -> None:
    root = write_bundle("bundle: {name: x}\ninclude:\n  - resources/*.yml\n  - ''\n")
    with pytest.raises(BundleError) as caught:
        load_bundle(root)
    assert [str(p) for p in caught.value.problems if p.severity == "error"] == [
        f"{root / 'databricks.yml'}:4:5: error: an include pattern is empty; give a glob "
        "relative to the bundle root, such as resources/*.yml"]


def test_include_patterns_may_reach_outside_the_root_and_be_absolute(write_bundle,
                                                                     tmp_path) -> None:
    """Bundles of one repository share YAML kept beside them (`../common/*.yml`)."""
    common = tmp_path / "common"
    common.mkdir()
    (common / "jobs.yml").write_text("resources:\n  jobs:\n    shared: {tasks: [{task_key: "
                                     "t, notebook_task: {notebook_path: ./n.py}}]}\n")
    (common / "more.yml").write_text("resources:\n  jobs:\n    other: {tasks: [{task_key: "
                                     "t, notebook_task: {notebook_path: ./n.py}}]}\n")
    (common / "n.py").write_text("# Databricks notebook source\n")
    root = write_bundle(f"bundle: {{name: x}}\ninclude: ['../common/jobs.yml', "
                        f"'{common / 'more.yml'}']\n")
    assert root.parent == tmp_path
    assert set(load_bundle(root).jobs) == {"shared", "other"}
