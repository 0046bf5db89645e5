"""What the Plots panel showed last in a project (ticked stages, x, loss keys, log y, smoothing), kept in
``.mtc/plot.json`` so that a reload starts where the user left off."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MEMORY_FILE = Path(".mtc") / "plot.json"


def load_memory(project: Path) -> dict[str, Any]:
    """The remembered state, or ``{}`` (none yet, or a file that does not read)."""
    try:
        state = json.loads((project / MEMORY_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_memory(project: Path, state: dict[str, Any]) -> None:
    """Remember ``state`` (through a temporary file; a read-only project just forgets)."""
    path = project / MEMORY_FILE
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(state))
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
