"""Where things live in a project folder: ``training/<stage>/`` with its checkpoint and log."""

from __future__ import annotations

import os
from pathlib import Path

TRAINING_DIR = "training"
CHECKPOINT_FILE = "checkpoint.pt"
LOG_FILE = "train.log"


def stage_folder(project_dir: str | os.PathLike[str], name: str) -> Path:
    """``<project>/training/<name>``: where a stage's checkpoint and log live."""
    return Path(project_dir) / TRAINING_DIR / name
