"""The parts a problem is made of: networks, submodels, subdomains, constraints, models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sympy
from sympy.core.function import AppliedUndef

from .symbols import extras_for

if TYPE_CHECKING:
    from .geometry import Geometry
    from .sampling import ParamSpec

SubdomainKind = Literal["interior", "boundary"]


@dataclass(frozen=True)
class NeuralNetwork:
    """A network mapping input variables to output functions."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    functions: tuple[AppliedUndef, ...]


@dataclass(frozen=True)
class Submodel:
    """A named expression of network outputs; ``expanded`` has no submodel left in it."""

    name: str
    expression: sympy.Expr
    expanded: sympy.Expr
    function: AppliedUndef


@dataclass(frozen=True)
class Subdomain:
    """Where a constraint is sampled: a geometry's interior or boundary, with params and criteria."""

    name: str
    kind: SubdomainKind
    geometry: "Geometry"
    params: "ParamSpec"
    criteria: sympy.Basic | None
    probe: dict = field(default_factory=dict, compare=False, repr=False)
    """Points sampled when it was declared (columns -> arrays): what validation checks expressions on."""

    @property
    def variables(self) -> frozenset[str]:
        """Names of the independent variables its samples carry (coordinates and params)."""
        return frozenset(self.geometry.dims) | frozenset(str(s) for s in self.params)

    @property
    def columns(self) -> frozenset[str]:
        """Every column a sample of this subdomain carries (variables, sdf or normals)."""
        extra = self.geometry.extra_columns if self.kind == "interior" else ()
        return self.variables | extras_for(self.kind) | frozenset(extra)


@dataclass(frozen=True)
class Constraint:
    """An equation enforced on a subdomain; the residual is ``rhs - lhs`` with submodels expanded.

    An integral constraint has ``integrands``: its residual then reads each integral as a
    placeholder symbol (:mod:`engine.problem.integrals`) and holds once per batch.
    """

    name: str
    equation: sympy.Eq
    subdomain: Subdomain
    residual: sympy.Expr
    integrands: tuple[sympy.Expr, ...] = ()


@dataclass(frozen=True)
class DataConstraint:
    """A model fitted to measured values read from a CSV, NPZ or HDF5 file."""

    name: str
    model: sympy.Expr
    expanded: sympy.Expr
    target: str
    inputs: tuple[str, ...]
    path: Path
    rows: int


@dataclass(frozen=True)
class ModelPiece:
    """One branch of a piecewise model: ``function`` where ``condition`` holds."""

    function: sympy.Expr
    expanded: sympy.Expr
    condition: sympy.Basic


@dataclass(frozen=True)
class PiecewiseModel:
    """The model ``set_model`` defines for inference, chosen piece by piece."""

    name: str
    pieces: tuple[ModelPiece, ...]
