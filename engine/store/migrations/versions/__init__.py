"""Alembic revision scripts, applied in order by ``engine.store.schema.upgrade``."""
