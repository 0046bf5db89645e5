"""Alembic migrations for the mtc database, shipped in the package (see ``engine.store.schema``)."""
