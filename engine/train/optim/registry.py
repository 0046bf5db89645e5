"""Optimizer names (``optimizer.name``) -> builders, and what a step reports to the loss log.

The names are the schema's optimizer variants (:data:`engine.config.schema.OPTIMIZER_SETTINGS`,
one pydantic model per name); importing this module checks that both list the same names.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import torch

from ...config.schema import OPTIMIZER_SETTINGS
from . import adam, engd, lbfgs, lm, sgd
from .gauss_newton import GaussNewton

Builder = Callable[[Mapping[str, Any], list[torch.nn.Parameter]], torch.optim.Optimizer]

OPTIMIZERS: dict[str, Builder] = {
    "adam": adam.build_adam,
    "adamw": adam.build_adamw,
    "sgd": sgd.build,
    "lbfgs": lbfgs.build,
    "lm": lm.build,
    "engd": engd.build,
}

if set(OPTIMIZERS) != set(OPTIMIZER_SETTINGS):  # a new optimizer needs both a builder and its settings
    raise ImportError(f"optimizer registry {sorted(OPTIMIZERS)} differs from the schema's {sorted(OPTIMIZER_SETTINGS)}")


def build_optimizer(config: Mapping[str, Any], params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer ``config["name"]`` names, over ``params`` (the trainable parameters only)."""
    builder = OPTIMIZERS.get(config["name"])
    if builder is None:
        raise ValueError(f"unknown optimizer {config['name']!r}")
    return builder(config, list(params))


def step_report(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """Loss-log keys besides the loss terms: ``lr``, and ``damping`` for the Gauss-Newton methods."""
    if isinstance(optimizer, GaussNewton):
        return optimizer.report()
    return {"lr": float(optimizer.param_groups[0]["lr"])}
