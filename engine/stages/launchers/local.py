"""The ``local`` launcher: worker processes on this machine, in this terminal or detached so they outlive it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine.store import StageRecord
from engine.worker.registry import live_workers, pid_alive, register

from .base import Job, worker_command


@dataclass(frozen=True)
class LocalLauncher:
    """Workers on this host: ``detach`` puts each in a session of its own (a closed terminal or
    restarted kernel does not stop it); otherwise they share this terminal (Ctrl-C reaches them,
    they checkpoint and requeue)."""

    device: str | None = None
    detach: bool = False
    name: str = "local"

    def check(self, project: Path, url: str) -> None:
        if self.device:
            from engine.train.device import resolve_device  # imports torch: only when a device is named

            resolve_device(self.device)

    def start(self, project: Path, count: int) -> list[Job]:
        if self.detach:
            return [Job(str(start_detached(project, self.device))) for _ in range(count)]
        command = worker_command(project, self.device)
        processes = [subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL) for _ in range(count)]
        return [Job(str(process.pid), process) for process in processes]

    def stop(self, record: StageRecord, sig: int) -> bool:
        if record.worker_host != socket.gethostname() or not record.worker_pid or not pid_alive(record.worker_pid):
            return False
        os.kill(record.worker_pid, sig)
        return True


def start_detached(project: Path, device: str | None = None) -> int:
    """One worker in its own session; returns its pid.

    The pid is registered at once, so a second ``ensure_worker`` right after sees it alive.
    """
    logs = Path(project) / ".mtc" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"worker-{time.strftime('%Y%m%d-%H%M%S')}.log"
    launcher = [sys.executable, "-m", "engine.worker.detach", str(log), *worker_command(project, device)]
    pid = int(subprocess.run(launcher, capture_output=True, text=True, check=True).stdout.strip())
    register(Path(project), pid)
    return pid


def ensure_worker(project: Path, device: str | None = None) -> int | None:
    """Start a detached worker unless one of this project is alive; returns the new pid, if any."""
    if live_workers(project):
        return None
    return start_detached(project, device)
