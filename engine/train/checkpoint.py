"""Checkpoints: networks, optimizer, scheduler, RNG states and step, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import MtcError
from ..layout import CHECKPOINT_FILE



def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``folder/checkpoint.pt`` through a temporary file, so a crash never leaves half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_FILE
    partial = folder / f".{CHECKPOINT_FILE}.{os.getpid()}.tmp"
    torch.save(state, partial)
    os.replace(partial, path)
    return path


def load_checkpoint(folder: Path, stage: str) -> dict[str, Any]:
    """Read a stage's checkpoint; a missing or unreadable one is a clear error, never a crash loop."""
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        raise MtcError(f"stage {stage!r} has no checkpoint at {path}: train it first (`mtc train --stage {stage}`)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # any unpickling failure means the file is damaged
        raise MtcError(
            f"checkpoint {path} of stage {stage!r} is damaged ({type(exc).__name__}): "
            f"`mtc clean --stage {stage}` and train it again"
        ) from None


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """Everything needed to continue the random streams exactly."""
    return {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}


def restore_rng(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
