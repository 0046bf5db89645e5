"""Network outputs and their derivatives on one batch of points, each computed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch

Tensor = torch.Tensor


@dataclass(frozen=True)
class NetworkBinding:
    """A torch module mapping a (N, len(inputs)) batch to (N, len(outputs)) values."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    module: Callable[[Tensor], Tensor]


def as_columns(
    values: Mapping[str, np.ndarray | Tensor],
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    requires_grad: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Tensor]:
    """Turn sampled columns into 1-D tensors; those in ``requires_grad`` become autograd leaves."""
    columns = {}
    for name, value in values.items():
        tensor = torch.as_tensor(value, dtype=dtype, device=device).reshape(-1)
        if name in requires_grad:
            tensor = tensor.detach().clone().requires_grad_(True)
        columns[name] = tensor
    return columns


class ColumnFields:
    """What every way of evaluating networks on a batch shares: the columns, their size, dtype and device.

    Subclasses give :meth:`derivative` (nested autograd here, forward jets in
    :mod:`engine.compile.forward`); compiled residuals read only this interface.
    """

    def __init__(self, columns: Mapping[str, Tensor]):
        self.columns = dict(columns)
        first = next(iter(self.columns.values()), None)
        self.size = 0 if first is None else first.shape[0]
        self.dtype = torch.get_default_dtype() if first is None else first.dtype
        self.device = torch.device("cpu") if first is None else first.device

    def column(self, name: str) -> Tensor:
        """An input column (a variable, a parameter, ``sdf`` or a normal)."""
        return self.columns[name]

    def output(self, name: str) -> Tensor:
        """The values of network output ``name``."""
        return self.derivative(name, ())

    def derivative(self, name: str, wrt: tuple[str, ...]) -> Tensor:
        raise NotImplementedError


class BatchFields(ColumnFields):
    """Lazily evaluates networks and nested-autograd derivatives on a batch, with a cache.

    A derivative is keyed by (output, sorted variables): mixed partials are computed once in
    a canonical order and every higher derivative reuses the lower ones.
    """

    def __init__(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, Tensor]):
        super().__init__(columns)
        self._owner = {out: (binding, i) for binding in networks.values() for i, out in enumerate(binding.outputs)}
        self._cache: dict[tuple[str, tuple[str, ...]], Tensor] = {}

    def derivative(self, name: str, wrt: tuple[str, ...]) -> Tensor:
        """d^k output / d wrt[0] ... d wrt[k-1], computed once per batch."""
        key = (name, tuple(sorted(wrt)))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if not key[1]:
            self._evaluate(name)
            return self._cache[key]
        lower = self.derivative(name, key[1][:-1])
        binding, _ = self._owner[name]
        if not self.columns[key[1][-1]].requires_grad:
            raise RuntimeError(f"column {key[1][-1]!r} was not prepared for differentiation")
        # one backward pass gives the gradient with respect to every input: cache them all
        variables = [v for v in binding.inputs if self.columns[v].requires_grad]
        grads = (
            torch.autograd.grad(
                lower, [self.columns[v] for v in variables], grad_outputs=torch.ones_like(lower),
                create_graph=True, allow_unused=True,
            )
            if lower.requires_grad
            else [None] * len(variables)
        )  # fmt: skip
        for variable, grad in zip(variables, grads):
            derived = (name, tuple(sorted((*key[1][:-1], variable))))
            self._cache.setdefault(derived, torch.zeros_like(lower) if grad is None else grad)
        if key not in self._cache:  # not a network input: zero
            self._cache[key] = torch.zeros_like(lower)
        return self._cache[key]

    def _evaluate(self, output: str) -> None:
        binding, _ = self._owner[output]
        batch = torch.stack([self.columns[v] for v in binding.inputs], dim=1)
        values = binding.module(batch)
        for i, name in enumerate(binding.outputs):
            self._cache[(name, ())] = values[:, i]
