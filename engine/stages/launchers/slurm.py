"""The ``slurm`` launcher: ``mtc worker`` as a submitit job array on a SLURM cluster.

Every array task runs one worker against the project's database server (PostgreSQL; a
SQLite file is refused: it is not for many hosts) and sees its GPUs through SLURM's
``CUDA_VISIBLE_DEVICES``. The project folder holds checkpoints, logs and submitit's job
files (``.mtc/slurm/``), so it must be on a file system every node shares. A preempted or
timed-out job (SIGUSR2 from submitit) checkpoints its stage, puts it back in the queue and
is requeued; ``scancel`` (SIGTERM) checkpoints and requeues the stage, and another worker
resumes it from its checkpoint.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import MtcError
from engine.store import DB_URL_ENV, StageRecord
from engine.store.connect import sqlite_file
from engine.store.dialects import masked

from .base import Job

_TIME = re.compile(r"(\d+):([0-5]\d):([0-5]\d)")


def time_minutes(text: str) -> int:
    """``HH:MM:SS`` as whole minutes (rounded up, at least 1); ``MtcError`` for anything else."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise MtcError(f"--time {text!r} is not HH:MM:SS (for example 04:00:00 for four hours)")
    hours, minutes, seconds = map(int, match.groups())
    return max(1, hours * 60 + minutes + (seconds > 0))


def slurm_options(pairs: list[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` from ``--slurm-option`` as sbatch parameters (``KEY`` as in ``#SBATCH --KEY``)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[a-z][a-z0-9-]*", key):
            raise MtcError(f"--slurm-option {pair!r} is not KEY=VALUE with KEY an sbatch option such as account or qos")
        options[key.replace("-", "_")] = value
    return options


@dataclass(frozen=True)
class SlurmLauncher:
    """Workers as one SLURM job array (``sbatch`` through submitit), each task one ``mtc worker``."""

    partition: str | None = None
    gpus_per_worker: int = 0
    time: str = "04:00:00"
    options: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    name: str = "slurm"

    def check(self, project: Path, url: str) -> None:
        path = sqlite_file(url)
        if path is not None:
            raise MtcError(
                f"--launcher slurm needs a database server every node can reach, but this project uses the SQLite "
                f"file {path} (a file database is not for many hosts): export {DB_URL_ENV}=postgresql://USER:PASSWORD@"
                "HOST:PORT/DATABASE (see docs/scale-out.md)"
            )
        if shutil.which("sbatch") is None:
            raise MtcError("--launcher slurm needs SLURM's `sbatch` on PATH, which is not found: run on a login node "
                           "of the cluster (or train here with --launcher local)")  # fmt: skip
        try:
            import submitit  # noqa: F401
        except ImportError:
            raise MtcError("--launcher slurm needs the Python package submitit: `pip install submitit`") from None
        if self.gpus_per_worker < 0:
            raise MtcError(f"--gpus-per-worker must be 0 or more, got {self.gpus_per_worker}")
        time_minutes(self.time)
        folder = job_folder(project)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".writable-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise MtcError(
                f"the project folder {project} is not writable ({exc.strerror}): SLURM workers write checkpoints and "
                "logs there, so it must be a writable folder on a file system every node shares"
            ) from None

    def start(self, project: Path, count: int) -> list[Job]:
        import submitit

        executor = submitit.SlurmExecutor(folder=job_folder(project) / "%j", max_num_timeout=10)
        parameters: dict[str, Any] = {
            "job_name": f"mtc-{project.name}", "time": time_minutes(self.time), "ntasks_per_node": 1,
            "array_parallelism": count, "signal_delay_s": 60, "additional_parameters": dict(self.options),
        }  # fmt: skip
        if self.partition:
            parameters["partition"] = self.partition
        if self.gpus_per_worker:
            parameters["gpus_per_node"] = self.gpus_per_worker
        executor.update_parameters(**parameters)
        url = os.environ.get(DB_URL_ENV, "")
        jobs = executor.map_array(WorkerJob(str(project), url, self.device), range(count))
        return [Job(job.job_id) for job in jobs]

    def stop(self, record: StageRecord, sig: int) -> bool:
        if not record.worker_job or shutil.which("scancel") is None:
            return False
        name = signal.Signals(sig).name.removeprefix("SIG")
        done = subprocess.run(["scancel", f"--signal={name}", record.worker_job], capture_output=True, text=True)
        return done.returncode == 0


def job_folder(project: Path) -> Path:
    """Where submitit keeps job scripts, pickles and the workers' stdout/stderr."""
    return Path(project) / ".mtc" / "slurm"


class WorkerJob:
    """The callable each array task runs: one worker on the project, checkpointable by submitit.

    The worker runs in a thread so the job's main thread stays free for signals: SIGTERM
    (``scancel``) and submitit's checkpoint (preemption, timeout) interrupt it, it checkpoints
    its stage and queues it again, and only then does the job end (or get requeued).
    """

    def __init__(self, project: str, url: str, device: str | None):
        self.project, self.url, self.device = project, url, device
        self._worker: Any = None
        self._thread: threading.Thread | None = None

    def __call__(self, index: int) -> list[str]:
        from engine.worker.runner import Worker  # imports torch: only on the node

        if self.url:
            os.environ[DB_URL_ENV] = self.url
        self._worker = Worker(self.project, self.device)
        trained: list[str] = []
        self._thread = threading.Thread(target=lambda: trained.extend(self._worker.run()), name="mtc-worker")
        signal.signal(signal.SIGTERM, lambda *_: self._worker.interrupted.set())
        self._thread.start()
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
        return trained

    def checkpoint(self, index: int) -> Any:
        """Preempted or timed out: stop the worker (stage checkpointed, queued again), then requeue this job."""
        import submitit

        self._stop()
        return submitit.helpers.DelayedSubmission(WorkerJob(self.project, self.url, self.device), index)

    def _stop(self) -> None:
        if self._worker is not None and self._thread is not None:
            self._worker.interrupted.set()
            self._thread.join()

    def __getstate__(self) -> dict[str, Any]:
        return {"project": self.project, "url": self.url, "device": self.device, "_worker": None, "_thread": None}

    def __repr__(self) -> str:
        return f"WorkerJob({self.project!r}, {masked(self.url) if self.url else 'sqlite'})"
