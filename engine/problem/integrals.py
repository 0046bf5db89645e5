"""Integral constraints (MTC's ``Eq(Integral(f, x, y), c)``): each integral becomes a placeholder symbol.

An integral over a subdomain is estimated as ``sum(f * area)`` over one batch of its
sampled points (``area`` is each point's share of the subdomain's measure), so an
equation with integrals has one residual per batch: its placeholders take those sums,
its parameters the batch's parameter value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import sympy
from sympy import Integral, Symbol

from ..errors import ProblemError
from .geometry.base import concat
from .sampling import parse_params, sample_parameters, sample_subdomain

if TYPE_CHECKING:
    from .entities import Subdomain

GROUP = "integral_group"  # the column of stored samples that says which parameter value a row was sampled at

PLACEHOLDER = "_mtc_integral"


def placeholder(index: int) -> Symbol:
    """The symbol that stands for the ``index``-th integral of an equation."""
    return Symbol(f"{PLACEHOLDER}{index}")


def split_integrals(expr: sympy.Basic, dims: Sequence[str], context: str) -> tuple[sympy.Basic, tuple[sympy.Expr, ...]]:
    """``expr`` with each ``Integral(f, *dims)`` replaced by a placeholder, and the integrands ``f``.

    Every integral must run over all of the subdomain's coordinates ``dims`` (no limits: the
    subdomain is the region), and integrals may not nest.
    """
    integrals = sorted(expr.atoms(Integral), key=sympy.default_sort_key)
    mapping, integrands = {}, []
    for integral in integrals:
        limits = integral.limits
        if any(len(limit) != 1 for limit in limits):
            raise ProblemError(
                f"{context}: {integral} has limits; write Integral(f, {', '.join(dims)}): "
                "the subdomain is the region integrated over"
            )
        over = [str(limit[0]) for limit in limits]
        outside = [v for v in over if v not in dims]
        if outside:
            raise ProblemError(
                f"{context}: {integral} integrates over {', '.join(outside)}, which the subdomain does not "
                f"sample (its coordinates are {', '.join(dims)})"
            )
        if sorted(over) != sorted(dims) or len(over) != len(set(over)):
            raise ProblemError(
                f"{context}: {integral} integrates over {', '.join(over)}; integrate over each coordinate "
                f"of the subdomain once: Integral(f, {', '.join(dims)})"
            )
        if integral.function.has(Integral):
            raise ProblemError(f"{context}: {integral} nests integrals; write one Integral over all coordinates")
        mapping[integral] = placeholder(len(integrands))
        integrands.append(integral.function)
    return expr.xreplace(mapping), tuple(integrands)


def placeholders(count: int) -> frozenset[str]:
    """The names of the first ``count`` placeholders."""
    return frozenset(str(placeholder(i)) for i in range(count))


def draw_integral_batches(
    subdomain: "Subdomain", batches: int, size: int, rng: np.random.Generator, sampler: str
) -> dict[str, np.ndarray]:
    """``batches`` blocks of ``size`` points of ``subdomain``, each at one sampled parameter value
    (as MTC's integral batches: the geometry is integrated at that value)."""
    values = sample_parameters(subdomain.params, batches, rng, sampler)
    parts = []
    for b in range(batches):
        fixed = {symbol: float(values[str(symbol)][b]) for symbol in subdomain.params}
        parts.append(
            sample_subdomain(subdomain.geometry, subdomain.kind, size, fixed, subdomain.criteria, rng, sampler, name=subdomain.name)
        )
    return concat(parts)


def varying_parameters(subdomain: "Subdomain") -> list[str]:
    """The parameters of ``subdomain`` given as a range (not one value)."""
    return [str(s) for s, (lo, hi) in parse_params(subdomain.params).items() if lo != hi]
