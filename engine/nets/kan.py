"""KAN (Kolmogorov-Arnold network, Liu et al. 2024): every edge carries a learnable univariate function.

Edge ``i -> j`` of a layer computes ``phi_ij(x) = w_b b(x) + w_s spline_ij(u(x))`` with ``b`` the
base function (``activation``, silu by default) and a B-spline of order ``k`` on ``grid``
intervals of ``[-1, 1]`` (:mod:`engine.nets.bsplines`); node ``j`` sums its edges plus a bias.
The first layer's spline sees the inputs mapped linearly from their range (``grid_range``, or
the problem's variable ranges set by :meth:`KanNet.cover_inputs`) onto ``[-1, 1]``; hidden
layers' splines see ``tanh`` of their inputs, so every spline is evaluated inside its grid
whatever the activations grow to. A ``mask`` buffer switches pruned edges off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from engine.config.schema import Kan
from engine.nets.activations import activation
from engine.nets.bsplines import basis, uniform_knots
from engine.nets.layers import Init

SPLINE_INIT = 0.1
"""Initial spline coefficients are drawn from U(-SPLINE_INIT, SPLINE_INIT)."""


class KanLayer(nn.Module):
    """``(N, n_in) -> (N, n_out)``: ``y_j = bias_j + sum_i mask_ij phi_ij(x_i)``."""

    knots: torch.Tensor
    mask: torch.Tensor

    def __init__(self, n_in: int, n_out: int, grid: int, order: int, base: nn.Module, warp: bool, init: Init):
        super().__init__()
        self.order, self.warp, self.base = order, warp, base
        self.register_buffer("knots", uniform_knots(grid, order, init.dtype), persistent=False)
        self.coef = nn.Parameter(init.uniform((n_in, n_out, grid + order), SPLINE_INIT))
        self.scale_base = nn.Parameter(init.uniform((n_in, n_out), 1.0 / math.sqrt(n_in)))
        self.scale_spline = nn.Parameter(torch.full((n_in, n_out), 1.0 / math.sqrt(n_in), dtype=init.dtype))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=init.dtype))
        self.register_buffer("mask", torch.ones(n_in, n_out, dtype=init.dtype))

    @property
    def grid(self) -> int:
        return self.coef.shape[-1] - self.order

    def splines(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, n_in, n_basis)``: the B-spline basis at each input (after the hidden layers' tanh)."""
        return basis(torch.tanh(x) if self.warp else x, self.knots, self.order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.base(x) @ (self.mask * self.scale_base)
        spline = torch.einsum("nib,iob->no", self.splines(x), self.coef * (self.mask * self.scale_spline).unsqueeze(-1))
        return base + spline + self.bias

    def edges(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, n_in, n_out)``: every edge's ``mask * phi(x)``."""
        spline = torch.einsum("nib,iob->nio", self.splines(x), self.coef)
        return self.mask * (self.scale_base * self.base(x).unsqueeze(-1) + self.scale_spline * spline)

    def extra_repr(self) -> str:
        n_in, n_out, _ = self.coef.shape
        return f"{n_in} -> {n_out}, grid={self.grid}, order={self.order}, edges={int(self.mask.sum())}"


class KanNet(nn.Module):
    """``(N, n_inputs) -> (N, n_outputs)``: input scaling onto ``[-1, 1]``, then KAN layers."""

    input_low: torch.Tensor
    input_high: torch.Tensor

    def __init__(self, settings: Kan, n_inputs: int, n_outputs: int, init: Init):
        super().__init__()
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        low, high = settings.grid_range or (-1.0, 1.0)
        self.register_buffer("input_low", torch.full((n_inputs,), float(low), dtype=init.dtype))
        self.register_buffer("input_high", torch.full((n_inputs,), float(high), dtype=init.dtype))
        sizes = [n_inputs, *hidden_widths(settings), n_outputs]
        self.layers = nn.ModuleList(
            KanLayer(a, b, settings.grid, settings.spline_order, activation(settings.activation), i > 0, init)
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        )

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        """The inputs mapped linearly from their range onto ``[-1, 1]``."""
        return (2 * x - (self.input_low + self.input_high)) / (self.input_high - self.input_low)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scaled(x)
        for layer in self.layers:
            h = layer(h)
        return h

    def edge_scales(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per layer ``(n_in, n_out)``: each edge's mean ``|phi|`` over the batch ``x`` (differentiable)."""
        scales = []
        h = self.scaled(x)
        for layer in self.layers:
            scales.append(layer.edges(h).abs().mean(dim=0))
            h = layer(h)
        return scales

    def cover_inputs(self, ranges: Sequence[tuple[float, float] | None]) -> None:
        """Map each input's ``(low, high)`` onto the first grid (None, or a single value, keeps a unit span)."""
        with torch.no_grad():
            for i, span in enumerate(ranges):
                low, high = span or (-1.0, 1.0)
                if not high > low:
                    low, high = low - 1.0, high + 1.0
                self.input_low[i], self.input_high[i] = low, high


def hidden_widths(settings: Kan) -> list[int]:
    """The hidden layer widths: ``width``, else ``nr_layers`` times ``layer_size``."""
    return list(settings.width) if settings.width else [settings.layer_size] * settings.nr_layers


def sparsity(scales: Sequence[torch.Tensor], l1: float, entropy: float) -> torch.Tensor:
    """The KAN paper's regulariser: ``l1 * sum |A|_1 + entropy * sum H(A / |A|_1)`` over the layers' edge scales ``A``."""
    total = scales[0].new_zeros(())
    for scale in scales:
        norm = scale.sum()
        total = total + l1 * norm
        if entropy:
            share = scale / (norm + torch.finfo(scale.dtype).tiny)
            total = total - entropy * (share * torch.log(share + torch.finfo(scale.dtype).eps)).sum()
    return total


def build(settings: Kan, n_inputs: int, n_outputs: int, init: Init) -> KanNet:
    """The KAN of ``settings``."""
    return KanNet(settings, n_inputs, n_outputs, init)
