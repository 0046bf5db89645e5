"""What the CLI shows and does about running stages: status rows, cancel with escalation, log following."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from ..config import total_steps
from ..stages.unknown_values import latest_unknowns
from ..store import Storage
from ..store.queue import force_cancelled, request_cancel
from ..layout import LOG_FILE, stage_folder
from ..worker.registry import pid_alive

COLUMNS = ("name", "parent", "status", "step", "max_steps", "loss", "attempt", "worker_pid", "device", "error")


def stage_status(storage: Storage) -> list[dict[str, Any]]:
    """One row per stage: name, parent, status, step, max_steps (all of its steps), last loss, attempt,
    worker pid, device, error; with ``--json`` also its kind and, for a correction stage, what it computed."""
    losses = storage.latest_losses()
    stages = storage.list_stages()
    learned = latest_unknowns(storage, stages)
    return [
        {
            "name": r.name, "parent": r.parent, "status": r.status,
            "step": None if r.last_step is None else r.last_step + 1,
            "max_steps": total_steps(r.config["training"]),
            "loss": losses[r.name][1] if r.name in losses else None,
            "attempt": r.attempt, "worker_pid": r.worker_pid if r.status == "running" else None,
            "device": r.device, "error": r.error, "kind": r.kind, "correction": r.correction,
            "unknowns": learned.get(r.name, {}),
        }
        for r in stages
    ]  # fmt: skip


def status_table(rows: list[dict[str, Any]]) -> str:
    """The status rows as an aligned text table."""

    def cell(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key == "unknowns":
            return ", ".join(f"{name}={v:.6g}" for name, v in value.items()) or "-"
        return f"{value:.3e}" if key == "loss" else str(value)

    columns = (*COLUMNS, "unknowns") if any(row.get("unknowns") for row in rows) else COLUMNS
    cells = [[cell(k, row[k]) for k in columns] for row in rows]
    widths = [max([len(k)] + [len(c[i]) for c in cells]) for i, k in enumerate(columns)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(columns, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def _wait_until_stopped(storage: Storage, name: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if storage.get_stage(name).status != "running":
            return True
        time.sleep(0.2)
    return False


def cancel_stage(storage: Storage, name: str, timeout: float) -> str:
    """Cancel a stage; a running one gets the flag, then SIGTERM and SIGKILL of its worker if it hangs."""
    state = request_cancel(storage, name)
    if state != "cancelling":
        return state
    if _wait_until_stopped(storage, name, timeout):
        return storage.get_stage(name).status
    record = storage.get_stage(name)
    if record.worker_host != socket.gethostname() or not record.worker_pid:
        return f"still running on {record.worker_host}: its worker did not answer within {timeout:g}s"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pid_alive(record.worker_pid):
            os.kill(record.worker_pid, sig)
            if _wait_until_stopped(storage, name, 5.0):
                return storage.get_stage(name).status
    force_cancelled(storage, name, f"cancelled: worker pid {record.worker_pid} was killed after not answering")
    return "cancelled (worker killed)"


def follow_log(storage: Storage, project: Path, name: str, follow: bool) -> None:
    """Print ``training/<stage>/train.log``; with ``follow`` keep printing until the stage stops running."""
    path = stage_folder(project, name) / LOG_FILE
    position = 0
    while True:
        if path.is_file():
            with path.open() as log:
                log.seek(position)
                chunk = log.read()
                position = log.tell()
            print(chunk, end="", flush=True)
        elif not follow:
            print(f"stage {name!r} has no log yet: train it with `mtc train --stage {name}`")
        if not follow or storage.get_stage(name).status not in ("queued", "running"):
            return
        time.sleep(0.5)
