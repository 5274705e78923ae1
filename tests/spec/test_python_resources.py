"""Jobs written in Python with databricks-bundles load next to YAML jobs, and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.spec import BundleError, load_bundle
from tests.cli.test_runs import cli

ROOT = """bundle: {name: py-bundle}
python:
  resources: ["jobs_in_python:load_resources"]
variables:
  threshold: {default: "3"}
resources:
  jobs:
    from_yaml:
      tasks: [{task_key: a, condition_task: {op: EQUAL_TO, left: "1", right: "1"}}]
"""

PYTHON = '''from databricks.bundles.core import Bundle, Resources
from databricks.bundles.jobs import Job


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    resources.add_job("from_python", Job.from_dict({
        "name": f"checks-{bundle.target}",
        "tasks": [{"task_key": "enough",
                   "condition_task": {"op": "GREATER_THAN",
                                      "left": bundle.variables["threshold"], "right": "2"}}],
    }))
    return resources
'''


def test_python_jobs_load_and_run_beside_yaml_jobs(write_bundle, tmp_path: Path) -> None:
    root = write_bundle(ROOT, {"jobs_in_python.py": PYTHON})
    bundle = load_bundle(root)
    assert set(bundle.jobs) == {"from_yaml", "from_python"}
    job = bundle.jobs["from_python"]
    assert job.name == "checks-default"
    assert job.loc.file.endswith("jobs_in_python.py") and job.loc.line > 0
    done = cli("run", "from_python", "--bundle", str(root), "--var", "threshold=5", "--json",
               home=tmp_path / "h")
    view = json.loads(done.stdout)
    assert view["state"]["result_state"] == "SUCCESS"
    assert view["tasks"][0]["podium_exit_value"] == "true"


def test_an_error_in_the_python_function_is_located(write_bundle) -> None:
    broken = PYTHON.replace('"right": "2"}}]', '"right": "2"}}], "not_a_field": 1')
    root = write_bundle(ROOT, {"jobs_in_python.py": broken.replace(
        "resources = Resources()", "resources = Resources()\n    raise ValueError('no table')")})
    with pytest.raises(BundleError) as info:
        load_bundle(root)
    (problem,) = info.value.problems
    assert "no table" in problem.message
    assert problem.location.file.endswith("jobs_in_python.py")
