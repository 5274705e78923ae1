"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from podium.store.schema import metadata


def test_empty_database_is_upgraded_to_a_schema_equal_to_the_models(store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0001"
        assert compare_metadata(context, metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert {"jobs", "runs", "task_runs", "attempts", "task_values", "notebook_runs",
            "for_each_iterations", "repairs", "alembic_version"} <= tables


def test_opening_twice_does_not_migrate_again(store, database_url) -> None:
    from podium.store import open_store

    again = open_store(database_url)
    with again.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0001"
