"""Hidden-layer activations by config name; all but relu are smooth (twice differentiable)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Sine(nn.Module):
    """``sin(omega * x)``: the ``sin`` activation (omega 1) and SIREN's (omega ``omega0``)."""

    def __init__(self, omega: float = 1.0):
        super().__init__()
        self.omega = float(omega)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)

    def extra_repr(self) -> str:
        return f"omega={self.omega}"


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "sin": Sine,
    "relu": nn.ReLU,  # allowed by the config, but its second derivative is zero almost everywhere
}


def activation(name: str) -> nn.Module:
    """A fresh activation module for the config name ``name`` (tanh, silu, gelu, sin, relu)."""
    return ACTIVATIONS[name]()
