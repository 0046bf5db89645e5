"""Alembic environment: runs on the connection ``engine.store.schema`` puts in the config.

The caller owns the (already begun) transaction, so a migration is all-or-nothing,
and on SQLite it holds the write lock (BEGIN IMMEDIATE) from start to end.
"""

from alembic import context

from engine.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
