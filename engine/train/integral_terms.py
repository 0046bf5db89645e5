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
from ..errors import MtcError
from ..problem.integrals import GROUP, draw_integral_batches, placeholder, varying_parameters

AREA = "area"


def stored_integral_batches(
    stored: Mapping[str, np.ndarray], batches: int, size: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``batches`` blocks of ``size`` rows drawn from stored samples, each block's areas summing to the measure.

    Samples of a subdomain with a parameter range come in groups (``GROUP``), each sampled at one
    parameter value: each block then draws its rows from one group, chosen at random.
    """
    groups = stored.get(GROUP)
    pools = [np.flatnonzero(groups == g) for g in np.unique(groups)] if groups is not None else [np.arange(len(stored[AREA]))]
    chosen = rng.integers(len(pools), size=batches)
    index = np.concatenate([rng.choice(pools[c], size, replace=size > len(pools[c])) for c in chosen])
    drawn = {key: values[index] for key, values in stored.items()}
    drawn[AREA] = drawn[AREA] * np.repeat([len(pools[c]) / size for c in chosen], size)
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
    trained: bool = True  # like LossTerm.trained: an integral constraint is never imposed exactly

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

    ``stored`` samples of a subdomain with a parameter range must come in groups, one parameter
    value each (what ``mtc sample`` writes when an included integral constraint needs them).
    """
    subdomain = problem.constraints[name].subdomain
    varying = varying_parameters(subdomain)
    if stored is not None and varying and GROUP not in stored:
        raise MtcError(
            f"integral constraint {name!r} integrates over subdomain {subdomain.name!r} per value of "
            f"{', '.join(varying)}, but its stored samples were not sampled per value (it was not included "
            "when they were written): run `mtc sample` again"
        )
    batches, size = settings["integral_batches"], settings["batch_size"]
    return IntegralTerm(name, residual, integrands, weight, subdomain, batches, size, rng, sampler, needed, stored)
