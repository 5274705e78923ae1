"""The PostgreSQL that `make test` starts (scripts/ensure-postgres.sh): a fresh schema of
its own for each test that uses it, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

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


@contextmanager
def fresh_schema() -> Iterator[str]:
    """The URL of an empty schema on the test PostgreSQL; the test fails (never skips)
    when none answers."""
    reason = _postgres_reason()
    if reason:
        pytest.fail(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER)
    with admin.begin() as db:
        db.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as db:
            db.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
