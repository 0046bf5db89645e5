"""Loss terms of integral constraints: one residual per batch of points, each batch one integral.

A step draws ``integral_batches`` batches of ``batch_size`` points; each batch has one value of
every parameter of the subdomain (the geometry is integrated at that value, as MTC's
integral batches do). The integral over a batch is ``sum(integrand * area)``; the loss is
``weight * mean over batches of residual^2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..compile import BatchFields, CompiledExpression, NetworkBinding, as_columns
from ..problem import Problem
from ..problem.entities import Subdomain
from ..problem.geometry.base import concat
from ..problem.integrals import placeholder
from ..errors import MtcError
from ..problem.sampling import parse_params, sample_parameters, sample_subdomain

AREA = "area"


def draw_integral_batches(
    subdomain: Subdomain, batches: int, size: int, rng: np.random.Generator, sampler: str
) -> dict[str, np.ndarray]:
    """``batches`` blocks of ``size`` points of ``subdomain``, each at one sampled parameter value."""
    values = sample_parameters(subdomain.params, batches, rng, sampler)
    parts = []
    for b in range(batches):
        fixed = {symbol: float(values[str(symbol)][b]) for symbol in subdomain.params}
        parts.append(
            sample_subdomain(subdomain.geometry, subdomain.kind, size, fixed, subdomain.criteria, rng, sampler, name=subdomain.name)
        )
    return concat(parts)


def stored_integral_batches(
    stored: Mapping[str, np.ndarray], batches: int, size: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``batches`` blocks of ``size`` rows drawn from stored samples, each block's areas summing to the measure."""
    rows = len(stored[AREA])
    index = np.concatenate([rng.choice(rows, size, replace=size > rows) for _ in range(batches)])
    drawn = {key: values[index] for key, values in stored.items()}
    drawn[AREA] = drawn[AREA] * (rows / size)
    return drawn


@dataclass(frozen=True)
class IntegralTerm:
    """``weight * mean_b(residual(integrals of batch b, parameters of batch b)^2)``."""

    name: str
    residual: CompiledExpression
    integrands: tuple[CompiledExpression, ...]
    weight: float | CompiledExpression
    subdomain: Subdomain
    batches: int
    size: int
    rng: np.random.Generator
    sampler: str
    needed: frozenset[str]
    stored: Mapping[str, np.ndarray] | None = None  # rows of `mtc sample` (training.sampled)
    scalars: Callable[[], Mapping[str, torch.Tensor]] = dict  # the unknowns' current values

    def columns(self, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
        """New batches as tensors (stacked, ``batches * size`` rows), differentiable where needed."""
        if self.stored is None:
            drawn = draw_integral_batches(self.subdomain, self.batches, self.size, self.rng, self.sampler)
        else:
            drawn = stored_integral_batches(self.stored, self.batches, self.size, self.rng)
        wanted = {key: drawn[key] for key in self.needed | {AREA} if key in drawn}
        grads = frozenset(v for f in self.integrands for v in f.grad_variables)
        return as_columns(wanted, dtype, device, grads)

    def loss(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, torch.Tensor]) -> torch.Tensor:
        scalars = self.scalars()
        fields = BatchFields(networks, {**columns, **scalars})
        area = columns[AREA].reshape(self.batches, self.size)
        per_batch = {
            str(placeholder(i)): (f(fields).reshape(self.batches, self.size) * area).sum(dim=1)
            for i, f in enumerate(self.integrands)
        }
        per_batch.update({
            key: column.reshape(self.batches, self.size)[:, 0] for key, column in columns.items() if key != AREA
        })  # fmt: skip
        outer = BatchFields({}, {**per_batch, **scalars})
        squared = self.residual(outer).square()
        if isinstance(self.weight, CompiledExpression):
            return (self.weight(outer).detach() * squared).mean()
        return self.weight * squared.mean()


def integral_term(
    problem: Problem,
    name: str,
    residual: CompiledExpression,
    integrands: tuple[CompiledExpression, ...],
    weight: float | CompiledExpression,
    settings: Mapping[str, Any],
    rng: np.random.Generator,
    sampler: str,
    needed: frozenset[str],
    stored: Mapping[str, np.ndarray] | None = None,
) -> IntegralTerm:
    """The loss term of integral constraint ``name`` with its ``constraints.<name>`` settings.

    With ``stored`` samples, a subdomain with a parameter range is refused: each integral
    needs points at one parameter value, which stored rows do not have.
    """
    subdomain = problem.constraints[name].subdomain
    varying = [str(s) for s, (lo, hi) in parse_params(subdomain.params).items() if lo != hi] if stored is not None else []
    if varying:
        raise MtcError(
            f"integral constraint {name!r} integrates over subdomain {subdomain.name!r} per value of "
            f"{', '.join(varying)}, which stored samples cannot give: set training.sampled=false"
        )
    batches, size = settings["integral_batches"], settings["batch_size"]
    return IntegralTerm(name, residual, integrands, weight, subdomain, batches, size, rng, sampler, needed, stored)
