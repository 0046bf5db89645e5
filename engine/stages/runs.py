"""Running stages: the one API the CLI and the configurator call to queue, launch, watch and cancel.

Public API::

    submit(book, names, sampled) -> Submission  # reap, check (samples too), queue with unfinished ancestors
    train(book, names, launcher, count, sampled) -> Run  # check the launcher, submit, start workers
    ensure_worker(project) -> pid | None       # a detached local worker unless one is alive
    cancel(storage, name, timeout) -> str      # flag; then SIGTERM, SIGKILL through the launcher
    status(storage) -> list[dict]              # reap, then one row per stage
    reap(storage) -> list[str]                 # requeue stages whose worker died or went silent

Every entry point reaps first, so a stage whose worker was killed is queued again at once
(its host sees the pid gone) instead of showing "running" until its heartbeat goes stale.
"""

from __future__ import annotations

import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from engine.config import total_steps
from engine.stages.errors import StageError
from engine.stages.launchers import Job, Launcher, LocalLauncher, SlurmLauncher, ensure_worker
from engine.stages.operations import StageBook
from engine.stages.readiness import check_lineage
from engine.stages.sampled import prepare_sampled
from engine.stages.unknown_values import latest_unknowns
from engine.store import StageRecord, Storage, database_url
from engine.store.queue import RUNNABLE_AGAIN, enqueue, force_cancelled, reap_dead, reap_stale, request_cancel
from engine.worker.registry import pid_alive
from engine.worker.settings import WorkerSettings

__all__ = ["Run", "Submission", "cancel", "ensure_worker", "reap", "status", "submit", "train"]


@dataclass
class Submission:
    """What ``submit`` did: stages queued now, stages of the lineages that were queued before (an
    interrupted run's, which resume from their checkpoints), and requested stages already done."""

    queued: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[str]:
        """Every stage this submission waits for: the ones queued before, then the ones queued now."""
        return self.waiting + self.queued


def reap(storage: Storage) -> list[str]:
    """Queue again (or fail, past the retry limit) running stages whose worker exited or stopped heartbeating."""
    settings = WorkerSettings.from_env()
    dead = reap_dead(storage, socket.gethostname(), pid_alive, settings.max_attempts)
    return dead + reap_stale(storage, settings.stale_after, settings.max_attempts)


def submit(book: StageBook, names: list[str], sampled: bool = False) -> Submission:
    """Queue ``names`` and every ancestor that has not finished; refuse running or impossible ones.

    Each stage to be queued is checked first (``readiness.check_lineage``, and the stored samples
    of those that train from them, ``sampled.prepare_sampled``): a stage refused here never reaches
    a worker. Nothing is queued unless every requested stage passes. ``sampled`` (``mtc train
    --sampled``) makes every stage queued now train from the stored samples.
    """
    storage = book.storage
    reap(storage)
    outline, _ = book.problem()  # a problem.py that does not load: nothing is queued
    result = Submission()
    order: list[str] = []
    for name in names:
        lineage = storage.lineage(name)
        target = lineage[-1]
        if target.status == "running":
            raise StageError(f"stage {name!r} is already running: watch it with `mtc status`, stop it with `mtc cancel {name}`")
        if target.status == "done":
            result.already_done.append(name)
            continue
        check_lineage(name, lineage, outline)
        order += [r.name for r in lineage if r.status in RUNNABLE_AGAIN and r.name not in order]
        result.waiting += [r.name for r in lineage if r.status == "queued" and r.name not in result.waiting]
    prepare_sampled(book, order, sampled)
    result.queued = enqueue(storage, order)
    return result


@dataclass(frozen=True)
class Run:
    """What ``train`` did: the submission, and the workers it started (none when nothing was left to train)."""

    submission: Submission
    jobs: list[Job]


def train(book: StageBook, names: list[str], launcher: Launcher, count: int = 1, sampled: bool = False) -> Run:
    """Queue ``names`` (see ``submit``, also for ``sampled``) and start ``count`` workers through ``launcher``.

    The launcher is checked first (no sbatch, a SQLite database for SLURM, a bad device...),
    so a refused launch queues nothing.
    """
    if count < 1:
        raise StageError(f"--workers must be at least 1, got {count}")
    project = book.project_dir.resolve()
    launcher.check(project, database_url(project))
    submission = submit(book, names, sampled)
    return Run(submission, launcher.start(project, count) if submission.pending else [])


def _launcher_of(record: StageRecord) -> Launcher:
    return SlurmLauncher() if record.worker_job else LocalLauncher()


def _wait_until_stopped(storage: Storage, name: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if storage.get_stage(name).status != "running":
            return True
        time.sleep(0.2)
    return False


def cancel(storage: Storage, name: str, timeout: float = 20.0) -> str:
    """Cancel a stage and return how it ended.

    A queued stage is cancelled at once (with its queued descendants). A running one gets the
    flag (its worker checkpoints and stops at the next heartbeat); if it has not stopped after
    ``timeout`` seconds its worker gets SIGTERM, then SIGKILL, through the launcher that
    started it (a local pid, ``scancel`` for a SLURM job), and the stage is marked cancelled.
    """
    state = request_cancel(storage, name)
    if state != "cancelling":
        return state
    if _wait_until_stopped(storage, name, timeout):
        return storage.get_stage(name).status
    record = storage.get_stage(name)
    launcher = _launcher_of(record)
    reached = False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        reached = launcher.stop(record, sig) or reached
        if reached and _wait_until_stopped(storage, name, 5.0):
            return storage.get_stage(name).status
    if not reached:
        return f"still running ({_worker(record)}): its worker did not answer within {timeout:g}s and cannot be reached from here"
    force_cancelled(storage, name, f"cancelled: its worker ({_worker(record)}) was killed after not answering")
    return "cancelled (worker killed)"


def _worker(record: StageRecord) -> str | None:
    if record.status != "running" or record.worker_host is None:
        return None
    where = f"job {record.worker_job}" if record.worker_job else f"pid {record.worker_pid}"
    return f"{where} on {record.worker_host}"


def status(storage: Storage) -> list[dict[str, Any]]:
    """Reap, then one row per stage: name, parent, status, step, max_steps (all of its steps), last loss,
    attempt, worker (pid or SLURM job, and host, while it runs), device, error, kind, and for a correction
    stage what it computed."""
    reap(storage)
    losses = storage.latest_losses()
    stages = storage.list_stages()
    learned = latest_unknowns(storage, stages)
    return [
        {
            "name": r.name, "parent": r.parent, "status": r.status,
            "step": None if r.last_step is None else r.last_step + 1,
            "max_steps": total_steps(r.config["training"]),
            "loss": losses[r.name][1] if r.name in losses else None,
            "attempt": r.attempt, "worker": _worker(r),
            "worker_host": r.worker_host, "worker_pid": r.worker_pid if r.status == "running" else None,
            "worker_job": r.worker_job, "device": r.device, "error": r.error, "kind": r.kind,
            "correction": r.correction, "unknowns": learned.get(r.name, {}),
        }
        for r in stages
    ]  # fmt: skip
