"""Every expression of a Problem compiled to torch: residuals, data models, submodels, the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from .expression import CompiledExpression
from .fields import BatchFields, Tensor

if TYPE_CHECKING:
    from ..problem import Problem


@dataclass(frozen=True)
class CompiledModel:
    """The ``set_model`` piecewise model: each piece where its condition holds (later pieces win)."""

    name: str
    pieces: tuple[tuple[CompiledExpression, CompiledExpression], ...]

    def __call__(self, fields: BatchFields) -> Tensor:
        result = torch.full((fields.size,), float("nan"), dtype=fields.dtype, device=fields.device)
        for value, condition in self.pieces:
            result = torch.where(condition(fields).to(torch.bool), value(fields), result)
        return result


@dataclass(frozen=True)
class CompiledProblem:
    """Torch functions of a problem, keyed by constraint, data constraint and submodel name."""

    residuals: dict[str, CompiledExpression]
    data_models: dict[str, CompiledExpression]
    submodels: dict[str, CompiledExpression]
    model: CompiledModel | None
    integrands: dict[str, tuple[CompiledExpression, ...]] = field(default_factory=dict)
    """Integral constraints only: their integrands, in the order of their residual's placeholders."""


def compile_problem(problem: "Problem") -> CompiledProblem:
    """Compile the residual (rhs - lhs) of every constraint and every model of ``problem``."""
    model = problem.model
    return CompiledProblem(
        residuals={c.name: CompiledExpression(c.residual) for c in problem.constraints.values()},
        data_models={d.name: CompiledExpression(d.expanded) for d in problem.data_constraints.values()},
        submodels={s.name: CompiledExpression(s.expanded) for s in problem.submodels.values()},
        model=None
        if model is None
        else CompiledModel(
            model.name,
            tuple((CompiledExpression(p.expanded), CompiledExpression(p.condition)) for p in model.pieces),
        ),
        integrands={
            c.name: tuple(CompiledExpression(f) for f in c.integrands) for c in problem.constraints.values() if c.integrands
        },
    )
