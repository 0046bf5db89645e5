"""What the CLI shows of running stages: the status table and a stage's log (the rows come from ``engine.stages.runs``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..store import Storage
from ..layout import LOG_FILE, stage_folder

COLUMNS = ("name", "parent", "status", "step", "max_steps", "loss", "attempt", "worker", "device", "error")


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
