"""Errors raised by the storage layer; all are user-facing ``MtcError`` subclasses."""

from __future__ import annotations

from engine.errors import MtcError


class StoreError(MtcError):
    """A problem with the mtc database or a request made to it."""


class NoDatabaseError(StoreError):
    """The project has no mtc database yet."""


class UnknownStageError(StoreError):
    """A stage name that does not exist in the database."""


class DuplicateStageError(StoreError):
    """A stage name that is already taken."""


class StageHasChildrenError(StoreError):
    """A stage that cannot be deleted because other stages continue from it."""


class SchemaOutdatedError(StoreError):
    """The database schema is older than this version of mtc expects."""


class SchemaTooNewError(StoreError):
    """The database schema was written by a newer version of mtc."""


class DatabaseUnreachable(StoreError):
    """The database server cannot be reached: down, wrong address, password or database name."""


class DatabaseBusy(StoreError):
    """A database operation failed for a passing reason (a lock wait timed out, the connection dropped)."""
