"""The networks of a stage: built from its config, started from a checkpoint, bound to the problem."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from ..compile import NetworkBinding
from ..nets import build_network, load_into
from ..problem import Problem


def build_networks(problem: Problem, nets: Mapping[str, Any], seed: int, dtype: torch.dtype, device: torch.device) -> dict[str, torch.nn.Module]:
    """One module per network of the problem, deterministic for ``seed``."""
    return {
        name: build_network(nets[name], len(net.inputs), len(net.outputs), seed=seed + i, dtype=dtype).to(device)
        for i, (name, net) in enumerate(problem.networks.items())
    }


def start_from(modules: Mapping[str, torch.nn.Module], nets: Mapping[str, Any], saved: Mapping[str, Any]) -> list[str]:
    """Load a checkpoint's weights into ``modules`` (widening where the config is wider).

    Returns the networks the checkpoint did not have (they keep their fresh weights).
    """
    fresh = []
    for name, module in modules.items():
        if name not in saved["networks"]:
            fresh.append(name)
            continue
        load_into(module, saved["networks"][name], saved["net_configs"][name], nets[name], name=name)
    return fresh


def bind(problem: Problem, modules: Mapping[str, torch.nn.Module]) -> dict[str, NetworkBinding]:
    """The compile layer's view of the networks: inputs, outputs and module."""
    return {name: NetworkBinding(net.inputs, net.outputs, modules[name]) for name, net in problem.networks.items()}
