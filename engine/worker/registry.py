"""Which worker processes of a project are alive: one pid file each under ``.mtc/workers/``."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _folder(project: Path) -> Path:
    return Path(project) / ".mtc" / "workers"


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def register(project: Path, pid: int) -> Path:
    """Record ``pid`` as a worker of ``project``."""
    folder = _folder(project)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / str(pid)
    path.write_text(str(pid))
    return path


@contextmanager
def registered(project: Path, pid: int) -> Iterator[None]:
    """Keep a pid file for this worker while the block runs."""
    path = register(project, pid)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def live_workers(project: Path) -> list[int]:
    """Pids of this project's workers that are still running (stale pid files are removed)."""
    folder = _folder(project)
    alive = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.name.isdigit() and pid_alive(int(path.name)):
            alive.append(int(path.name))
        else:
            path.unlink(missing_ok=True)
    return alive
