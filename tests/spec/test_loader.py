"""Loading real bundle layouts: includes, targets, variables, presets, paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from podium.spec import load_bundle
from tests.conftest import EXAMPLES

NOTEBOOK = "# Databricks notebook source\nprint('hi')\n"


def test_every_example_bundle_validates() -> None:
    for folder in sorted(EXAMPLES.iterdir()):
        if (folder / "databricks.yml").exists():
            bundle = load_bundle(folder)
            assert bundle.jobs, folder


def test_bundle_is_found_from_a_subfolder(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: nested}
        resources:
          jobs:
            j: {tasks: [{task_key: a, notebook_task: {notebook_path: src/nb.py}}]}
        """,
        files={"src/nb.py": NOTEBOOK},
    )
    bundle = load_bundle(root / "src")
    assert bundle.name == "nested"
    assert bundle.jobs["j"].tasks[0].notebook_task.notebook_path == str(root / "src" / "nb.py")


def test_includes_and_paths_relative_to_the_yaml_file_that_names_them(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: inc}
        include: [resources/*.yml]
        """,
        files={"resources/job.yml": """
        resources:
          jobs:
            etl:
              tasks:
                - task_key: a
                  notebook_task: {notebook_path: ../src/etl}
        """,
        "src/etl.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'},
    )
    bundle = load_bundle(root)
    assert bundle.jobs["etl"].tasks[0].notebook_task.notebook_path == str(root / "src/etl.ipynb")
    assert bundle.files == [str(root / "databricks.yml"), str(root / "resources/job.yml")]


def test_target_merges_tasks_by_key_and_clusters_by_key(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: t}
        resources:
          jobs:
            j:
              job_clusters:
                - job_cluster_key: c
                  new_cluster: {spark_conf: {spark.master: "local[1]", a: "1"}}
              tasks:
                - {task_key: a, job_cluster_key: c, notebook_task: {notebook_path: nb.py}}
                - {task_key: b, depends_on: [{task_key: a}], notebook_task: {notebook_path: nb.py}}
        targets:
          dev: {default: true}
          prod:
            resources:
              jobs:
                j:
                  job_clusters:
                    - job_cluster_key: c
                      new_cluster: {spark_conf: {spark.master: "local[2]"}}
                  tasks:
                    - {task_key: b, max_retries: 3}
        """,
        files={"nb.py": NOTEBOOK},
    )
    dev = load_bundle(root)
    assert dev.target == "dev"
    assert dev.jobs["j"].task("b").max_retries == 0
    prod = load_bundle(root, target="prod")
    job = prod.jobs["j"]
    assert [t.task_key for t in job.tasks] == ["a", "b"]
    assert job.task("b").max_retries == 3
    assert job.task("b").depends_on[0].task_key == "a"
    assert job.cluster("c").spark_conf == {"spark.master": "local[2]", "a": "1"}


VARS = """
bundle: {name: v}
variables:
  rows: {default: 10}
  who: {description: no default here, default: base}
  conf:
    type: complex
    default: {spark.master: "local[1]"}
  derived: {default: "${var.who}-${bundle.target}"}
targets:
  dev:
    default: true
    variables: {who: dev-user}
resources:
  jobs:
    j:
      job_clusters: [{job_cluster_key: c, new_cluster: {spark_conf: "${var.conf}"}}]
      tasks:
        - task_key: a
          job_cluster_key: c
          notebook_task:
            notebook_path: nb.py
            base_parameters: {rows: "${var.rows}", who: "${var.who}", d: "${var.derived}",
                              root: "${workspace.file_path}", name: "${bundle.name}"}
"""


def test_variable_precedence_cli_over_env_over_target_over_default(
    write_bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_bundle(VARS, files={"nb.py": NOTEBOOK})
    params = load_bundle(root).jobs["j"].tasks[0].notebook_task.base_parameters
    assert params == {"rows": 10, "who": "dev-user", "d": "dev-user-dev",
                      "root": str(root), "name": "v"}
    monkeypatch.setenv("BUNDLE_VAR_who", "from-env")
    assert load_bundle(root).jobs["j"].tasks[0].notebook_task.base_parameters["who"] == "from-env"
    cli = load_bundle(root, variables={"who": "from-cli", "rows": "5"})
    assert cli.jobs["j"].tasks[0].notebook_task.base_parameters["who"] == "from-cli"
    assert cli.variables["rows"] == "5"


def test_complex_variable_replaces_a_whole_value(write_bundle) -> None:
    root = write_bundle(VARS, files={"nb.py": NOTEBOOK})
    assert load_bundle(root).jobs["j"].cluster("c").spark_conf == {"spark.master": "local[1]"}


def test_development_mode_prefixes_names_tags_and_allows_concurrent_runs(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: m}
        targets:
          dev: {default: true, mode: development}
          prod: {presets: {name_prefix: "prod_", tags: {team: data}}}
        resources:
          jobs:
            j:
              schedule: {quartz_cron_expression: "0 0 * * * ?"}
              tasks: [{task_key: a, python_task: {function: "m:f"}}]
        """
    )
    dev = load_bundle(root).jobs["j"]
    assert dev.name.startswith("[dev ") and dev.name.endswith("] j")
    assert dev.max_concurrent_runs == 4
    assert dev.schedule.pause_status == "PAUSED"
    assert "dev" in dev.tags
    prod = load_bundle(root, target="prod").jobs["j"]
    assert prod.name == "prod_j"
    assert prod.tags == {"team": "data"}
    assert prod.max_concurrent_runs == 1


def test_resources_job_id_and_yaml_anchors(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: r}
        resources:
          jobs:
            child: &base
              tasks: [{task_key: a, python_task: {function: "m:f"}}]
            other:
              <<: *base
              name: other-name
            parent:
              tasks:
                - task_key: call
                  run_job_task: {job_id: "${resources.jobs.child.id}"}
        """
    )
    bundle = load_bundle(root)
    assert bundle.jobs["parent"].tasks[0].run_job_task.job_id == "child"
    assert bundle.jobs["other"].name == "other-name"
    assert bundle.job("other-name") is bundle.jobs["other"]


def test_cloud_only_fields_are_warnings_not_errors(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: w}
        resources:
          dashboards:
            d: {display_name: sales}
          jobs:
            j:
              email_notifications: {on_failure: [a@b.c]}
              job_clusters:
                - job_cluster_key: c
                  new_cluster: {spark_version: 15.4.x, node_type_id: i3.xlarge, num_workers: 2}
              tasks:
                - {task_key: a, job_cluster_key: c, notebook_task: {notebook_path: nb.py}}
        """,
        files={"nb.py": NOTEBOOK},
    )
    bundle = load_bundle(root)
    texts = [w.message for w in bundle.warnings]
    assert "resources.dashboards is not deployed locally; podium makes jobs, shared clusters, "\
           "pipelines, schemas and volumes" in texts
    assert "resources.jobs.j.email_notifications is ignored locally" in texts
    assert "resources.jobs.j.job_clusters[c].new_cluster.node_type_id is ignored locally" in texts
    # Cloud-only settings every bundle has are notes; what podium cannot make is a warning.
    assert {w.message for w in bundle.warnings if w.severity == "note"} == {
        f"resources.jobs.j.{f} is ignored locally" for f in (
            "email_notifications", "job_clusters[c].new_cluster.spark_version",
            "job_clusters[c].new_cluster.node_type_id")}
    assert {w.severity for w in bundle.warnings} == {"note", "warning"}


def test_shared_clusters_load(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: s}
        resources:
          clusters:
            shared: {autotermination_minutes: 10, spark_conf: {spark.remote: "sc://h:15002"}}
          jobs:
            j: {tasks: [{task_key: a, existing_cluster_id: shared,
                         notebook_task: {notebook_path: nb.py}}]}
        """,
        files={"nb.py": NOTEBOOK},
    )
    cluster = load_bundle(root).clusters["shared"]
    assert cluster.remote == "sc://h:15002"
    assert cluster.autotermination_minutes == 10


def test_dynamic_references_are_kept_for_run_time(write_bundle) -> None:
    root = write_bundle(
        """
        bundle: {name: d}
        resources:
          jobs:
            j:
              parameters: [{name: day, default: "2026-01-01"}]
              tasks:
                - {task_key: a, python_task: {function: "m:f"}}
                - task_key: b
                  depends_on: [{task_key: a}]
                  python_task:
                    function: "m:g"
                    parameters: {v: "{{tasks.a.values.n}}", d: "{{job.parameters.day}}"}
        """
    )
    task = load_bundle(Path(root)).jobs["j"].task("b")
    assert task.python_task.parameters == {"v": "{{tasks.a.values.n}}",
                                           "d": "{{job.parameters.day}}"}


def test_references_to_other_resources_and_the_current_user_resolve(write_bundle) -> None:
    """What the Databricks CLI resolves: ids of resources that are not jobs (their key
    locally), their own fields, and the current user."""
    import getpass

    root = write_bundle(("""
bundle: {name: refs}
resources:
  schemas:
    sales:
      name: sales_${bundle.target}
      catalog_name: main
  volumes:
    landing:
      name: landing
      catalog_name: main
      schema_name: sales
  pipelines:
    ingest: {name: ingest}
  secret_scopes:
    creds: {name: team-creds}
  jobs:
    j:
      tasks:
        - task_key: t
          python_task:
            function: 'tests.engine.funcs:ok'
            parameters:
              schema: ${resources.schemas.sales.name}
              catalog: ${resources.schemas.sales.catalog_name}
              volume: /Volumes/main/${resources.volumes.landing.schema_name}/${V}
              pipeline: ${resources.pipelines.ingest.id}
              scope: ${resources.secret_scopes.creds.name}
              me: ${workspace.current_user.userName}
              short: ${workspace.current_user.short_name}
""").replace("${V}", "${resources.volumes.landing.name}"))
    params = load_bundle(root).jobs["j"].tasks[0].python_task.parameters
    me = getpass.getuser()
    assert params == {"schema": "sales_default", "catalog": "main",
                      "volume": "/Volumes/main/sales/landing", "pipeline": "ingest",
                      "scope": "team-creds", "me": me, "short": me.split("@")[0]}


GIT_AND_UNDEPLOYED = """
bundle:
  name: refs
  uuid: 1234
workspace: {host: "https://company.databricks.com"}
resources:
  genie_spaces:
    taxi: {title: Taxi}
  jobs:
    j:
      tags:
        git_url: ${bundle.git.origin_url}
        git_branch: ${bundle.git.branch}
        git_sha: ${bundle.git.commit}
      tasks:
        - task_key: t
          python_task:
            function: 'tests.engine.funcs:ok'
            parameters:
              space: ${resources.genie_spaces.taxi.space_id}
              title: ${resources.genie_spaces.taxi.title}
              host: ${workspace.host}
              uuid: ${bundle.uuid}
              resources: ${workspace.resource_path}
"""


def test_git_fields_outside_a_checkout_are_empty_with_one_warning(write_bundle) -> None:
    bundle = load_bundle(write_bundle(GIT_AND_UNDEPLOYED))
    job = bundle.jobs["j"]
    assert job.tags == {"git_url": "", "git_branch": "", "git_sha": ""}
    git = [w for w in bundle.warnings if "git checkout" in w.message]
    assert len(git) == 1 and git[0].location.line == 11  # the first use
    params = job.tasks[0].python_task.parameters
    # What the workspace would give a resource podium does not deploy stands for its key.
    assert params["space"] == "taxi" and params["title"] == "Taxi"
    assert any("${resources.genie_spaces.taxi.space_id}: resources.genie_spaces are not "
               "deployed locally" in w.message for w in bundle.warnings)
    assert params["host"] == "https://company.databricks.com" and params["uuid"] == 1234
    assert params["resources"] == f"{bundle.root}/resources"


def test_git_fields_come_from_the_checkout_or_the_bundle(write_bundle) -> None:
    root = write_bundle(GIT_AND_UNDEPLOYED)
    for command in (["init", "-q", "-b", "feature"], ["remote", "add", "origin",
                                                       "https://example.com/refs.git"],
                    ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@e", "commit",
                                   "-qm", "first"]):
        subprocess.run(["git", "-C", str(root), *command], check=True)
    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    bundle = load_bundle(root)
    assert bundle.jobs["j"].tags == {"git_url": "https://example.com/refs.git",
                                     "git_branch": "feature", "git_sha": sha}
    assert not any("git checkout" in w.message for w in bundle.warnings)
    (root / "databricks.yml").write_text(GIT_AND_UNDEPLOYED.replace(
        "  uuid: 1234", "  uuid: 1234\n  git: {branch: release}"))
    assert load_bundle(root).jobs["j"].tags["git_branch"] == "release"


def test_a_number_where_a_string_belongs_is_its_text_as_the_cli_reads_it(write_bundle) -> None:
    root = write_bundle("""
        bundle: {name: digits}
        resources:
          jobs:
            j:
              job_clusters:
                - job_cluster_key: main
                  new_cluster: {policy_id: 3720959008777129}
              tasks:
                - {task_key: t, job_cluster_key: main, python_task: {function: "m:f"}}
        """)
    cluster = load_bundle(root).jobs["j"].job_clusters[0].new_cluster
    assert cluster.policy_id == "3720959008777129"
