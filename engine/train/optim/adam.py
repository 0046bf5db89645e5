"""Adam and AdamW with torch's fused kernels (several times faster per step on the CPU for PINN-sized networks)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from .fused import fusable


def build_adam(config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``optimizer.name=adam``."""
    return _build(torch.optim.Adam, config, params)


def build_adamw(config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``optimizer.name=adamw`` (decoupled weight decay)."""
    return _build(torch.optim.AdamW, config, params)


def _build(kind: type[torch.optim.Optimizer], config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    return kind(
        params, lr=config["lr"], betas=tuple(config["betas"]), eps=config["eps"],
        weight_decay=config["weight_decay"], fused=fusable(params),
    )  # fmt: skip
