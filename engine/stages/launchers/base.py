"""The launcher interface: how worker processes of a project are started and reached (submitit's Executor shape)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.store import StageRecord


@dataclass(frozen=True)
class Job:
    """One started worker: its id (a pid, a SLURM job id) and, for a worker sharing this terminal, its process."""

    id: str
    process: subprocess.Popen | None = None


class Launcher(Protocol):
    """Starts ``mtc worker`` processes for a project; the queue itself stays in the database."""

    name: str

    def check(self, project: Path, url: str) -> None:
        """Refuse (``MtcError``, one line) before anything is queued if this launcher cannot run here."""

    def start(self, project: Path, count: int) -> list[Job]:
        """Start ``count`` workers and return them."""

    def stop(self, record: StageRecord, sig: int) -> bool:
        """Send ``sig`` (SIGTERM, then SIGKILL) to the worker running ``record``; False if it cannot be reached."""


def worker_command(project: Path, device: str | None = None) -> list[str]:
    """The command line of one worker process for ``project``."""
    command = [sys.executable, "-m", "engine.cli", "-C", str(project), "worker"]
    return command + (["--device", device] if device else [])
