"""Pick the torch device and dtype a stage asks for, with a clear message when it cannot be had."""

from __future__ import annotations

import torch

from ..errors import MtcError

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(requested: str) -> torch.device:
    """``auto`` -> CUDA when present else CPU; ``cuda``/``cuda:N`` only where that device exists."""
    requested = requested.strip().lower()
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise MtcError(
            f"training.device is {requested!r} but this machine has no CUDA device: "
            "set training.device=auto or cpu"
        )
    device = torch.device(requested)
    index = device.index or 0
    if index >= torch.cuda.device_count():
        raise MtcError(
            f"training.device is {requested!r} but only {torch.cuda.device_count()} CUDA device(s) exist "
            f"(cuda:0..cuda:{torch.cuda.device_count() - 1})"
        )
    return device


def resolve_dtype(precision: str) -> torch.dtype:
    """The torch dtype of ``training.precision``."""
    return DTYPES[precision]
