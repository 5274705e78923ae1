"""Jobs written in Python with databricks-bundles load next to YAML jobs, and run."""

from __future__ import annotations

import json
import subprocess
import sys
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


def pyproject(extra: str = "") -> str:
    """A project file as Databricks' Python templates write it: the bundle's own
    databricks-bundles in the dev group, hatchling with no package folder to ship."""
    from importlib.metadata import version

    return f'''[project]
name = "py_bundle"
version = "0.0.1"
requires-python = ">=3.10"
dependencies = []

[dependency-groups]
dev = ["databricks-bundles=={version("databricks-bundles")}"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
{extra}'''


VENV_ROOT = """bundle: {name: py-venv}
python:
  venv_path: .venv
  resources: ["resources:load_resources"]
"""

NOTEBOOK_JOB = '''from databricks.bundles.core import Bundle, Resources
from databricks.bundles.jobs import Job


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    resources.add_job("nb", Job.from_dict({
        "tasks": [{"task_key": "check", "notebook_task": {"notebook_path": "src/check"}}],
    }))
    return resources
'''


def test_a_missing_venv_is_made_by_uv_sync_and_reused(write_bundle, tmp_path: Path) -> None:
    root = write_bundle(VENV_ROOT, {"pyproject.toml": pyproject(),
                                    "resources/__init__.py": NOTEBOOK_JOB,
                                    "src/check.py": "print('ok')\n"})
    first = cli("validate", str(root), home=tmp_path / "h")
    assert first.returncode == 0, first.stderr
    assert "running `uv sync` to make .venv from pyproject.toml" in first.stderr
    assert (root / ".venv" / "bin" / "python").exists()
    # A path in Python code is relative to the bundle root, as the Databricks CLI reads it.
    notebook = load_bundle(root).jobs["nb"].tasks[0].notebook_task.notebook_path
    assert notebook == str(root / "src" / "check.py")

    again = cli("validate", str(root), home=tmp_path / "h")
    assert again.returncode == 0 and "uv sync" not in again.stderr

    (root / "pyproject.toml").write_text(pyproject("# changed\n"))
    changed = cli("validate", str(root), home=tmp_path / "h")
    assert changed.returncode == 0 and "running `uv sync`" in changed.stderr


def test_a_venv_the_user_made_is_left_alone_and_a_missing_package_says_how(
        write_bundle, tmp_path: Path) -> None:
    root = write_bundle(VENV_ROOT, {"pyproject.toml": pyproject(),
                                    "resources/__init__.py": NOTEBOOK_JOB})
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")],
                   check=True)
    done = cli("validate", str(root), home=tmp_path / "h", check=False)
    assert done.returncode == 2 and "uv sync" not in done.stderr
    assert "databricks.yml:2:" in done.stderr
    assert "add databricks-bundles to pyproject.toml's dependencies" in done.stderr


def test_without_a_pyproject_a_missing_venv_is_one_located_error(write_bundle) -> None:
    root = write_bundle(VENV_ROOT, {"resources/__init__.py": NOTEBOOK_JOB})
    with pytest.raises(BundleError) as info:
        load_bundle(root)
    (problem,) = info.value.problems
    assert problem.location.line == 2
    assert "no pyproject.toml beside databricks.yml" in problem.message


def test_experimental_python_is_read_as_python(write_bundle) -> None:
    root = write_bundle(ROOT.replace("python:\n", "experimental:\n  python:\n").replace(
        '  resources: ["jobs', '    resources: ["jobs'), {"jobs_in_python.py": PYTHON})
    assert set(load_bundle(root).jobs) == {"from_yaml", "from_python"}


RESOURCES_IN_PYTHON = '''from databricks.bundles.core import Bundle, Resources
from databricks.bundles.jobs import Job
from databricks.bundles.pipelines import Pipeline


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    resources.add_pipeline("etl", Pipeline.from_dict({
        "name": "etl", "catalog": "main", "schema": "${var.threshold}",
        "libraries": [{"glob": {"include": "src/etl/**"}}]}))
    resources.add_job("refresh", Job.from_dict({
        "parameters": [{"name": "limit", "default": "${var.threshold}"}],
        "tasks": [{"task_key": "refresh",
                   "pipeline_task": {"pipeline_id": "${resources.pipelines.etl.id}"}}]}))
    return resources
'''


def test_every_resource_kind_from_python_joins_the_bundle_before_references_resolve(
        write_bundle) -> None:
    """Python code writes `${var.x}` and `${resources...}` for the CLI to fill in, and may
    define pipelines (or schemas, volumes) that YAML or Python jobs name."""
    root = write_bundle(ROOT.replace("jobs_in_python:load_resources", "more:load_resources"),
                        {"more.py": RESOURCES_IN_PYTHON})
    bundle = load_bundle(root, variables={"threshold": "7"})
    job = bundle.jobs["refresh"]
    assert job.parameters[0].default == "7"
    pipeline = job.tasks[0].pipeline_task.podium_pipeline
    assert pipeline["schema"] == "7" and list(bundle.pipelines) == ["etl"]
    assert pipeline["sources"] == [{"kind": "glob", "path": str(root / "src/etl/**")}]
    twice = write_bundle(ROOT.replace("jobs_in_python:load_resources", "more:load_resources")
                         .replace("from_yaml:", "refresh:"), {"more.py": RESOURCES_IN_PYTHON})
    with pytest.raises(BundleError) as info:
        load_bundle(twice)
    assert "resources.jobs.refresh is defined in YAML (at" in str(info.value)
