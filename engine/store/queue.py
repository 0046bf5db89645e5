"""The stage table as a work queue: enqueue, atomic claim, heartbeat, guarded writes, finish, reap, cancel.

Every write of a running stage is guarded by its claim token: a worker whose stage was
reaped (and claimed by another) finds zero rows updated and stops. Heartbeats and the
staleness test use the database clock, so workers on hosts with skewed clocks agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from engine.store.errors import StoreError
from engine.store.models import Loss, Stage
from engine.store.dialects import insert_ignore, now, seconds_ago
from engine.store.storage import LossRow, Storage, loss_values

RUNNABLE_AGAIN = ("draft", "failed", "cancelled")


class ClaimLost(StoreError):
    """The stage was taken away from this worker (reaped as stale, or deleted)."""


@dataclass(frozen=True)
class Claim:
    """A stage a worker holds: its id, name, token and attempt number."""

    stage_id: int
    stage: str
    token: str
    attempt: int


@dataclass(frozen=True)
class Beat:
    """What a heartbeat learned: whether the claim still holds and whether cancel was asked."""

    alive: bool
    cancel_requested: bool


def enqueue(storage: Storage, names: Sequence[str]) -> list[str]:
    """Queue stages that are draft, failed or cancelled; returns those queued (done ones are left)."""
    queued = []
    with storage.transaction(), storage.session(write=True) as session:
        for name in names:
            stage = session.scalar(select(Stage).where(Stage.name == name))
            if stage is None:
                raise StoreError(f"unknown stage {name!r}")
            if stage.status in RUNNABLE_AGAIN:
                stage.status, stage.queued_at, stage.error = "queued", now(session), None
                stage.cancel_requested = False
                queued.append(name)
    return queued


def claim_next(storage: Storage, host: str, pid: int, device: str, job: str | None = None) -> Claim | None:
    """Atomically take the oldest queued stage whose parent is done (one UPDATE ... RETURNING).

    On PostgreSQL the candidate row is locked ``FOR UPDATE SKIP LOCKED``, so concurrent
    claims each take a different stage instead of waiting on one another. ``job`` is the
    cluster job the worker runs in (shown by ``mtc status``).
    """
    token = uuid.uuid4().hex
    parent = aliased(Stage)
    with storage.session(write=True, exclusive=False) as session:
        candidate = (
            select(Stage.id)
            .outerjoin(parent, Stage.parent_id == parent.id)
            .where(Stage.status == "queued", or_(Stage.parent_id.is_(None), parent.status == "done"))
            .order_by(Stage.queued_at, Stage.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=Stage)
            .scalar_subquery()
        )
        row = session.execute(
            update(Stage)
            .where(Stage.id == candidate, Stage.status == "queued")
            .values(
                status="running", claim_token=token, attempt=Stage.attempt + 1, worker_host=host, worker_pid=pid, worker_job=job,
                device=device, started_at=now(session), heartbeat_at=now(session), cancel_requested=False,
                finished_at=None, error=None,
            )
            .returning(Stage.id, Stage.name, Stage.attempt)
        ).first()
    return None if row is None else Claim(row.id, row.name, token, row.attempt)


def _guarded(session: Session, claim: Claim, **values: object) -> bool:
    result = session.execute(
        update(Stage).where(Stage.id == claim.stage_id, Stage.claim_token == claim.token).values(**values)
    )
    return result.rowcount == 1


def heartbeat(storage: Storage, claim: Claim) -> Beat:
    """Stamp the claim with the database clock; report a lost claim or a cancel request."""
    with storage.session(write=True, exclusive=False) as session:
        alive = _guarded(session, claim, heartbeat_at=now(session))
        cancel = session.scalar(select(Stage.cancel_requested).where(Stage.id == claim.stage_id))
    return Beat(alive, bool(cancel))


def record_rows(storage: Storage, claim: Claim, rows: Sequence[LossRow]) -> None:
    """Insert loss rows while the claim holds (one transaction); raises ClaimLost otherwise.

    Exclusive (the writer lock): row ids are then committed in id order on PostgreSQL too,
    so pollers reading ``id > last seen`` never skip a row committed late.
    """
    if not rows:
        return
    with storage.session(write=True) as session:
        if not _guarded(session, claim, last_step=max(step for step, *_ in rows)):
            raise ClaimLost(f"stage {claim.stage!r} is no longer held by this worker")
        session.execute(insert_ignore(session), loss_values(claim.stage_id, claim.attempt, rows))


def begin_run(storage: Storage, claim: Claim, start_step: int, step_offset: int, problem_hash: str) -> None:
    """Before training from ``start_step``: drop rows logged at or after it (a resumed attempt
    rewrites them, so the history stays unique), record the global step offset and the hash of the
    ``problem.py`` the stage runs with."""
    with storage.transaction(), storage.session(write=True) as session:
        if not _guarded(session, claim, step_offset=step_offset, problem_hash=problem_hash):
            raise ClaimLost(f"stage {claim.stage!r} is no longer held by this worker")
        session.execute(delete(Loss).where(Loss.stage_id == claim.stage_id, Loss.step >= start_step))


def record_correction(storage: Storage, claim: Claim, correction: dict[str, Any]) -> None:
    """Store what a correction stage computed when it started (eps, f_d per output) while the claim holds."""
    with storage.session(write=True, exclusive=False) as session:
        if not _guarded(session, claim, correction=correction):
            raise ClaimLost(f"stage {claim.stage!r} is no longer held by this worker")


def finish(storage: Storage, claim: Claim, status: str, error: str | None = None) -> bool:
    """End a claim: done, failed, cancelled or queued (interrupted). Failing or cancelling cancels queued descendants.

    Returns False when the claim had already been lost.
    """
    with storage.transaction(), storage.session(write=True) as session:
        values: dict[str, object] = dict(status=status, claim_token=None, error=error)
        values["finished_at"] = None if status == "queued" else now(session)
        if not _guarded(session, claim, **values):
            return False
        if status in ("failed", "cancelled"):
            _cancel_queued_below(session, claim.stage_id, f"parent {claim.stage!r} {status}")
    return True


def _cancel_queued_below(session: Session, stage_id: int, reason: str) -> None:
    stamp = now(session)
    frontier = [stage_id]
    while frontier:
        children = session.scalars(select(Stage).where(Stage.parent_id.in_(frontier))).all()
        for child in children:
            if child.status == "queued":
                child.status, child.error, child.finished_at = "cancelled", reason, stamp
        frontier = [c.id for c in children]


def reap_stale(storage: Storage, stale_after: float, max_attempts: int) -> list[str]:
    """Requeue running stages whose heartbeat is older than ``stale_after`` s (failed after max_attempts)."""
    def stale(session: Session) -> Any:
        return select(Stage).where(Stage.status == "running", Stage.heartbeat_at < seconds_ago(session, stale_after))

    with storage.session(write=False) as session:  # most polls find nothing: no write lock for them
        if session.scalar(stale(session).with_only_columns(func.count())) == 0:
            return []
    with storage.transaction(), storage.session(write=True) as session:
        return [_reap(session, stage, max_attempts, "stopped heartbeating") for stage in session.scalars(stale(session))]


def reap_dead(storage: Storage, host: str, alive: Callable[[int], bool], max_attempts: int) -> list[str]:
    """Requeue at once the running stages whose worker ran on ``host`` and whose pid is no longer ``alive``.

    No need to wait for a stale heartbeat when the worker's own host can see it is gone.
    """
    here = select(Stage.worker_pid).where(Stage.status == "running", Stage.worker_host == host)
    with storage.session(write=False) as session:  # most polls find nothing: no write lock for them
        if all(alive(pid) for pid in session.scalars(here) if pid is not None):
            return []
    with storage.transaction(), storage.session(write=True) as session:
        running = session.scalars(select(Stage).where(Stage.status == "running", Stage.worker_host == host)).all()
        dead = [stage for stage in running if stage.worker_pid is not None and not alive(stage.worker_pid)]
        return [_reap(session, stage, max_attempts, "exited") for stage in dead]


def _reap(session: Session, stage: Stage, max_attempts: int, what: str) -> str:
    lost = f"its worker (pid {stage.worker_pid} on {stage.worker_host}) {what}"
    if stage.attempt >= max_attempts:
        stage.status, stage.finished_at = "failed", now(session)
        stage.error = f"{lost} {stage.attempt} times; not retried (limit {max_attempts})"
        _cancel_queued_below(session, stage.id, f"parent {stage.name!r} failed")
    else:
        stage.status, stage.error = "queued", f"requeued: {lost}"
    stage.claim_token = None
    return stage.name


def request_cancel(storage: Storage, name: str) -> str:
    """Cancel a queued stage at once (and its queued descendants); flag a running one. Returns the new state."""
    with storage.transaction(), storage.session(write=True) as session:
        stage = session.scalar(select(Stage).where(Stage.name == name))
        if stage is None:
            raise StoreError(f"unknown stage {name!r}")
        if stage.status == "queued":
            stage.status, stage.finished_at, stage.error = "cancelled", now(session), "cancelled before it started"
            _cancel_queued_below(session, stage.id, f"parent {name!r} cancelled")
            return "cancelled"
        if stage.status == "running":
            stage.cancel_requested = True
            return "cancelling"
        return stage.status


def force_cancelled(storage: Storage, name: str, reason: str) -> None:
    """Mark a stage whose worker had to be killed as cancelled (and its queued descendants)."""
    with storage.transaction(), storage.session(write=True) as session:
        stage = session.scalar(select(Stage).where(Stage.name == name))
        if stage is not None and stage.status == "running":
            stage.status, stage.claim_token, stage.error, stage.finished_at = "cancelled", None, reason, now(session)
            _cancel_queued_below(session, stage.id, f"parent {name!r} cancelled")


def pending_work(storage: Storage) -> bool:
    """Whether any stage is queued or running (a worker should keep polling)."""
    with storage.session(write=False) as session:
        return bool(session.scalar(select(func.count()).where(Stage.status.in_(("queued", "running")))))
