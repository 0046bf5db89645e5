"""Everything that differs between SQLite and PostgreSQL, in one place.

``engine_url`` picks the driver (``postgresql://`` means psycopg 3) and refuses an
unsupported database; ``now`` and ``seconds_ago`` are the database clock in each
column's storage format; ``insert_ignore`` is the dialect's INSERT ... ON CONFLICT DO
NOTHING; ``masked`` renders a URL fit to print (password hidden). The atomic claim's
``FOR UPDATE SKIP LOCKED`` is emitted by PostgreSQL and compiled away by SQLite,
whose writers are serialised by ``BEGIN IMMEDIATE`` (see ``connect``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from engine.store.errors import StoreError
from engine.store.models import Loss

SUPPORTED = ("sqlite", "postgresql")
_WRITER_LOCK = 0x6D7463  # "mtc": the PostgreSQL advisory lock every exclusive write transaction takes
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg"}
_SQLITE_TIME = "%Y-%m-%d %H:%M:%f000"


def masked(url: str | URL) -> str:
    """``url`` with its password replaced by ``***`` (what error messages show)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL for ``url``: a supported backend, ``postgresql://`` given the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"{url.split('@')[-1]!r} is not a database URL: use sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StoreError(
            f"the database URL {masked(parsed)} names the database {backend!r}, which mtc does not support: "
            "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    return parsed.set(drivername=_DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))


def serialize_writers(session: Session) -> None:
    """Make this write transaction the only one until it ends, as SQLite's ``BEGIN IMMEDIATE`` does.

    PostgreSQL runs transactions side by side (READ COMMITTED): a read-modify-write such as
    ``next_free_name`` + ``create_stage`` would race, so it takes a transaction-scoped advisory
    lock. On SQLite the lock is already held (see ``connect``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_WRITER_LOCK)))


def now(session: Session) -> ColumnElement:
    """The database's current UTC time, in the column's storage format."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime(_SQLITE_TIME, "now")
    return func.now()


def seconds_ago(session: Session, seconds: float) -> ColumnElement:
    """The database's time ``seconds`` ago, in the column's storage format."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime(_SQLITE_TIME, "now", f"-{seconds:.3f} seconds")
    return func.now() - timedelta(seconds=seconds)


def insert_ignore(session: Session) -> Insert:
    """An INSERT into ``loss`` that skips rows already present (same stage/attempt/key/step)."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(Loss).on_conflict_do_nothing()
    return postgresql.insert(Loss).on_conflict_do_nothing()
