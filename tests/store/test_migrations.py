"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from podium.store.db import alembic_config, current_revision, head_revision, upgrade
from podium.store.schema import metadata

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_empty_database_is_upgraded_to_a_schema_equal_to_the_models(store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == HEAD
        assert compare_metadata(context, metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert {"jobs", "runs", "task_runs", "attempts", "task_values", "notebook_runs",
            "for_each_iterations", "repairs", "task_outputs", "alembic_version"} <= tables


def test_opening_twice_does_not_migrate_again(store, database_url) -> None:
    from podium.store import open_store

    again = open_store(database_url)
    with again.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD
    assert current_revision(again.engine) == head_revision() == HEAD


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert head_revision() == HEAD


def test_an_old_database_is_upgraded_keeping_its_rows(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(text(
            "INSERT INTO jobs (key, name, bundle_name, bundle_root, target, spec_json, "
            "spec_hash, created_ms) VALUES ('j', 'j', 'b', '/b', 'dev', '{}', 'h', 1)"))
    upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD
        assert connection.execute(text("SELECT key FROM jobs")).scalar() == "j"
        assert "parent_run_id" in {c["name"] for c in inspect(connection).get_columns("runs")}


def test_a_workspace_database_on_sqlite_is_its_owners_alone(podium_home) -> None:
    """It holds running clusters' addresses with their tokens: a new one is made owner-only
    (its WAL files follow), and one left readable by others is tightened when opened."""
    from podium.store import open_store
    from podium.store.db import dispose_all

    fresh = podium_home / "fresh.db"
    open_store(f"sqlite:///{fresh}")
    loose = podium_home / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    open_store(f"sqlite:///{loose}")
    try:
        wal = list(podium_home.glob("*.db-wal"))  # there while connections are open
        assert len(wal) == 2
        for path in (fresh, loose, *wal):
            assert path.stat().st_mode & 0o777 == 0o600, path
    finally:
        dispose_all()
