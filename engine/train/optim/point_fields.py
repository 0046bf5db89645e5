"""Network outputs and their input derivatives at ONE point, through torch.func (for per-point Jacobians).

:class:`PointFields` offers what a compiled residual reads from
:class:`~engine.compile.BatchFields` (``derivative``, ``column``, ``size``, ``dtype``,
``device``) for a batch of one point, with the trainable parameters passed in explicitly, so
``vmap(jacrev(residual at a point))`` gives every point's row of the Jacobian in one pass.
Input derivatives are nested reverse-mode Jacobians of the network at the point (a network has
few inputs and outputs; forward mode would miss activations such as silu, whose backward has no
forward-mode rule), cached per network and order.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch.func import functional_call, jacrev

from ...compile import NetworkBinding

Tensor = torch.Tensor
Params = Mapping[str, Mapping[str, Tensor]]  # network -> parameter name -> tensor (the trained ones)


class PointFields:
    """Outputs and derivatives of the networks at one point (every column has shape ``(1,)``)."""

    size = 1

    def __init__(self, networks: Mapping[str, NetworkBinding], params: Params, columns: Mapping[str, Tensor]):
        self.columns = columns
        self._networks = networks
        self._params = params
        self._owner = {out: (net, i) for net, b in networks.items() for i, out in enumerate(b.outputs)}
        self._jets: dict[tuple[str, int], Tensor] = {}
        first = next(iter(columns.values()))
        self.dtype, self.device = first.dtype, first.device

    def column(self, name: str) -> Tensor:
        """An input column (a variable, ``sdf``, a normal) at the point."""
        return self.columns[name]

    def derivative(self, name: str, wrt: tuple[str, ...]) -> Tensor:
        """d^k output / d wrt[0] ... d wrt[k-1] at the point; zero for a variable the network does not take."""
        net, index = self._owner[name]
        inputs = self._networks[net].inputs
        if any(v not in inputs for v in wrt):
            return torch.zeros(1, dtype=self.dtype, device=self.device)
        jet = self._jet(net, len(wrt))[index]
        for variable in wrt:
            jet = jet[inputs.index(variable)]
        return jet.reshape(1)

    def _jet(self, net: str, order: int) -> Tensor:
        """All order-``order`` input derivatives of network ``net``: ``(outputs, inputs, ..., inputs)``."""
        key = (net, order)
        if key not in self._jets:
            binding = self._networks[net]
            point = torch.cat([self.columns[v] for v in binding.inputs])
            function: Callable[[Tensor], Tensor] = self._network_function(binding, self._params.get(net, {}))
            for _ in range(order):
                function = jacrev(function)
            self._jets[key] = function(point)
        return self._jets[key]

    @staticmethod
    def _network_function(binding: NetworkBinding, params: Mapping[str, Tensor]) -> Callable[[Tensor], Tensor]:
        module = binding.module
        if not isinstance(module, torch.nn.Module):
            return lambda z: module(z.unsqueeze(0)).squeeze(0)
        return lambda z: functional_call(module, dict(params), (z.unsqueeze(0),)).squeeze(0)
