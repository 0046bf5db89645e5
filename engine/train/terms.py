"""Loss terms: each included constraint or data constraint with its batch source and weight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import sympy
import torch

from ..compile import BatchFields, CompiledExpression, CompiledProblem, NetworkBinding, as_columns
from ..config.adaptive import base_sampler
from ..compile.forward import ForwardFields, ForwardPlan
from ..problem import Problem
from ..problem.datafiles import load_columns
from ..problem.sampling import sample_subdomain
from ..samples import read_samples
from .integral_terms import IntegralTerm, integral_term

TARGET = "_mtc_target"
Draw = Callable[[], dict[str, np.ndarray]]


@dataclass(frozen=True)
class LossTerm:
    """``weight * mean(residual^2)`` over a batch that ``draw`` samples afresh when asked.

    ``needed`` names the sampled columns the residual and the weight read (their variables and
    the inputs of the networks they evaluate); only those become tensors. A term that is not
    ``trained`` (a constraint imposed exactly, ``hard``) is evaluated for its curve only: its
    value carries no gradient, and it is zero up to rounding. With a ``forward`` plan the
    derivatives are propagated forward through the layers (:mod:`engine.compile.forward`)
    instead of nested autograd, and the sampled columns need no gradient.
    """

    name: str
    residual: CompiledExpression
    weight: float | CompiledExpression
    draw: Draw
    needed: frozenset[str]
    scalars: Callable[[], Mapping[str, torch.Tensor]] = dict  # the unknowns' current values
    trained: bool = True
    forward: ForwardPlan | None = None

    def columns(self, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
        """A new batch as tensors, differentiable where the residual needs it."""
        batch = self.draw()
        wanted = {key: batch[key] for key in self.needed if key in batch}
        return as_columns(wanted, dtype, device, self.residual.grad_variables if self.forward is None else frozenset())

    def loss(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if not self.trained:
            with torch.no_grad():
                return self._weighted(networks, columns)
        return self._weighted(networks, columns)

    def pointwise(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``weight * residual^2`` at each point, before the mean (self_adaptive loss balancing weights points)."""
        fields = self._fields(networks, columns)
        weight = self.weight(fields).detach() if isinstance(self.weight, CompiledExpression) else self.weight
        return weight * self.residual(fields).square()

    def _fields(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, torch.Tensor]) -> BatchFields | ForwardFields:
        values = {**columns, **self.scalars()}
        return BatchFields(networks, values) if self.forward is None else ForwardFields(networks, values, self.forward)

    def _weighted(self, networks: Mapping[str, NetworkBinding], columns: Mapping[str, torch.Tensor]) -> torch.Tensor:
        fields = self._fields(networks, columns)
        squared = self.residual(fields).square()
        if isinstance(self.weight, CompiledExpression):
            return (self.weight(fields).detach() * squared).mean()
        return self.weight * squared.mean()


def _needed(problem: Problem, *expressions: float | CompiledExpression) -> frozenset[str]:
    """The columns ``expressions`` read: their variables and the inputs of the networks they evaluate."""
    compiled = [e for e in expressions if isinstance(e, CompiledExpression)]
    variables = {v for e in compiled for v in e.variables}
    inputs = {v for e in compiled for output, _ in e.requests for v in problem.network_of(output).inputs}
    return frozenset(variables | inputs)


def _weight(value: Any) -> float | CompiledExpression:
    if isinstance(value, (int, float)):
        return float(value)
    return CompiledExpression(sympy.sympify(value))


def subdomain_draw(problem: Problem, name: str, batch: int, rng: np.random.Generator, sampler: str, sampled: bool) -> Draw:
    """``batch`` points of constraint ``name``'s subdomain per call: sampled, or rows of `mtc sample`'s file."""
    sd = problem.constraints[name].subdomain
    if sampled:  # rows of `mtc sample`'s file
        return _data_draw(read_samples(problem, sd), batch, rng)
    return lambda: sample_subdomain(sd.geometry, sd.kind, batch, sd.params, sd.criteria, rng, sampler, name=sd.name)


def _data_draw(table: dict[str, np.ndarray], batch: int, rng: np.random.Generator) -> Draw:
    rows = len(next(iter(table.values())))
    if batch >= rows:
        return lambda: table

    def draw() -> dict[str, np.ndarray]:
        index = rng.choice(rows, batch, replace=False)
        return {k: v[index] for k, v in table.items()}

    return draw


def build_terms(
    problem: Problem, compiled: CompiledProblem, config: Mapping[str, Any], rng: np.random.Generator
) -> list[LossTerm | IntegralTerm]:
    """The loss terms a stage trains on: included constraints, then included data constraints."""
    sampler, sampled = base_sampler(config["training"]), config["training"]["sampled"]
    terms = []
    for name, settings in config["constraints"].items():
        if not settings["include"]:
            continue
        residual, weight = compiled.residuals[name], _weight(settings["weight"])
        integrands = compiled.integrands.get(name)
        if integrands:
            needed = _needed(problem, residual, weight, *integrands)
            stored = read_samples(problem, problem.constraints[name].subdomain) if sampled else None
            terms.append(integral_term(problem, name, residual, integrands, weight, settings, rng, sampler, needed, stored))
        else:
            draw = subdomain_draw(problem, name, settings["batch_size"], rng, sampler, sampled)
            hard = settings.get("hard", False)
            terms.append(LossTerm(name, residual, weight, draw, _needed(problem, residual, weight), trained=not hard))
    for name, settings in config["data"].items():
        if settings["include"]:
            data = problem.data_constraints[name]
            table = load_columns(data.path, [*data.inputs, data.target])
            table[TARGET] = table.pop(data.target)
            residual = CompiledExpression(data.expanded - sympy.Symbol(TARGET))
            draw = _data_draw(table, settings["batch_size"], rng)
            terms.append(LossTerm(name, residual, float(settings["weight"]), draw, _needed(problem, residual)))
    return terms
