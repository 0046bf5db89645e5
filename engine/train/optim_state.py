"""Optimizer state keyed by parameter name, so it survives freezing, widening and resuming."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from ..nets import pad_state
from .optim import GaussNewton

PER_PARAMETER = ("adam", "adamw", "sgd")  # L-BFGS keeps one global history that cannot be carried
# lm and engd keep a few numbers (their damping) under "global", whatever the parameters are


def named_trainable(modules: Mapping[str, torch.nn.Module]) -> dict[str, torch.nn.Parameter]:
    """``net.param`` -> parameter, for parameters that are trained."""
    return {
        f"{net}.{name}": param
        for net, module in modules.items()
        for name, param in module.named_parameters()
        if param.requires_grad
    }


def snapshot(optimizer: torch.optim.Optimizer, kind: str, params: Mapping[str, torch.nn.Parameter]) -> dict[str, Any]:
    """The optimizer's per-parameter state under parameter names."""
    if isinstance(optimizer, GaussNewton):
        return {"kind": kind, "state": {}, "global": optimizer.carry()}
    if kind not in PER_PARAMETER:
        return {"kind": kind, "state": {}}
    return {
        "kind": kind,
        "state": {name: dict(optimizer.state[p]) for name, p in params.items() if p in optimizer.state},
    }


def restore(optimizer: torch.optim.Optimizer, kind: str, params: Mapping[str, torch.nn.Parameter], saved: Mapping[str, Any]) -> int:
    """Load saved state for parameters of the same name when the optimizer kind is unchanged.

    Wider parameters get the old block and zeros elsewhere. Returns how many parameters
    received state (0 when the kind changed, e.g. adam -> lbfgs starts fresh).
    """
    if saved.get("kind") == kind and isinstance(optimizer, GaussNewton) and "global" in saved:
        optimizer.resume(saved["global"])
        return 1
    if saved.get("kind") != kind or kind not in PER_PARAMETER:
        return 0
    carried = 0
    for name, entry in saved["state"].items():
        param = params.get(name)
        if param is None:
            continue
        optimizer.state[param] = {
            key: pad_state(value, param).to(param.device) if isinstance(value, torch.Tensor) and value.dim() else value
            for key, value in entry.items()
        }
        carried += 1
    return carried
