"""Schema versioning with alembic, driven through its Python API (no alembic.ini).

The database's revision is alembic's own ``alembic_version`` table; the revision
this code expects is the head of the migrations shipped in ``migrations/versions``
(no separate schema_version table). Opening a database at another revision fails:
older (or not initialised) raises ``SchemaOutdatedError`` asking for ``mtc db
upgrade``; a revision these migrations do not know was written by a newer mtc and
raises ``SchemaTooNewError``. Each upgrade runs in one transaction (BEGIN IMMEDIATE
on SQLite), so concurrent upgrades serialise and a failed one leaves nothing behind.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from engine.store.connect import make_engine, read_only
from engine.store.errors import SchemaOutdatedError, SchemaTooNewError, StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An alembic config pointing at the shipped migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The schema revision this code expects."""
    head = _scripts().get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: the latest) in one transaction."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # Batch migrations rebuild tables (DROP + RENAME): with foreign keys on,
                # the DROP would cascade-delete loss and artifact rows. The pragma only
                # works outside a transaction, hence on the raw connection.
                connection.connection.cursor().execute("PRAGMA foreign_keys=OFF")
            with connection.begin():
                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise StoreError(f"migrating {_where(engine)} broke foreign keys: rolled back")
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None when it holds no mtc schema."""
    with read_only(engine).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def check_schema(engine: Engine) -> None:
    """Raise unless the database is at exactly the revision this code expects."""
    found, head = current_revision(engine), head_revision()
    if found == head:
        return
    where = _where(engine)
    if found is None:
        raise SchemaOutdatedError(f"the database {where} has no mtc schema: run `mtc db upgrade`")
    if found in {script.revision for script in _scripts().walk_revisions()}:
        raise SchemaOutdatedError(
            f"the database {where} has schema revision {found} but this mtc needs {head}: "
            "run `mtc db upgrade`"
        )
    raise SchemaTooNewError(
        f"the database {where} has schema revision {found}, newer than this mtc knows "
        f"(latest {head}): upgrade mtc to the version that wrote it"
    )
