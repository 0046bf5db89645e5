"""Correction stages (Wang & Lai 2024): ``u = u_parent + eps * u_corr`` with the parent frozen.

A :class:`CorrectedNetwork` wraps a network of the parent stage (itself possibly a
``CorrectedNetwork``, so chains nest) and adds one correction network per output,
each scaled by its own ``eps``. It maps ``(N, n_inputs) -> (N, n_outputs)`` like any
network, so the compile layer and the loss terms need no change.

A *composition spec* describes how to rebuild such a module from a checkpoint::

    {"kind": "net", "config": <nets.<NET> config>}
    {"kind": "corrected", "base": <spec>, "corrections": [<config per output>],
     "eps": [<float per output>], "f_d": [<float per output>], "stage": <name>}

:func:`build_composed` builds the module skeleton a spec describes; loading the
checkpoint's ``state_dict`` into it gives the trained model (Fourier feature
matrices are buffers, so they come back exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from engine.nets.registry import build_network, net_settings

CORRECTION_FEATURES = 32
"""Fourier features of a correction network whose stage config has no ``frequencies`` setting."""


class CorrectedNetwork(nn.Module):
    """``base(x) + eps * [c_1(x), ..., c_m(x)]``: ``base`` frozen, one single-output correction per output."""

    eps: torch.Tensor

    def __init__(self, base: nn.Module, corrections: Sequence[nn.Module], eps: Sequence[float] | torch.Tensor):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.corrections = nn.ModuleList(corrections)
        reference = next(iter(base.parameters()), None)
        dtype = reference.dtype if reference is not None else torch.get_default_dtype()
        self.register_buffer("eps", torch.as_tensor(eps, dtype=dtype).reshape(-1).clone())
        if self.eps.numel() != len(self.corrections):
            raise ValueError(f"{len(self.corrections)} corrections need as many eps values, got {self.eps.numel()}")
        self.n_inputs = getattr(base, "n_inputs", None)
        self.n_outputs = len(self.corrections)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        correction = torch.cat([net(x) for net in self.corrections], dim=-1)
        return self.base(x) + self.eps * correction

    def requires_grad_(self, requires_grad: bool = True) -> CorrectedNetwork:
        """Train (or freeze) the corrections; the base stays frozen whatever is asked."""
        self.corrections.requires_grad_(requires_grad)
        self.base.requires_grad_(False)
        return self

    def extra_repr(self) -> str:
        return "eps=[" + ", ".join(f"{value:.3e}" for value in self.eps.tolist()) + "]"


def correction_config(net_config: Mapping[str, Any], f_d: float) -> dict[str, Any]:
    """The config of one correction network: a Fourier feature net shaped by ``net_config``.

    Its trunk (``layer_size``, ``nr_layers``, ``activation``, ``skip_connections``) and
    ``frequencies`` (default :data:`CORRECTION_FEATURES`) come from the stage's
    ``nets.<NET>`` settings. Its Fourier features are ``sin/cos(2 pi x B^T)`` with
    ``B ~ N(0, f_d^2)`` in cycles per unit, i.e. angular frequencies with standard
    deviation ``sigma = 2 pi f_d``: the factor 2 pi is applied once, inside the features.
    """
    settings = net_settings(net_config)
    return {
        "arch": "fourier",
        "trainable": settings.trainable,
        "layer_size": settings.layer_size,
        "nr_layers": settings.nr_layers,
        "activation": settings.activation,
        "skip_connections": settings.skip_connections,
        "frequencies": getattr(settings, "frequencies", CORRECTION_FEATURES),
        "sigma": float(f_d),
    }


def plain_spec(config: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of an ordinary network built from ``config``."""
    return {"kind": "net", "config": dict(config)}


def build_composed(
    spec: Mapping[str, Any], n_inputs: int, n_outputs: int, *, dtype: torch.dtype = torch.float64, seed: int = 0
) -> nn.Module:
    """The module ``spec`` describes (fresh weights: load a state dict into it)."""
    if spec["kind"] == "net":
        return build_network(spec["config"], n_inputs, n_outputs, seed=seed, dtype=dtype)
    if spec["kind"] != "corrected":
        raise ValueError(f"unknown composition kind {spec['kind']!r}")
    base = build_composed(spec["base"], n_inputs, n_outputs, dtype=dtype, seed=seed)
    corrections = [build_network(c, n_inputs, 1, seed=seed, dtype=dtype) for c in spec["corrections"]]
    return CorrectedNetwork(base, corrections, spec["eps"])


def depth(spec: Mapping[str, Any]) -> int:
    """How many correction stages a spec stacks on its first network."""
    return 0 if spec["kind"] == "net" else 1 + depth(spec["base"])


def sub_state(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``state`` under ``prefix.`` with the prefix removed."""
    start = prefix + "."
    return {key[len(start) :]: value for key, value in state.items() if key.startswith(start)}
