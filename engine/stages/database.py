"""Whether a project's database exists yet, and ``mtc db upgrade``."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

from engine.store import NoDatabaseError, database_url, make_engine, upgrade
from engine.store.connect import sqlite_file
from engine.store.schema import current_revision


def database_exists(url: str) -> bool:
    """A SQLite file that exists, or another database already holding an mtc schema."""
    path = sqlite_file(url)
    if path is not None:
        return path.is_file()
    return schema_revision(url) is not None


def display_url(url: str) -> str:
    """``url`` fit to print: a SQLite file's path, or the URL with its password hidden."""
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def schema_revision(url: str) -> str | None:
    """The database's schema revision; None when it holds no mtc schema."""
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def upgrade_database(project_dir: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """Migrate the project's database to this code's schema; returns (revision before, after)."""
    url = database_url(project_dir)
    if not database_exists(url):
        raise NoDatabaseError(f"no mtc database for {project_dir} ({display_url(url)}): run `mtc init-conf`")
    before = schema_revision(url)
    upgrade(url)
    return before, schema_revision(url)
