"""Every store test runs twice: on SQLite in the test's workspace, and on the real
PostgreSQL that `make test` starts (scripts/ensure-postgres.sh) in a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podium.store import RunStore, open_store
from podium.store.db import dispose_all
from tests.postgres import fresh_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, podium_home,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a fresh, empty database of each kind, set as PODIUM_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{podium_home / 'podium.db'}"
        monkeypatch.setenv("PODIUM_DATABASE_URL", url)
        yield url
        dispose_all()
        return
    with fresh_schema() as url:
        monkeypatch.setenv("PODIUM_DATABASE_URL", url)
        yield url
        dispose_all()


@pytest.fixture
def store(database_url: str) -> RunStore:
    """A migrated run store on the database under test."""
    return open_store(database_url)
