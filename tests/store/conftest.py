"""Every store test runs twice: on SQLite in the test's workspace, and on the real
PostgreSQL that `make test` starts (scripts/ensure-postgres.sh) in a schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from podium.store import RunStore, open_store
from podium.store.db import dispose_all

PG_SERVER = os.environ.get("PODIUM_TEST_DATABASE_URL",
                           "postgresql+psycopg://podium:podium@127.0.0.1:5432/podium_test")


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(PG_SERVER, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect: the test fails and says why
        return (f"PostgreSQL at {PG_SERVER} does not answer ({str(exc).splitlines()[0]}); "
                "`make test` starts one with scripts/ensure-postgres.sh")


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
    reason = _postgres_reason()
    if reason:
        pytest.fail(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER)
    with admin.begin() as db:
        db.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("PODIUM_DATABASE_URL", url)
    yield url
    dispose_all()
    with admin.begin() as db:
        db.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def store(database_url: str) -> RunStore:
    """A migrated run store on the database under test."""
    return open_store(database_url)
