"""What Python packages a task asks for, read from its bundle and notebook."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from podium.spec import load_bundle
from podium.tasks.requirements import RequirementError, asked_for

BUNDLE = """\
bundle: {name: r}
resources:
  jobs:
    j:
      job_clusters:
        - job_cluster_key: c
          new_cluster:
            spark_version: 15.4.x-scala2.12
            libraries: [{pypi: {package: "toolz==0.12.1"}}]
      environments:
        - environment_key: e
          spec:
            client: "1"
            dependencies: ["tomli-w==1.0.0", "./dist/*.whl", "-r requirements.txt"]
      tasks:
        - task_key: nb
          job_cluster_key: c
          notebook_task: {notebook_path: nb.py}
          libraries:
            - pypi: {package: "inflection==0.5.1", repo: "https://example.org/simple"}
            - whl: ./dist/tool-1.0-py3-none-any.whl
            - requirements: ./requirements.txt
            - maven: {coordinates: "com.h2database:h2:2.3.232"}
        - task_key: env
          environment_key: e
          spark_python_task: {python_file: main.py}
        - task_key: none
          python_task: {function: 'm:f'}
"""
NOTEBOOK = """\
# Databricks notebook source
# MAGIC %pip install humanize==4.* -r requirements.txt --quiet

# COMMAND ----------
# MAGIC %pip list

# COMMAND ----------
print(1)
"""


def _bundle(tmp_path: Path, notebook: str = NOTEBOOK):
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    (tmp_path / "nb.py").write_text(notebook)
    (tmp_path / "main.py").write_text("print(1)\n")
    return load_bundle(tmp_path)


def test_every_source_in_order_with_its_place(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    job = bundle.jobs["j"]
    asked = asked_for(job, job.task("nb"), bundle.clusters)
    yml, nb = str(tmp_path / "databricks.yml"), str(tmp_path / "nb.py")
    assert [(r.line, r.where.file, r.where.line) for r in asked.requirements] == [
        ("toolz==0.12.1", yml, 9),  # the cluster's, for every task on it
        ("inflection==0.5.1", yml, 20),
        (str(tmp_path / "dist/tool-1.0-py3-none-any.whl"), yml, 21),
        (f"-r {tmp_path / 'requirements.txt'}", yml, 22),
        ("humanize==4.*", nb, 2),  # the %pip install cell; `%pip list` asks for nothing
        (f"-r {tmp_path / 'requirements.txt'}", nb, 2),
    ]
    assert asked.indexes == ("https://example.org/simple",)
    env = asked_for(job, job.task("env"), bundle.clusters)
    assert env.lines == ["tomli-w==1.0.0", str(tmp_path / "dist/*.whl"),
                         f"-r {tmp_path / 'requirements.txt'}"]
    assert [r.where.line for r in env.requirements] == [14, 14, 14]
    assert not asked_for(job, job.task("none"), bundle.clusters)


def test_pyspark_is_never_the_tasks_own(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "# Databricks notebook source\n"
                     "# MAGIC %pip install pyspark==3.5.1 databricks-connect inflection\n")
    job = bundle.jobs["j"]
    assert asked_for(job, job.task("nb"), bundle.clusters).lines[-1:] == ["inflection"]
    assert "pyspark==3.5.1" not in asked_for(job, job.task("nb"), bundle.clusters).lines


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\n\r"),
               max_size=60))
@example(text="\x0b#")  # a vertical tab is one word to shlex, and blank to pip
@example(text="'my wheels/x-1.0-py3-none-any.whl'")
def test_any_pip_line_is_read_or_a_located_error(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("pip")
    bundle = _bundle(folder, f"# Databricks notebook source\n# MAGIC %pip install {text}\n")
    job = bundle.jobs["j"]
    try:
        asked = asked_for(job, job.task("nb"), bundle.clusters)
    except RequirementError as exc:
        assert exc.where.file == str(folder / "nb.py") and exc.where.line == 2
        assert "\n" not in str(exc)
    else:
        assert all(r.line.strip() for r in asked.requirements)
