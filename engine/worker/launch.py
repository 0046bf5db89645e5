"""Start worker processes: in this terminal's process group, or detached so they outlive it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .registry import live_workers, register


def worker_command(project: Path, device: str | None = None) -> list[str]:
    """The command line of one worker process for ``project``."""
    command = [sys.executable, "-m", "engine.cli", "-C", str(project), "worker"]
    return command + (["--device", device] if device else [])


def start_foreground(project: Path, count: int, device: str | None = None) -> list[subprocess.Popen]:
    """Workers that share this terminal: Ctrl-C reaches them, they checkpoint and requeue."""
    return [
        subprocess.Popen(worker_command(project, device), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


def start_detached(project: Path, device: str | None = None) -> int:
    """One worker in its own session (a closed terminal or restarted kernel does not stop it); returns its pid.

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
