"""The worker: reap stale stages, claim the next runnable one, train it under heartbeat, record how it ended."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
from pathlib import Path

from ..errors import MtcError
from ..store import Storage, open_storage
from ..kinds import describe_correction
from ..store.queue import Claim, ClaimLost, begin_run, claim_next, finish, pending_work, reap_stale, record_correction
from ..layout import CHECKPOINT_FILE, LOG_FILE, stage_folder
from ..problem.loader import problem_hash
from ..train import NonFiniteLoss, StageHooks, StagePlan, train_stage
from ..train.device import resolve_device
from ..results.record import record_finished
from .heartbeat import Heartbeat
from .registry import registered
from .rows import RowWriter
from .settings import WorkerSettings

def stage_logger(project: Path, stage: str) -> logging.Logger:
    """A logger writing to ``training/<stage>/train.log`` (appending across attempts)."""
    folder = stage_folder(project, stage)
    folder.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"mtc.stage.{stage}.{os.getpid()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    if not log.handlers:
        handler = logging.FileHandler(folder / LOG_FILE)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    return log


def bookkeeping(rows: RowWriter, beat: Heartbeat, seconds: float) -> str:
    """The stage-log line saying what writing loss rows and heartbeating cost this attempt (CPU time)."""
    spent = rows.seconds + beat.seconds
    return (
        f"bookkeeping: {rows.flushes} loss-row writes {rows.seconds:.3f} s, {beat.beats} heartbeats {beat.seconds:.3f} s "
        f"of CPU ({100 * spent / max(seconds, 1e-9):.2f}% of the attempt's {seconds:.1f} s)"
    )


def cluster_job() -> str | None:
    """The SLURM job this process runs in (``ARRAYJOB_TASK`` for an array task), None outside SLURM."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID")


class Worker:
    """Trains queued stages of one project until none is left (or it is interrupted)."""

    def __init__(self, project: str | Path, device: str | None = None, settings: WorkerSettings | None = None):
        self.project = Path(project).resolve()
        self.device = device
        self.settings = settings or WorkerSettings.from_env()
        self.interrupted = threading.Event()
        self.host, self.pid, self.job = socket.gethostname(), os.getpid(), cluster_job()

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM: checkpoint the running stage, put it back in the queue, exit."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.interrupted.set())

    def run(self) -> list[str]:
        """Work until nothing is queued or running; returns the stages this worker trained."""
        trained: list[str] = []
        storage = open_storage(self.project)
        try:
            with registered(self.project, self.pid):
                while not self.interrupted.is_set():
                    reap_stale(storage, self.settings.stale_after, self.settings.max_attempts)
                    device = str(resolve_device(self.device or "auto"))
                    claim = claim_next(storage, self.host, self.pid, device, self.job)
                    if claim is not None:
                        self.run_claim(storage, claim)
                        trained.append(claim.stage)
                    elif not pending_work(storage):
                        break
                    else:
                        self.interrupted.wait(self.settings.poll)
        finally:
            storage.dispose()
        return trained

    def run_claim(self, storage: Storage, claim: Claim) -> None:
        """Train one claimed stage and record its end: done, failed, cancelled, or queued again."""
        record = storage.get_stage(claim.stage)
        log = stage_logger(self.project, claim.stage)
        log.info("attempt %d by pid %d on %s%s", claim.attempt, self.pid, self.host, f" (job {self.job})" if self.job else "")
        beat = Heartbeat(storage, claim, self.settings.heartbeat, log)
        rows = RowWriter(storage, claim, self.settings.flush_every)
        offset = 0
        if record.parent is not None:
            parent = storage.get_stage(record.parent)
            offset = parent.step_offset + (parent.last_step + 1 if parent.last_step is not None else 0)
        resume = (stage_folder(self.project, claim.stage) / CHECKPOINT_FILE).is_file()

        def started(step: int) -> None:
            begin_run(storage, claim, step, offset, problem_hash(self.project))
            log.info("training from step %d%s", step, " (resumed from checkpoint)" if resume else "")

        def corrected(info: dict) -> None:
            record_correction(storage, claim, info)
            for line in describe_correction(info):
                log.info("correction of %s: %s", record.parent, line)

        stopped: list[str] = []  # why the stage ended early as done (stop on plateau, time budget)
        hooks = StageHooks(
            log=rows.add,
            stop_requested=lambda: beat.cancel.is_set() or beat.lost.is_set() or self.interrupted.is_set(),
            checkpointed=lambda step, path: log.info("checkpoint at step %d", step),
            started=started,
            flush=rows.flush,
            corrected=corrected,
            warn=lambda message: log.warning("%s", message),
            stopped=stopped.append,
            info=lambda message: log.info("%s", message),
        )
        plan = StagePlan(self.project, claim.stage, record.config, record.parent, resume, self.device, record.kind)
        beat.start()
        began = time.monotonic()
        status, error = "failed", None
        try:
            outcome = train_stage(plan, hooks)
            rows.flush()
            status = "done" if outcome == "done" else "cancelled" if beat.cancel.is_set() else "queued"
        except ClaimLost as exc:
            log.error("%s", exc)
            return
        except (NonFiniteLoss, MtcError) as exc:
            error = str(exc)
            self._flush_quietly(rows, log)
        except Exception as exc:  # the stage fails; the worker goes on with the next one
            error = f"internal error: {type(exc).__name__}: {exc} (see {stage_folder(self.project, claim.stage) / LOG_FILE})"
            log.error("%s", traceback.format_exc())
            self._flush_quietly(rows, log)
        finally:
            beat.stop()
            log.info("%s", bookkeeping(rows, beat, time.monotonic() - began))
        if beat.lost.is_set():
            return
        note = {"failed": error, "queued": "interrupted: requeued", "done": stopped[-1] if stopped else None}.get(status)
        finish(storage, claim, status, note)
        log.info("stage %s%s", status, f": {note}" if note else "")
        if status == "done":
            record_finished(self.project, storage, claim.stage, log.warning)

    @staticmethod
    def _flush_quietly(rows: RowWriter, log: logging.Logger) -> None:
        try:
            rows.flush()
        except ClaimLost as exc:
            log.error("%s", exc)


def run_worker(project: str | Path, device: str | None = None) -> list[str]:
    """Entry point of a worker process: handle signals, then work."""
    worker = Worker(project, device)
    worker.install_signal_handlers()
    return worker.run()
