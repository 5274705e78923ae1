"""Shared fixtures: an isolated PODIUM_HOME and a helper that writes bundles to disk."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture(autouse=True)
def podium_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own workspace, as the standards ask."""
    home = tmp_path_factory.mktemp("podium_home")
    monkeypatch.setenv("PODIUM_HOME", str(home))
    return home


WriteBundle = Callable[..., Path]


@pytest.fixture
def write_bundle(tmp_path: Path) -> WriteBundle:
    """Write `files` (relative path -> text, dedented) under a fresh folder and return it;
    the first argument, if given, is the root `databricks.yml`."""

    def write(root_yaml: str | None = None, files: dict[str, str] | None = None) -> Path:
        folder = tmp_path / "bundle"
        folder.mkdir(exist_ok=True)
        files = dict(files or {})
        if root_yaml is not None:
            files["databricks.yml"] = root_yaml
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return folder

    return write
