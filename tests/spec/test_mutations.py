"""Property: any mutation of a valid bundle either loads or fails with located problems."""

from __future__ import annotations

import copy
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from podium.spec import BundleError, load_bundle
from tests.conftest import EXAMPLES

SOURCES = ["seed000_two_clusters", "seed001_many_tables", "seed003_master_notebook",
           "seed002_controller"]
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.text(max_size=12),
    st.sampled_from(["${var.missing}", "{{tasks.nope.values.x}}", "{{job.parameters.zz}}",
                     "{{input}}", "${resources.jobs.ghost.id}", "[1, 2", "ALL_DONE", "-1",
                     "${var.rows}", "{{job.run_id}}"]),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["task_key", "depends_on", "x"]), st.text(max_size=4),
                    max_size=2),
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a mapping key or list item in a plain YAML tree."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.append((*prefix, i))
            found += paths(value, (*prefix, i))
    return found


def mutate(tree: Any, path: tuple, action: str, junk: Any) -> Any:
    """Drop, rename or replace the node at `path`."""
    tree = copy.deepcopy(tree)
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "drop":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{last}_x"] = parent.pop(last)
    else:
        parent[last] = junk
    return tree


# A hung example once kept the suite waiting: SIGALRM's timeout fails it, and Hypothesis
# then replays it without an alarm. The thread method prints every stack and ends.
@pytest.mark.timeout(240, method="thread")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), source=st.sampled_from(SOURCES),
       action=st.sampled_from(["drop", "rename", "replace"]), junk=JUNK)
def test_mutated_bundle_loads_or_fails_with_locations(data, source, action, junk) -> None:
    yaml = YAML(typ="safe", pure=True)
    root_file = EXAMPLES / source / "databricks.yml"
    tree = yaml.load(root_file.read_text())
    path = data.draw(st.sampled_from(paths(tree)))
    mutated = mutate(tree, path, action, junk)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / source
        shutil.copytree(EXAMPLES / source, folder)
        out = io.StringIO()
        YAML(typ="safe", pure=True).dump(mutated, out)
        (folder / "databricks.yml").write_text(out.getvalue())
        try:
            load_bundle(folder)
        except BundleError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.location.file, problem
                assert problem.message and "\n" not in problem.message, problem
                if problem.location.file != "--var":
                    assert problem.location.line >= 1, problem
