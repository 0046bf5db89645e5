"""L-BFGS (strong Wolfe line search by default)."""

from __future__ import annotations

from typing import Any, Mapping

import torch


def build(config: Mapping[str, Any], params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``optimizer.name=lbfgs``.

    torch's default tolerances (1e-7 on the gradient) stop L-BFGS long before PINN losses near
    machine precision; it still stops when a line search makes no progress.
    """
    line_search = None if config["line_search"] == "none" else config["line_search"]
    return torch.optim.LBFGS(
        params, lr=config["lr"], max_iter=config["max_iter"], history_size=config["history_size"],
        line_search_fn=line_search, tolerance_grad=0.0, tolerance_change=0.0,
    )  # fmt: skip
