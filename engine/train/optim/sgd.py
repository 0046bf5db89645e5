"""SGD with momentum, with torch's fused kernel."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from .fused import fusable


def build(config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``optimizer.name=sgd``."""
    return torch.optim.SGD(
        params, lr=config["lr"], momentum=config["momentum"], weight_decay=config["weight_decay"],
        fused=fusable(params),
    )  # fmt: skip
