"""`podium policies` and a bundle whose job cluster names a policy, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_deploy_tokens import cli

SMALL = {"num_workers": {"type": "range", "maxValue": 2},
         "spark_conf.spark.sql.shuffle.partitions": {"type": "fixed", "value": "4"},
         "custom_tags.team": {"type": "allowlist", "values": ["sales", "ops"]}}

BUNDLE = """bundle: {name: governed}
resources:
  jobs:
    nightly:
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            policy_id: %s
            num_workers: %d
            custom_tags: {team: sales}
            spark_conf: {spark.master: "local[1]"}
      tasks:
        - {task_key: t, job_cluster_key: main,
           python_task: {function: 'tests.engine.funcs:ok'}}
"""


def setup(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    (tmp_path / "small.json").write_text(json.dumps(SMALL))
    created = cli("policies", "create", "small", "--definition", str(tmp_path / "small.json"),
                  home=home)
    return home, created.stdout.strip()


def write(tmp_path: Path, policy_id: str, workers: int) -> Path:
    root = tmp_path / "bundle"
    root.mkdir(exist_ok=True)
    (root / "databricks.yml").write_text(BUNDLE % (policy_id, workers))
    return root


def test_a_job_cluster_breaking_its_policy_is_a_located_error(tmp_path: Path) -> None:
    home, policy_id = setup(tmp_path)
    assert len(policy_id) == 16
    root = write(tmp_path, policy_id, 8)
    done = cli("validate", str(root), home=home, check=False)
    assert done.returncode == 2
    (line,) = [ln for ln in done.stderr.splitlines() if "error:" in ln]
    assert line.startswith(f"{root / 'databricks.yml'}:9:13: error:")  # at num_workers
    assert "Validation failed for num_workers (range rule): the value must be at most 2 " \
        "(is 8) under cluster policy 'small'" in line


def test_a_job_cluster_within_its_policy_gets_the_fixed_values(tmp_path: Path) -> None:
    home, policy_id = setup(tmp_path)
    root = write(tmp_path, policy_id, 2)
    assert cli("validate", str(root), home=home).returncode == 0
    ran = cli("run", "nightly", "--bundle", str(root), "--json", home=home)
    view = json.loads(ran.stdout)
    assert view["state"]["result_state"] == "SUCCESS"
    listed = json.loads(cli("policies", "list", "--json", home=home).stdout)["policies"]
    assert [p["name"] for p in listed] == ["small"]


def test_an_unknown_policy_is_a_warning_and_bad_definitions_exit_2(tmp_path: Path) -> None:
    home, _ = setup(tmp_path)
    root = write(tmp_path, "0123456789ABCDEF", 8)
    done = cli("validate", str(root), home=home)
    assert "cluster policy '0123456789ABCDEF' is not in this workspace" in done.stdout + \
        done.stderr
    (tmp_path / "bad.json").write_text('{"num_workers": {"type": "between"}}')
    bad = cli("policies", "create", "bad", "--definition", str(tmp_path / "bad.json"),
              home=home, check=False)
    assert bad.returncode == 2 and "needs a type" in bad.stderr
    again = cli("policies", "create", "small", "--definition", str(tmp_path / "small.json"),
                home=home, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_shared_cluster_follows_its_policy_too(tmp_path: Path) -> None:
    home, policy_id = setup(tmp_path)
    root = tmp_path / "shared"
    root.mkdir()
    (root / "databricks.yml").write_text(f"""bundle: {{name: shared}}
resources:
  clusters:
    analysts:
      policy_id: {policy_id}
      num_workers: 5
      custom_tags: {{team: marketing}}
  jobs:
    j:
      tasks:
        - {{task_key: t, existing_cluster_id: analysts,
           python_task: {{function: 'tests.engine.funcs:ok'}}}}
""")
    done = cli("validate", str(root), home=home, check=False)
    errors = [ln for ln in done.stderr.splitlines() if "error:" in ln]
    assert done.returncode == 2 and len(errors) == 2
    assert errors[0].startswith(f"{root / 'databricks.yml'}:6:") and "num_workers" in errors[0]
    assert "custom_tags.team (allowlist rule)" in errors[1]


LOOKUP = """bundle: {name: looked}
variables:
  policy: {lookup: {cluster_policy: small}}
resources:
  jobs:
    uses:
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            policy_id: ${var.policy}
            num_workers: 1
            custom_tags: {team: ops}
            spark_conf: {spark.master: "local[1]"}
      tasks:
        - {task_key: t, job_cluster_key: main,
           python_task: {function: 'tests.engine.funcs:ok'}}
    plain:
      tasks:
        - {task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}
"""


def test_a_lookup_variable_finds_the_policy_or_stops_the_jobs_that_use_it(
        tmp_path: Path) -> None:
    root = tmp_path / "looked"
    root.mkdir()
    (root / "databricks.yml").write_text(LOOKUP)
    bare = tmp_path / "bare-home"
    refused = cli("run", "uses", "--bundle", str(root), home=bare, check=False)
    assert refused.returncode == 2
    assert "databricks.yml:3:12: error: variable 'policy' looks up cluster_policy 'small'" \
        in refused.stderr
    assert cli("run", "plain", "--bundle", str(root), home=bare).returncode == 0
    assert cli("deploy", "--bundle", str(root), home=bare, check=False).returncode == 2

    home, policy_id = setup(tmp_path)
    described = json.loads(cli("validate", str(root), "--json", home=home).stdout)
    assert policy_id in json.dumps(described)
    assert json.loads(cli("run", "uses", "--bundle", str(root), "--json", home=home).stdout
                      )["state"]["result_state"] == "SUCCESS"
