"""A network whose outputs meet their hard boundary conditions exactly: ``u = g_ext + phi * N``.

For an output with hard conditions ``u = g_i`` on boundaries with distances ``phi_i``
(:mod:`engine.problem.hard`), the model is the transfinite blend (Sukumar & Srivastava 2022)

    u = sum_i w_i g_i + phi N,   w_i = prod_{j != i} phi_j / sum_k prod_{j != k} phi_j,
    phi = phi_1 ^ phi_2 ^ ... (R-equivalence; on a box or convex polygon the normalised
          product of its walls' flat distances, smooth at the corners),

so on boundary i (``phi_i = 0``) ``w_i = 1``, every other weight and ``phi`` are 0, and
``u = g_i`` whatever the network ``N`` computes. ``g_i`` is evaluated off the boundary
as the same expression (its extension). The wrapped module is the stage's own: its
parameters, state dict and checkpoints do not change; only the binding the compile layer
evaluates does. A correction stage wraps ``base + eps * u_corr``, so the correction is
multiplied by ``phi`` and never moves the boundary values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce

import sympy
import torch
from torch import nn

from ..problem.geometry.distance import joined_distance
from ..problem.hard import HardCondition, output_distance
from .expression import numeric_constants

Tensor = torch.Tensor


def _value_function(condition: HardCondition) -> Callable[[dict[str, Tensor]], Tensor]:
    """g of a condition as a torch function of the network's input columns."""
    symbols = [sympy.Symbol(v) for v in condition.inputs]
    fn = sympy.lambdify(symbols, numeric_constants(condition.value), modules="torch")

    def value(columns: dict[str, Tensor]) -> Tensor:
        result = fn(*(columns[v] for v in condition.inputs))
        reference = columns[condition.inputs[0]]
        return torch.as_tensor(result, dtype=reference.dtype, device=reference.device).expand_as(reference)

    return value


def blend(distances: Sequence[Tensor], values: Sequence[Tensor]) -> Tensor:
    """``sum_i w_i g_i`` with ``w_i`` proportional to the product of the other distances."""
    if len(distances) == 1:
        return values[0]
    others = [reduce(torch.mul, [d for j, d in enumerate(distances) if j != i]) for i in range(len(distances))]
    total = reduce(torch.add, others)
    safe = torch.where(total > 0, total, torch.ones_like(total))  # only where two boundaries meet
    mean = reduce(torch.add, values) / len(values)
    mixed = reduce(torch.add, [w * g for w, g in zip(others, values)]) / safe
    return torch.where(total > 0, mixed, mean)


class HardOutputs(nn.Module):
    """Wraps ``module`` (inputs -> outputs) so the outputs with hard conditions meet them exactly."""

    def __init__(self, module: nn.Module, inputs: Sequence[str], outputs: Sequence[str], conditions: Sequence[HardCondition]):
        super().__init__()
        self.inner = module
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.conditions = {out: [c for c in conditions if c.output == out] for out in outputs}
        self._values = {c.constraint: _value_function(c) for c in conditions}
        self._distances = {out: output_distance(mine) for out, mine in self.conditions.items() if mine}

    def forward(self, x: Tensor) -> Tensor:
        raw = self.inner(x)
        outputs = []
        for k, output in enumerate(self.outputs):
            if not self.conditions[output]:
                outputs.append(raw[:, k])
                continue
            g_ext, phi = self.boundary_terms(x, output)
            outputs.append(g_ext + phi * raw[:, k])
        return torch.stack(outputs, dim=1)

    def boundary_terms(self, x: Tensor, output: str) -> tuple[Tensor, Tensor]:
        """``(sum_i w_i g_i, phi)`` of ``output`` (one with hard conditions) at the points ``x``."""
        columns = {name: x[:, i] for i, name in enumerate(self.inputs)}
        conditions = self.conditions[output]
        values = [self._values[c.constraint](columns) for c in conditions]
        phi = self._distances[output](columns)
        if len(conditions) == 1:  # g_1 itself: no blend, no distances of its own to evaluate
            return values[0], phi
        return blend([joined_distance(c.pieces, columns) for c in conditions], values), phi


def with_hard_outputs(
    module: nn.Module, inputs: Sequence[str], outputs: Sequence[str], conditions: Sequence[HardCondition]
) -> nn.Module:
    """``module`` wrapped in :class:`HardOutputs` when one of its outputs has a hard condition, else itself."""
    mine = [c for c in conditions if c.output in outputs]
    return HardOutputs(module, inputs, outputs, mine) if mine else module
