"""Creating and opening mtc databases: ``init_database``, ``open_url``, ``open_storage``."""

from __future__ import annotations

import os

from engine.store.connect import database_url, make_engine, sqlite_file
from engine.store.errors import NoDatabaseError
from engine.store.schema import check_schema, upgrade
from engine.store.storage import Storage


def init_database(url: str) -> None:
    """Create the database (and a SQLite file's folder) and migrate it to the latest schema."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)


def open_url(url: str) -> Storage:
    """A ``Storage`` on ``url`` after checking its schema is the one this code expects."""
    engine = make_engine(url)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Storage(engine)


def open_storage(project_dir: str | os.PathLike[str]) -> Storage:
    """The project's ``Storage`` (see ``database_url``); creates nothing if the file is missing."""
    url = database_url(project_dir)
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise NoDatabaseError(
            f"no mtc database in {project_dir} (looked for {path}): run `mtc init-conf`"
        )
    return open_url(url)
