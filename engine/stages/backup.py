"""Backups taken before ``mtc init-conf --reset`` wipes the stages.

SQLite databases are copied with sqlite3's online backup API (a consistent
snapshot even while other processes write); other databases get a JSON dump of
every stage row. Both land in ``<project>/.mtc/backups/mtc-<UTC timestamp>.<ext>``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from engine.store import Storage
from engine.store.connect import sqlite_file

BACKUP_DIR = Path(".mtc") / "backups"


def backup_database(storage: Storage, project_dir: str | os.PathLike[str]) -> Path:
    """Back up the database behind ``storage`` and return the backup file's path."""
    database = sqlite_file(storage.engine.url.render_as_string(hide_password=False))
    if database is not None:
        return _write_new(project_dir, ".db", lambda target: _copy_sqlite(database, target))
    return _write_new(project_dir, ".json", lambda target: _dump_stages(storage, target))


def _write_new(project_dir: str | os.PathLike[str], suffix: str, write: Callable[[Path], None]) -> Path:
    """Write a fresh backup file through a temporary name, so no half-written backup is left."""
    folder = Path(project_dir) / BACKUP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"mtc-{stamp}{suffix}"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"mtc-{stamp}-{counter}{suffix}"
    partial = target.with_name(target.name + ".partial")
    try:
        write(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _copy_sqlite(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _dump_stages(storage: Storage, target: Path) -> None:
    stages = [dataclasses.asdict(record) for record in storage.list_stages()]
    payload = {"mtc_backup": "stages", "stages": stages}
    target.write_text(json.dumps(payload, indent=2, default=_json_value), encoding="utf-8")


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a JSON backup")
