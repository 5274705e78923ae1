"""What is remembered: run history in SQLite (default) or PostgreSQL, with migrations."""

from podium.store.db import database_url, engine_for, reader_for
from podium.store.errors import RunBusy, RunNotFound, TickTaken
from podium.store.runs import RunStore


def open_store(url: str | None = None) -> RunStore:
    """The run store of this workspace (PODIUM_DATABASE_URL or $PODIUM_HOME/podium.db)."""
    url = url or database_url()
    return RunStore(engine_for(url), reader_for(url))


__all__ = ["RunBusy", "RunNotFound", "RunStore", "TickTaken", "database_url", "open_store"]
