"""The repository API: ``Storage``, one short transaction per public method.

Modelled on Optuna's RDBStorage: methods take stage names, return plain records
or dicts, and never hand out live ORM objects. ``transaction()`` groups several
calls into one write transaction that holds the write lock throughout (SQLite's
``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so read-modify-write never races.
A ``Storage`` belongs to one process: create a new one after fork or spawn.

Loss-row ids only grow (never reused), and loss rows are written under the writer
lock on both backends, so ids are committed in order and ``loss_rows(after_id=...)``
polling never skips a row.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import PurePath
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, aliased

from engine.store.connect import read_only
from engine.store.dialects import insert_ignore, serialize_writers
from engine.store.errors import DuplicateStageError, StageHasChildrenError, StoreError
from engine.store.models import Artifact, Loss, Stage
from engine.store.names import next_numbered_name, unknown_stage, validate_stage_name
from engine.store.records import STAGE_KINDS, STATUSES, ArtifactRecord, StageRecord, decode_value, encode_value

LossRow = tuple[int, float, str, float]
"""``(step, wall_time, key, value)`` as given to ``Storage.add_loss_rows``."""

RUN_FIELDS = frozenset(
    {
        "attempt", "claim_token", "worker_host", "worker_pid", "worker_job", "device", "heartbeat_at",
        "queued_at", "started_at", "finished_at", "cancel_requested", "error",
        "step_offset", "last_step", "problem_hash",
    }
)
"""Stage columns ``Storage.set_status`` may change along with the status."""

_RESULTS_RESET: dict[str, Any] = {
    "status": "draft", "attempt": 0, "claim_token": None, "worker_host": None,
    "worker_pid": None, "worker_job": None, "device": None, "heartbeat_at": None, "queued_at": None,
    "started_at": None, "finished_at": None, "cancel_requested": False, "error": None,
    "last_step": None, "correction": None, "errors": None,
}


class Storage:
    """Stages, loss rows and artifacts in one mtc database."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._reader = read_only(engine)
        self._local = threading.local()
        self._pid = os.getpid()

    def dispose(self) -> None:
        """Close all pooled connections (call before the process ends or forks)."""
        self.engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    # -- transactions ---------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Storage]:
        """Run the storage calls made in the block (same thread) as one write transaction."""
        if getattr(self._local, "session", None) is not None:
            yield self
            return
        with self._begin(self.engine, exclusive=True) as session:
            self._local.session = session
            try:
                yield self
            finally:
                self._local.session = None

    @contextmanager
    def session(self, write: bool, exclusive: bool = True) -> Iterator[Session]:
        """A Session inside the active ``transaction()``, else a short one of its own (for store modules).

        A write session is ``exclusive`` (one writer at a time, see ``dialects.serialize_writers``)
        unless the caller's writes are single atomic statements (claim, heartbeat).
        """
        active = getattr(self._local, "session", None)
        if active is not None:
            yield active
            return
        with self._begin(self.engine if write else self._reader, exclusive=write and exclusive) as session:
            yield session

    @contextmanager
    def _begin(self, bind: Engine, exclusive: bool) -> Iterator[Session]:
        if os.getpid() != self._pid:
            raise StoreError("this Storage was created in another process: open a new one here")
        with Session(bind, expire_on_commit=False) as session, session.begin():
            if exclusive:
                serialize_writers(session)
            yield session

    # -- stages ---------------------------------------------------------------

    def create_stage(
        self,
        name: str,
        config: dict[str, Any],
        description: str = "",
        parent: str | None = None,
        kind: str = "standard",
        problem_hash: str | None = None,
    ) -> StageRecord:
        """Add a draft stage; ``parent`` None makes it a branch root; ``kind`` is one of ``STAGE_KINDS``."""
        validate_stage_name(name)
        if kind not in STAGE_KINDS:
            raise StoreError(f"invalid stage kind {kind!r}: use one of {', '.join(STAGE_KINDS)}")
        if kind != "standard" and parent is None:
            raise StoreError(f"a {kind} stage continues from a parent stage: give its parent")
        with self.session(write=True) as session:
            self._ensure_free(session, name)
            parent_id = self._stage(session, parent).id if parent is not None else None
            stage = Stage(
                name=name, config=config, description=description, parent_id=parent_id,
                kind=kind, problem_hash=problem_hash,
            )
            session.add(stage)
            session.flush()
            return self._record(session, stage)

    def get_stage(self, name: str) -> StageRecord:
        """The stage named ``name``."""
        with self.session(write=False) as session:
            found = self._records(session, Stage.name == name)
            if not found:
                raise unknown_stage(name, session.scalars(select(Stage.name)))
            return found[0]

    def list_stages(self) -> list[StageRecord]:
        """All stages, ordered by id (parents always come before their children)."""
        with self.session(write=False) as session:
            return self._records(session)

    def children(self, name: str) -> list[StageRecord]:
        """The stages continuing directly from ``name``, ordered by id."""
        with self.session(write=False) as session:
            return self._records(session, Stage.parent_id == self._stage(session, name).id)

    def descendants(self, name: str) -> list[StageRecord]:
        """All stages below ``name``, depth-first with each parent before its children."""
        with self.session(write=False) as session:
            stage = self._stage(session, name)
            return _subtree(self._records(session), stage.id)[1:]

    def lineage(self, name: str) -> list[StageRecord]:
        """The chain of stages from the branch root down to ``name`` (inclusive)."""
        with self.session(write=False) as session:
            self._stage(session, name)
            by_name = {record.name: record for record in self._records(session)}
        chain = [by_name[name]]
        while chain[-1].parent is not None:
            chain.append(by_name[chain[-1].parent])
        return chain[::-1]

    def update_config(self, name: str, config: dict[str, Any]) -> StageRecord:
        """Replace the stage's config."""
        return self._update(name, config=config)

    def update_description(self, name: str, description: str) -> StageRecord:
        """Replace the stage's description."""
        return self._update(name, description=description)

    def set_errors(self, name: str, errors: dict[str, Any] | None) -> StageRecord:
        """Record the stage's errors against the reference solution (None: none known)."""
        return self._update(name, errors=errors)

    def set_tags(self, name: str, tags: Sequence[str]) -> StageRecord:
        """Replace the stage's tags (labels to filter on)."""
        return self._update(name, tags=list(tags))

    def rename_stage(self, old: str, new: str) -> StageRecord:
        """Rename a stage; its children follow (they refer to it by id)."""
        validate_stage_name(new)
        with self.session(write=True) as session:
            stage = self._stage(session, old)
            if new != old:
                self._ensure_free(session, new)
            stage.name = new
            session.flush()
            return self._record(session, stage)

    def set_status(self, name: str, status: str, **fields: Any) -> StageRecord:
        """Set the status and any of ``RUN_FIELDS`` (e.g. ``started_at=...``) together."""
        if status not in STATUSES:
            raise StoreError(f"invalid stage status {status!r}: use one of {', '.join(STATUSES)}")
        unknown = set(fields) - RUN_FIELDS
        if unknown:
            raise TypeError(f"set_status() got fields it cannot set: {', '.join(sorted(unknown))}")
        return self._update(name, status=status, **fields)

    def delete_stage(self, name: str, recursive: bool = False) -> list[str]:
        """Delete a stage (and with ``recursive`` its descendants, deepest first).

        Loss and artifact rows go with it; files on disk are the caller's job.
        Returns the deleted names in deletion order.
        """
        with self.session(write=True) as session:
            stage = self._stage(session, name)
            doomed = _subtree(self._records(session), stage.id)
            if len(doomed) > 1 and not recursive:
                names = ", ".join(record.name for record in doomed[1:])
                raise StageHasChildrenError(
                    f"stage {name!r} has descendants ({names}): delete them first "
                    "or delete recursively"
                )
            for record in reversed(doomed):
                session.execute(delete(Stage).where(Stage.id == record.id))
            return [record.name for record in reversed(doomed)]

    def next_free_name(self, prefix: str = "stage") -> str:
        """``<prefix>N`` with N one above the largest N already used (gaps are not reused)."""
        with self.session(write=False) as session:
            names = session.scalars(
                select(Stage.name).where(Stage.name.startswith(prefix, autoescape=True))
            )
            return next_numbered_name(prefix, names)

    # -- loss rows ------------------------------------------------------------

    def add_loss_rows(self, stage: str, attempt: int, rows: Sequence[LossRow]) -> None:
        """Insert ``(step, wall_time, key, value)`` rows in one batch; duplicates are ignored."""
        if not rows:
            return
        with self.session(write=True) as session:
            values = loss_values(self._stage(session, stage).id, attempt, rows)
            session.execute(insert_ignore(session), values)

    def loss_rows(
        self, stage: str, after_id: int = 0, keys: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The stage's loss rows with id > ``after_id`` (optionally only ``keys``), by id.

        Each row is a dict with id, stage, attempt, step, wall_time, key and value
        (NaN and infinities restored as floats); poll with the last id seen.
        """
        with self.session(write=False) as session:
            stage_id = self._stage(session, stage).id
            query = select(Loss).where(Loss.stage_id == stage_id, Loss.id > after_id)
            if keys is not None:
                query = query.where(Loss.key.in_(keys))
            return [
                {
                    "id": row.id, "stage": stage, "attempt": row.attempt, "step": row.step,
                    "wall_time": row.wall_time, "key": row.key,
                    "value": decode_value(row.value, row.kind),
                }
                for row in session.scalars(query.order_by(Loss.id))
            ]

    def latest_losses(self, key: str = "total") -> dict[str, tuple[int, float]]:
        """Each stage's most recent ``(step, value)`` of ``key`` (stages without one are absent)."""
        with self.session(write=False) as session:
            newest = select(func.max(Loss.id)).where(Loss.key == key).group_by(Loss.stage_id).scalar_subquery()
            rows = session.execute(
                select(Stage.name, Loss.step, Loss.value, Loss.kind).join(Stage, Stage.id == Loss.stage_id).where(Loss.id.in_(newest))
            )
            return {name: (step, decode_value(value, kind)) for name, step, value, kind in rows}

    def delete_results(self, name: str) -> list[ArtifactRecord]:
        """Drop the stage's loss and artifact rows and reset it to a never-run draft.

        Returns the removed artifacts so the caller can delete their files.
        """
        with self.session(write=True) as session:
            stage = self._stage(session, name)
            removed = self._artifacts(session, stage)
            session.execute(delete(Loss).where(Loss.stage_id == stage.id))
            session.execute(delete(Artifact).where(Artifact.stage_id == stage.id))
            for field, value in _RESULTS_RESET.items():
                setattr(stage, field, value)
            return removed

    # -- artifacts ------------------------------------------------------------

    def add_artifact(
        self,
        stage: str,
        kind: str,
        path: str | os.PathLike[str],
        step: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> ArtifactRecord:
        """Record a file the stage produced; ``path`` must be relative to the project."""
        relative = PurePath(path)
        if relative.is_absolute():
            raise StoreError(
                f"artifact path {str(path)!r} must be relative to the project directory"
            )
        with self.session(write=True) as session:
            owner = self._stage(session, stage)
            artifact = Artifact(
                stage_id=owner.id, kind=kind, path=relative.as_posix(), step=step, meta=meta or {}
            )
            session.add(artifact)
            session.flush()
            return ArtifactRecord.of(artifact, owner.name)

    def artifacts(self, name: str, kind: str | None = None) -> list[ArtifactRecord]:
        """The stage's artifacts (optionally of one ``kind``), ordered by id."""
        with self.session(write=False) as session:
            return self._artifacts(session, self._stage(session, name), kind)

    # -- helpers --------------------------------------------------------------

    def _update(self, name: str, **values: Any) -> StageRecord:
        for field, value in values.items():
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError(f"{field}={value!r} is naive: pass a timezone-aware datetime")
        with self.session(write=True) as session:
            stage = self._stage(session, name)
            for field, value in values.items():
                setattr(stage, field, value)
            session.flush()
            return self._record(session, stage)

    @staticmethod
    def _stage(session: Session, name: str) -> Stage:
        stage = session.scalar(select(Stage).where(Stage.name == name))
        if stage is None:
            raise unknown_stage(name, session.scalars(select(Stage.name)))
        return stage

    @staticmethod
    def _ensure_free(session: Session, name: str) -> None:
        if session.scalar(select(Stage.id).where(Stage.name == name)) is not None:
            raise DuplicateStageError(
                f"a stage named {name!r} already exists: choose another name or delete it first"
            )

    @staticmethod
    def _records(session: Session, *where: Any) -> list[StageRecord]:
        parent = aliased(Stage)
        query = select(Stage, parent.name).outerjoin(parent, Stage.parent_id == parent.id)
        query = query.where(*where).order_by(Stage.id).execution_options(populate_existing=True)
        rows = session.execute(query)
        return [StageRecord.of(stage, parent_name) for stage, parent_name in rows]

    @staticmethod
    def _record(session: Session, stage: Stage) -> StageRecord:
        return Storage._records(session, Stage.id == stage.id)[0]

    @staticmethod
    def _artifacts(session: Session, stage: Stage, kind: str | None = None) -> list[ArtifactRecord]:
        query = select(Artifact).where(Artifact.stage_id == stage.id)
        if kind is not None:
            query = query.where(Artifact.kind == kind)
        rows = session.scalars(query.order_by(Artifact.id))
        return [ArtifactRecord.of(artifact, stage.name) for artifact in rows]


def _subtree(records: list[StageRecord], root_id: int) -> list[StageRecord]:
    """The record with ``root_id`` and all below it, depth-first, parents first."""
    by_parent: dict[int | None, list[StageRecord]] = {}
    for record in records:
        by_parent.setdefault(record.parent_id, []).append(record)
    pending = [next(record for record in records if record.id == root_id)]
    ordered = []
    while pending:
        record = pending.pop()
        ordered.append(record)
        pending.extend(reversed(by_parent.get(record.id, [])))
    return ordered


def loss_values(stage_id: int, attempt: int, rows: Sequence[LossRow]) -> list[dict[str, Any]]:
    """Insert parameters for ``(step, wall_time, key, value)`` rows; non-finite values become NULL + kind."""
    values = []
    for step, wall_time, key, value in rows:
        stored, kind = encode_value(value)
        values.append(
            {"stage_id": stage_id, "attempt": attempt, "step": step, "wall_time": wall_time, "key": key,
             "value": stored, "kind": kind}
        )  # fmt: skip
    return values

