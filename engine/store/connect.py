"""Engine creation: database URL resolution and per-connection SQLite settings.

Every new SQLite connection gets ``journal_mode=WAL`` (readers never block the
writer), ``busy_timeout=15000`` (wait up to 15 s for the write lock),
``foreign_keys=ON`` and ``synchronous=NORMAL``. pysqlite's own transaction
handling is switched off and each transaction starts with ``BEGIN IMMEDIATE``, so
a writer takes the write lock up front and concurrent writers queue on the busy
timeout instead of failing with 'database is locked' when a read lock cannot be
upgraded. Connections from ``read_only(engine)`` start with a deferred ``BEGIN``
instead (a consistent snapshot that never waits for writers).

Never share an engine across ``fork``: pooled SQLite connections must not be used
in two processes. Create the engine (or ``Storage``) inside each process and call
``dispose()`` when done; multiprocessing code should use the "spawn" context.
PostgreSQL URLs get psycopg 3 (``postgresql://`` is read as ``postgresql+psycopg://``).

Database errors are translated here, at the store's edge: a URL for an unsupported
database or a missing driver raises ``StoreError`` when the engine is made; a server
that cannot be reached (down, wrong password, unknown database) raises
``DatabaseUnreachable`` and any other operational failure (a lock timeout, a dropped
connection) ``DatabaseBusy``, each one line naming the URL with its password masked.
Nothing above ``engine.store`` sees SQLAlchemy's exceptions for these.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InterfaceError, NoSuchModuleError, OperationalError

from engine.store.dialects import engine_url, masked
from engine.store.errors import DatabaseBusy, DatabaseUnreachable, StoreError

DB_URL_ENV = "MTC_DB_URL"
_READ_ONLY = "mtc_read_only"
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=15000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def database_url(project_dir: str | os.PathLike[str]) -> str:
    """``$MTC_DB_URL`` if set, else the project's ``.mtc/mtc.db`` SQLite file."""
    env = os.environ.get(DB_URL_ENV)
    if env:
        return env
    return f"sqlite:///{Path(project_dir).resolve() / '.mtc' / 'mtc.db'}"


def sqlite_file(url: str) -> Path | None:
    """The database file of a file-based SQLite URL; None for other URLs and in-memory DBs."""
    parsed = engine_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite engines get the settings described in this module."""
    parsed = engine_url(url)
    try:
        engine = create_engine(parsed)
    except NoSuchModuleError:
        raise StoreError(
            f"the database URL {masked(parsed)} names the driver {parsed.drivername!r}, which SQLAlchemy does not "
            "know: use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    except ImportError as exc:
        raise StoreError(
            f"the database URL {masked(parsed)} needs the Python module {exc.name or exc}, which is not installed: "
            "`pip install 'psycopg[binary]'` and use postgresql://... (or install that driver)"
        ) from None
    event.listen(engine, "handle_error", _translate_error)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _translate_error(context: ExceptionContext) -> None:
    """Raise one line naming the database (password masked) for an operational DBAPI error."""
    if not isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)):
        return  # integrity and programming errors are bugs of the caller: keep them as they are
    lines = str(context.original_exception).strip().splitlines() or [type(context.original_exception).__name__]
    reason = lines[0].strip()
    where = masked(context.engine.url) if context.engine is not None else "(unknown URL)"
    if context.connection is None or context.is_disconnect:
        raise DatabaseUnreachable(f"cannot connect to the database {where}: {reason}") from None
    raise DatabaseBusy(f"the database {where} failed: {reason}") from None


def read_only(engine: Engine) -> Engine:
    """A view of ``engine`` whose SQLite transactions begin deferred (for reads only)."""
    return engine.execution_options(**{_READ_ONLY: True})


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    deferred = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
