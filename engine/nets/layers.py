"""Building blocks shared by every architecture: seeded initialisation, dense layers, the hidden trunk.

Every architecture is ``encoder -> trunk -> linear head`` (:class:`Net`).  Hidden
units are laid out so that :mod:`engine.nets.widen` can grow a network generically:
each weight is ``(out, in)``, hidden widths appear only as whole dimensions, and
hidden vectors are combined only elementwise (skips, gates), never concatenated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from engine.nets.init import Scheme

class Dense(nn.Module):
    """``x @ weight.T + bias`` with weight ``(out, in)``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}"


class Init:
    """Draws every initial tensor of one network from a local generator (never the global RNG);
    dense layers by ``scheme`` (:mod:`engine.nets.init`)."""

    def __init__(self, seed: int | None, dtype: torch.dtype, scheme: Scheme):
        self.scheme = scheme
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        self.dtype = dtype

    def uniform(self, shape: Sequence[int], bound: float) -> torch.Tensor:
        """U(-bound, bound)."""
        return torch.empty(*shape, dtype=self.dtype).uniform_(-bound, bound, generator=self.generator)

    def normal(self, shape: Sequence[int], std: float) -> torch.Tensor:
        """N(0, std^2)."""
        return torch.randn(*shape, dtype=self.dtype, generator=self.generator) * std

    def dense(self, fan_in: int, fan_out: int, first: bool = False) -> Dense:
        """A dense layer drawn by the scheme (``first``: the network's first layer, for SIREN)."""
        return Dense(*self.scheme(self, fan_in, fan_out, first))

    def stack(self, sizes: Sequence[int]) -> list[Dense]:
        """Dense layers ``sizes[0] -> sizes[1] -> ...``; the first is flagged ``first``."""
        return [self.dense(a, b, i == 0) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]


class Trunk(nn.Module):
    """Hidden layers ``h = act(W h + b)`` with Modulus-style skip connections.

    With skips, every even-numbered layer (numbering from ``first_index``) adds the
    output of the previous even-numbered layer.  ``mix``, when given, maps each
    layer's activation before the skip (the modified Fourier net's gate).
    """

    def __init__(self, layers: Sequence[Dense], act: nn.Module, skip_connections: bool, first_index: int = 0):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.act = act
        self.skip_connections = skip_connections
        self.first_index = first_index

    def forward(
        self, h: torch.Tensor, mix: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> torch.Tensor:
        skip: torch.Tensor | None = None
        for i, layer in enumerate(self.layers, self.first_index):
            h = self.act(layer(h))
            if mix is not None:
                h = mix(h)
            if self.skip_connections and i % 2 == 0:
                h, skip = (h, h) if skip is None else (h + skip, h)
        return h


class Net(nn.Module):
    """``(N, n_inputs) -> (N, n_outputs)``: ``head(trunk(encoder(x)))``."""

    def __init__(self, n_inputs: int, n_outputs: int, encoder: nn.Module, trunk: Trunk, head: Dense):
        super().__init__()
        self.n_inputs = n_inputs
        self.n_outputs = n_outputs
        self.encoder = encoder
        self.trunk = trunk
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(self.encoder(x)))


class TrunkSettings(Protocol):
    """The config fields every architecture shares (``engine.config.schema`` net variants)."""

    layer_size: int
    nr_layers: int
    skip_connections: bool


def standard_net(
    settings: TrunkSettings,
    encoder: nn.Module,
    in_features: int,
    n_inputs: int,
    n_outputs: int,
    act: nn.Module,
    init: Init,
) -> Net:
    """``encoder`` (giving ``in_features``) -> ``nr_layers`` hidden layers of ``layer_size`` -> linear head."""
    width = settings.layer_size
    layers = init.stack([in_features] + [width] * settings.nr_layers)
    trunk = Trunk(layers, act, settings.skip_connections)
    return Net(n_inputs, n_outputs, encoder, trunk, init.dense(width, n_outputs))
