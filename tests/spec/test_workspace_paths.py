"""Workspace paths map into `$PODIUM_HOME/workspace` and never out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.spec.workspace import WorkspacePathError, local, normalized, root


def test_workspace_paths_are_normalized_as_databricks_names_them() -> None:
    assert normalized("/Workspace/Users/a@b.com/etl/") == "/Users/a@b.com/etl"
    assert local("/Users/me/nb") == root().resolve() / "Users" / "me" / "nb"
    assert local("/") == root().resolve()


@pytest.mark.parametrize("bad", ["Users/me/nb", "/Users/me/../../etc/passwd", "/Users/./x",
                                 "/Users//x", "/Users/a\x00b", "/Users/a\nb", ""])
def test_malformed_paths_are_refused(bad: str) -> None:
    with pytest.raises(WorkspacePathError):
        local(bad)


def test_a_symlink_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root() / "Shared").mkdir(exist_ok=True)
    os.symlink(outside, root() / "Shared" / "escape")
    with pytest.raises(WorkspacePathError, match="leads outside the workspace"):
        local("/Shared/escape/file.txt")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "", "a", "Users", "Workspace", "b c", "\x00",
                                 "~", "%2e%2e", "..a", "/"]), max_size=8))
def test_any_path_stays_inside_the_workspace_or_is_refused(parts: list[str]) -> None:
    text = "/" + "/".join(parts)
    try:
        path = local(text)
    except WorkspacePathError:
        return
    base = root().resolve()
    assert path == base or base in path.resolve().parents
