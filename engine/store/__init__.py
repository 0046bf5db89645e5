"""mtc storage layer: the stage tree, loss rows and artifacts in SQLite or PostgreSQL.

Open a project's database with ``open_storage(project_dir)`` (or ``open_url(url)``),
then use the ``Storage`` methods; each is one short transaction returning plain
records. Create databases with ``init_database`` and migrate them with ``upgrade``.
"""

from engine.store.connect import DB_URL_ENV, database_url, make_engine
from engine.store.database import init_database, open_storage, open_url
from engine.store.errors import (
    DatabaseBusy,
    DatabaseUnreachable,
    DuplicateStageError,
    NoDatabaseError,
    SchemaOutdatedError,
    SchemaTooNewError,
    StageHasChildrenError,
    StoreError,
    UnknownStageError,
)
from engine.store.names import validate_stage_name
from engine.store.records import STAGE_KINDS, STATUSES, ArtifactRecord, StageRecord
from engine.store.schema import check_schema, head_revision, upgrade
from engine.store.storage import RUN_FIELDS, LossRow, Storage

__all__ = [
    "DB_URL_ENV",
    "RUN_FIELDS",
    "STAGE_KINDS",
    "STATUSES",
    "ArtifactRecord",
    "DatabaseBusy",
    "DatabaseUnreachable",
    "DuplicateStageError",
    "LossRow",
    "NoDatabaseError",
    "SchemaOutdatedError",
    "SchemaTooNewError",
    "StageHasChildrenError",
    "StageRecord",
    "Storage",
    "StoreError",
    "UnknownStageError",
    "check_schema",
    "database_url",
    "head_revision",
    "init_database",
    "make_engine",
    "open_storage",
    "open_url",
    "upgrade",
    "validate_stage_name",
]
