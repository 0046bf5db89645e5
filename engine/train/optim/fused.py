"""Whether torch's fused optimizer kernels apply (one kernel for all parameters instead of several per tensor)."""

from __future__ import annotations

import torch


def fusable(params: list[torch.nn.Parameter]) -> bool | None:
    """True when the parameters are floating point on one CPU/CUDA device, else None (torch's default)."""
    devices = {p.device.type for p in params}
    fits = len(devices) == 1 and devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params)
    return True if fits else None
