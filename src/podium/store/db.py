"""Where the history lives: SQLite in the workspace by default, PostgreSQL through
`PODIUM_DATABASE_URL`. The schema is created and upgraded by Alembic migrations on
first use, inside one locked transaction so concurrent first uses do not race.

On SQLite a transaction that may write takes the database's write lock when it begins
(`BEGIN IMMEDIATE`), and the threads of one process take turns for it on a lock of their
own first, so they queue in order instead of polling in SQLite's busy handler (which
sleeps up to 100 ms between tries). Reads go through a second engine whose transactions
take no lock (`reader_for`): in WAL mode they see the last commit while a write goes on.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from podium import defaults

MIGRATIONS = Path(__file__).parent / "migrations"
POOL_SIZE = 20  # connections per engine: a server answers up to 40 requests at once
# A peer that answers nothing for DEAD_PEER_MS is gone (both ends of a connection).
DEAD_PEER_MS = 15_000
PG_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
                   "keepalives_interval": 2, "keepalives_count": 3,
                   "tcp_user_timeout": DEAD_PEER_MS}
PG_SESSION_OPTIONS = (f"-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
                      f"-c tcp_keepalives_count=3 -c tcp_user_timeout={DEAD_PEER_MS} "
                      "-c idle_in_transaction_session_timeout=60000")
_engines: dict[str, Engine] = {}
_readers: dict[str, Engine] = {}


def database_url() -> str:
    """`PODIUM_DATABASE_URL`, else the SQLite file `$PODIUM_HOME/podium.db`."""
    return os.environ.get("PODIUM_DATABASE_URL") or f"sqlite:///{defaults.home() / 'podium.db'}"


def alembic_config(connection=None) -> Any:
    """An Alembic config pointing at podium's migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (once: the mode is stored in the file). Switching can
    fail at once with "database is locked" while another process holds a lock, without
    waiting for the busy timeout, so it is retried for as long as that timeout."""
    deadline = time.monotonic() + busy_ms() / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def busy_ms() -> int:
    """How long a write waits for SQLite's lock before the store counts as unreachable:
    `PODIUM_SQLITE_BUSY_MS`, else a minute."""
    return int(defaults.number_setting("PODIUM_SQLITE_BUSY_MS"))


def _sqlite_engine(url: str, reader: bool = False) -> Engine:
    busy = busy_ms()
    engine = create_engine(url, connect_args={"timeout": busy / 1000,
                                              "check_same_thread": False},
                           pool_size=POOL_SIZE, max_overflow=POOL_SIZE)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if reader:
            cursor.execute("PRAGMA query_only=ON")  # a write by mistake fails, never waits
        cursor.close()

    if reader:
        @event.listens_for(engine, "begin")
        def _on_read(connection) -> None:  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN")  # a snapshot; no lock taken
        return engine

    turn = threading.Lock()
    holders: set[int] = set()  # the connections that hold `turn`
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def release(dbapi_connection: Any) -> None:
        key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        if key in holders:
            holders.discard(key)
            turn.release()

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            release(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            release(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # This process's writers take turns here; one that waited past the busy timeout
        # (a transaction left open by mistake) goes on to SQLite's own lock and timeout.
        raw = connection.connection.dbapi_connection
        if turn.acquire(timeout=busy / 1000):
            holders.add(id(raw))
        try:
            # Take the write lock up front: a deferred transaction that later writes can
            # fail with "database is locked" without waiting for the busy timeout.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(raw)
            raise

    return engine


def _postgres_engine(url: str) -> Engine:
    """An engine whose connections notice a database host that stopped answering (a cut
    link sends no reset) within seconds, on both ends: the client's keepalives and
    `tcp_user_timeout` fail a call that waits on a dead peer, and the same settings for the
    server's end make PostgreSQL end the session, so its locks do not outlive the link."""
    parsed = make_url(url)
    options = " ".join(filter(None, [parsed.query.get("options"), PG_SESSION_OPTIONS]))
    return create_engine(parsed, pool_pre_ping=True, pool_size=POOL_SIZE,
                         max_overflow=POOL_SIZE,
                         connect_args={**PG_CONNECT_ARGS, "options": options})


def _owner_only(path: Path) -> None:
    """Make the workspace database readable by its owner alone (it holds the addresses
    and tokens of running clusters); SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
        path.chmod(0o600)


def engine_for(url: str | None = None) -> Engine:
    """The (cached) engine for `url`, migrated to the latest schema."""
    url = url or database_url()
    if url not in _engines:
        if url.startswith("sqlite"):
            _owner_only(Path(url.split("///", 1)[1]))
            engine = _sqlite_engine(url)
        else:
            engine = _postgres_engine(url)
        upgrade(engine)
        _engines[url] = engine
    return _engines[url]


def reader_for(url: str | None = None) -> Engine:
    """The engine for reads only: on SQLite one whose transactions take no lock (a read
    never waits for a write), elsewhere the engine itself."""
    url = url or database_url()
    engine = engine_for(url)
    if not url.startswith("sqlite"):
        return engine
    if url not in _readers:
        _readers[url] = _sqlite_engine(url, reader=True)
    return _readers[url]


REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*['\"]?(\w+|None)['\"]?", re.M)


@cache
def head_revision() -> str:
    """The newest migration's id, read from the migration files (Alembic itself takes half
    a second to import, which every `podium` command would pay)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in REVISION.findall(path.read_text()):
            (parents if down else revisions).add(value)
    (head,) = revisions - parents
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration, if it is not there yet: Alembic runs
    only then, under a lock, so concurrent first uses do not race."""
    if current_revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(724201)"))
        current = MigrationContext.configure(connection).get_current_revision()
        if current != head_revision():
            command.upgrade(alembic_config(connection), "head")


def dispose_all() -> None:
    """Close every cached engine (tests switch databases)."""
    for engine in [*_engines.values(), *_readers.values()]:
        engine.dispose()
    _engines.clear()
    _readers.clear()
