"""Plain records returned by ``Storage`` (detached copies, never live ORM objects)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.kinds import STAGE_KINDS
from engine.store.models import Artifact, Stage

STATUSES = ("draft", "queued", "running", "done", "failed", "cancelled")
__all__ = ["STAGE_KINDS", "STATUSES", "ArtifactRecord", "StageRecord", "decode_value", "encode_value"]
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


@dataclass(frozen=True)
class StageRecord:
    """One stage row; ``parent`` is the parent stage's name (None for a branch root)."""

    id: int
    name: str
    description: str
    parent: str | None
    parent_id: int | None
    kind: str
    status: str
    config: dict[str, Any]
    problem_hash: str | None
    attempt: int
    claim_token: str | None
    worker_host: str | None
    worker_pid: int | None
    device: str | None
    heartbeat_at: datetime | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    error: str | None
    step_offset: int
    last_step: int | None
    correction: dict[str, Any] | None = None
    worker_job: str | None = None
    errors: dict[str, Any] | None = None
    tags: list[str] | None = None

    @classmethod
    def of(cls, stage: Stage, parent: str | None) -> StageRecord:
        """Copy an ORM ``Stage`` whose parent is named ``parent``."""
        columns = {column.key: getattr(stage, column.key) for column in Stage.__table__.columns}
        return cls(parent=parent, **columns)


@dataclass(frozen=True)
class ArtifactRecord:
    """One artifact row; ``path`` is relative to the project directory."""

    id: int
    stage: str
    kind: str
    path: str
    step: int | None
    created_at: datetime
    meta: dict[str, Any]

    @classmethod
    def of(cls, artifact: Artifact, stage: str) -> ArtifactRecord:
        """Copy an ORM ``Artifact`` belonging to the stage named ``stage``."""
        return cls(
            id=artifact.id,
            stage=stage,
            kind=artifact.kind,
            path=artifact.path,
            step=artifact.step,
            created_at=artifact.created_at,
            meta=artifact.meta,
        )


def encode_value(value: float) -> tuple[float | None, str]:
    """``(stored value, kind)``: non-finite values are stored as NULL with kind nan/inf/-inf."""
    value = float(value)
    if math.isfinite(value):
        return value, "finite"
    if math.isnan(value):
        return None, "nan"
    return None, "inf" if value > 0 else "-inf"


def decode_value(value: float | None, kind: str) -> float:
    """The float a stored ``(value, kind)`` pair stands for."""
    return value if value is not None else _NON_FINITE[kind]
