"""KAN sparsification (``nets.<NET>.l1``, ``nets.<NET>.entropy``): a penalty the loop adds to the loss.

Built once per stage by :func:`build_sparsity`; each step the loop calls it with the step's
batches. Every KAN with a nonzero weight is evaluated on the batches that hold all its inputs,
and its penalty (:func:`engine.nets.kan.sparsity`) is returned under ``sparsity/<NET>``: the
loop logs it as its own row and adds it to what the optimizer minimises, while ``total``
stays the sum of the constraints' losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..nets.kan import KanNet, sparsity
from ..problem import Problem

ROW_PREFIX = "sparsity/"


def network_inputs(batches: Sequence[Mapping[str, torch.Tensor]], inputs: Sequence[str]) -> torch.Tensor | None:
    """``(N, len(inputs))``: the points of every batch that has all ``inputs`` (detached), or None."""
    parts = [torch.stack([batch[v].detach() for v in inputs], dim=1) for batch in batches if all(v in batch for v in inputs)]
    return torch.cat(parts) if parts else None


@dataclass(frozen=True)
class Penalised:
    """One network under a sparsity penalty."""

    name: str
    module: KanNet
    inputs: tuple[str, ...]
    l1: float
    entropy: float


class SparsityPenalty:
    """``batches -> {"sparsity/<NET>": penalty}`` for every penalised KAN (empty when none is)."""

    def __init__(self, penalised: Sequence[Penalised]):
        self.penalised = list(penalised)

    def __call__(self, batches: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        values = {}
        for entry in self.penalised:
            x = network_inputs(batches, entry.inputs)
            if x is not None:
                values[ROW_PREFIX + entry.name] = sparsity(entry.module.edge_scales(x), entry.l1, entry.entropy)
        return values


def build_sparsity(problem: Problem, modules: Mapping[str, torch.nn.Module], nets: Mapping[str, Any]) -> SparsityPenalty:
    """The penalty of a stage: its trainable KANs whose ``l1`` or ``entropy`` is nonzero."""
    return SparsityPenalty([
        Penalised(name, module, tuple(problem.networks[name].inputs), nets[name]["l1"], nets[name]["entropy"])
        for name, module in modules.items()
        if isinstance(module, KanNet) and nets[name]["trainable"] and (nets[name].get("l1") or nets[name].get("entropy"))
    ])  # fmt: skip
