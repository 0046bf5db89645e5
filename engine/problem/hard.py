"""Hard (exact) boundary conditions: which constraints can be imposed exactly, and on what.

``constraints.<C>.hard=true`` turns a Dirichlet constraint ``Eq(u, g)`` on a boundary
subdomain into part of the model, ``u = g + phi * N`` (:mod:`engine.compile.hard_outputs`).
This module decides, from the problem alone (no torch), whether that applies: the residual
must be ``a (u - g)`` with ``u`` one network output, ``a`` a nonzero number and ``g`` an
expression of that network's inputs; the subdomain a boundary whose selected pieces have
a closed-form distance (:mod:`engine.problem.geometry.distance`), cut by its criteria only
between whole pieces, not inside the domain (an interface); and hard constraints on the same
output must not share a piece nor disagree where their pieces meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import sympy
from sympy import Derivative
from sympy.core.function import AppliedUndef

from .geometry.distance import (
    BoundaryPiece, NoDistance, boundary_pieces, extent, joined_distance, piece_points, point_columns, product_distance,
    r_equivalence,
)  # fmt: skip
from .sampling import compile_criteria, sample_subdomain

if TYPE_CHECKING:
    from .entities import Constraint
    from .problem import Problem

MISMATCH = 1e-9
"""Relative disagreement of two hard conditions at a shared point that is refused."""


class HardRefusal(Exception):
    """``hard=true`` cannot apply to ``constraint``; ``reason`` says why and what to do."""

    def __init__(self, constraint: str, reason: str):
        super().__init__(reason)
        self.constraint = constraint
        self.reason = reason


@dataclass(frozen=True)
class HardCondition:
    """``output = value`` exactly on ``pieces``: ``value`` is g, an expression of the network's inputs."""

    constraint: str
    output: str
    value: sympy.Expr
    inputs: tuple[str, ...]
    pieces: tuple[BoundaryPiece, ...]

    def value_at(self, points: np.ndarray) -> np.ndarray:
        """g at (n, d) points of the geometry's coordinates (other inputs must not appear)."""
        dims = self.pieces[0].dims
        fn = sympy.lambdify([sympy.Symbol(d) for d in dims], self.value, "numpy")
        return np.broadcast_to(np.asarray(fn(*point_columns(points, dims).values()), dtype=float), (len(points),))


def dirichlet_value(problem: "Problem", constraint: "Constraint") -> tuple[str, sympy.Expr]:
    """The output and g of a constraint whose residual is ``a (u - g)``; HardRefusal otherwise."""
    name, residual = constraint.name, constraint.residual
    if constraint.subdomain.kind != "boundary":
        raise HardRefusal(name, f"it holds on the interior subdomain {constraint.subdomain.name!r}; hard=true imposes "
                          "boundary values (Eq(u, g) on a boundary subdomain)")  # fmt: skip
    if residual.atoms(Derivative):
        raise HardRefusal(name, "it involves derivatives (a Neumann or Robin condition); hard=true imposes values only "
                          "(Dirichlet, Eq(u, g)): keep it soft")  # fmt: skip
    outputs = sorted({call.func.__name__ for call in residual.atoms(AppliedUndef)})
    if len(outputs) != 1:
        what = "no network output" if not outputs else f"{len(outputs)} outputs ({', '.join(outputs)}; an interface condition)"
        raise HardRefusal(name, f"it involves {what}; hard=true needs Eq(u, g) with one network output u")
    (output,) = outputs
    unknown = sympy.Dummy("u")
    replaced = residual.xreplace({call: unknown for call in residual.atoms(AppliedUndef)})
    slope = sympy.simplify(sympy.diff(replaced, unknown))
    if slope.has(unknown) or not slope.is_number or slope == 0:
        raise HardRefusal(name, f"{output} enters it as ({slope}) * {output}, not as {output} itself (a submodel such as "
                          f"x * {output}?); hard=true needs Eq({output}, g)")  # fmt: skip
    value = sympy.simplify(-replaced.subs(unknown, 0) / slope)
    inputs = problem.network_of(output).inputs
    stray = sorted(str(s) for s in value.free_symbols if str(s) not in inputs)
    if stray:
        raise HardRefusal(name, f"its value g = {value} uses {', '.join(stray)}, which network "
                          f"{problem.network_of(output).name!r} does not take as input; g must be a function of "
                          f"{', '.join(inputs)}")  # fmt: skip
    return output, value


def _selected_pieces(problem: "Problem", constraint: "Constraint", inputs: tuple[str, ...]) -> tuple[BoundaryPiece, ...]:
    """The pieces of the constraint's boundary that its criteria select (whole pieces only)."""
    name, subdomain = constraint.name, constraint.subdomain
    geometry = subdomain.geometry
    missing = [d for d in geometry.dims if d not in inputs]
    if missing:
        raise HardRefusal(name, f"its boundary lies in {', '.join(geometry.dims)}, but the network takes no "
                          f"{', '.join(missing)} as input")  # fmt: skip
    try:
        pieces = boundary_pieces(geometry)
    except NoDistance as exc:
        raise HardRefusal(name, f"its boundary has no closed-form distance function: {exc}; keep it soft") from None
    criteria = subdomain.criteria
    extra = sorted({str(s) for s in sympy.sympify(criteria).free_symbols} - set(geometry.dims)) if criteria is not None else []
    if extra:
        raise HardRefusal(name, f"its criteria {criteria} use {', '.join(extra)}; hard=true needs pieces of the "
                          f"boundary chosen by position ({', '.join(geometry.dims)})")  # fmt: skip
    keep = compile_criteria(criteria, list(geometry.dims))
    selected = []
    for piece in pieces:
        accepted = np.ones(len(piece.points), dtype=bool) if keep is None else keep(point_columns(piece.points, piece.dims))
        if accepted.all():
            selected.append(piece)
        elif accepted.any():
            raise HardRefusal(name, f"its criteria {subdomain.criteria} keep only part of {piece.label}, whose "
                              "distance function vanishes on all of it; select whole pieces or keep it soft")  # fmt: skip
    if not selected:
        raise HardRefusal(name, f"its criteria {subdomain.criteria} select no whole piece of the boundary of "
                          f"{geometry.kind}")  # fmt: skip
    _refuse_interfaces(problem, name, selected)
    return tuple(selected)


def _refuse_interfaces(problem: "Problem", name: str, pieces: list[BoundaryPiece]) -> None:
    """A piece inside an interior subdomain's geometry is an interface, not a boundary."""
    points = piece_points(pieces)
    for subdomain in problem.subdomains.values():
        geometry = subdomain.geometry
        if subdomain.kind != "interior" or geometry.dims != pieces[0].dims or geometry.parameters():
            continue
        if np.any(geometry.sdf(point_columns(points, geometry.dims), {}) > 1e-9 * extent(geometry)):
            raise HardRefusal(name, f"its boundary lies inside {geometry.kind} (the interior subdomain "
                              f"{subdomain.name!r}): an interface, where a distance function would put a kink "
                              "into the solution; keep it soft")  # fmt: skip


def hard_condition(problem: "Problem", name: str) -> HardCondition:
    """The exact condition constraint ``name`` imposes; HardRefusal when it cannot be hard."""
    constraint = problem.constraints[name]
    output, value = dirichlet_value(problem, constraint)
    inputs = problem.network_of(output).inputs
    return HardCondition(name, output, value, inputs, _selected_pieces(problem, constraint, inputs))


def hard_conditions(problem: "Problem", names: Iterable[str]) -> list[HardCondition]:
    """The conditions of the constraints ``names``, checked against each other (HardRefusal)."""
    conditions = [hard_condition(problem, name) for name in names]
    for i, first in enumerate(conditions):
        for second in conditions[i + 1 :]:
            if first.output == second.output:
                _check_pair(first, second)
    return conditions


def _check_pair(first: HardCondition, second: HardCondition) -> None:
    """Two conditions on one output: no shared piece, and the same value where their pieces meet."""
    name = second.constraint
    for a in first.pieces:
        for b in second.pieces:
            if np.all(b.at(a.points) <= 1e-12):
                raise HardRefusal(name, f"{first.constraint!r} already imposes {first.output} exactly on {a.label}; "
                                  "set hard=true on only one of them")  # fmt: skip
    rims = [piece.rim for piece in first.pieces] + [piece.rim for piece in second.pieces]
    rims = [r for r in rims if len(r)]
    if not rims:
        return
    rim = np.concatenate(rims)
    near = np.min([p.at(rim) for p in first.pieces], axis=0) + np.min([p.at(rim) for p in second.pieces], axis=0)
    shared = rim[near <= 1e-12]
    if not len(shared):
        return
    gap, size = _gaps(first, second, shared)
    worst = int(np.argmax(gap / size))
    if gap[worst] > MISMATCH * size[worst]:
        where = ", ".join(f"{d} = {v:g}" for d, v in zip(first.pieces[0].dims, shared[worst]))
        by = f" by {gap[worst]:.3g}" if np.isfinite(gap[worst]) else ""
        raise HardRefusal(name, f"it sets {first.output} = {second.value} and {first.constraint!r} sets "
                          f"{first.output} = {first.value}; where their boundaries meet ({where}) they differ{by}, "
                          "so no function meets both; make them agree there or keep one soft")  # fmt: skip


def _gaps(first: HardCondition, second: HardCondition, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|g_1 - g_2| and 1 + |g_1| at (n, d) points; symbolic (inf where they differ) when g depends on more
    than the coordinates (a time, a parameter)."""
    dims = first.pieces[0].dims
    if (first.value.free_symbols | second.value.free_symbols) <= {sympy.Symbol(d) for d in dims}:
        one = first.value_at(points)
        return np.abs(one - second.value_at(points)), 1.0 + np.abs(one)
    differences = [
        sympy.simplify((first.value - second.value).subs(dict(zip(map(sympy.Symbol, dims), point))))
        for point in points[:8]
    ]
    return np.array([0.0 if d == 0 else np.inf for d in differences]), np.ones(len(differences))


def check_hard(problem: "Problem", names: Iterable[str]) -> tuple[str, str] | None:
    """``(constraint, reason)`` for the first of ``names`` that cannot be hard, or None when all can."""
    try:
        hard_conditions(problem, names)
    except HardRefusal as exc:
        return exc.constraint, exc.reason
    return None


def output_distance(conditions: Sequence[HardCondition]) -> Callable[[Mapping[str, Any]], Any]:
    """phi of one output as a function of coordinate columns (numpy arrays or torch tensors).

    The normalised product of the flat distances of all its conditions' pieces where they are the
    faces of one box or the edges of one convex polygon (smooth at the corners); elsewhere the
    R-equivalence of its conditions' distances.
    """
    pieces = [piece for condition in conditions for piece in condition.pieces]
    product = product_distance(pieces)
    if product is not None:
        return product
    return lambda columns: reduce(r_equivalence, [joined_distance(c.pieces, columns) for c in conditions])


def distance_rms(problem: "Problem", conditions: Sequence[HardCondition], output: str, points: int = 4096) -> float:
    """The RMS of ``output``'s phi over the first interior subdomain in its coordinates (1 without conditions).

    A correction of a hard output adds ``eps * phi * u_corr``; dividing its eps by this keeps
    ``u_corr`` an O(1) function (it learns ``e / (eps phi)``).
    """
    mine = [c for c in conditions if c.output == output]
    if not mine:
        return 1.0
    dims = mine[0].pieces[0].dims
    interiors = [sd for sd in problem.subdomains.values() if sd.kind == "interior" and sd.geometry.dims == dims]
    if not interiors:
        return 1.0
    sd = interiors[0]
    sample = sample_subdomain(sd.geometry, "interior", points, sd.params, sd.criteria, np.random.default_rng(0), name=sd.name)
    phi = np.asarray(output_distance(mine)({d: sample[d] for d in dims}), dtype=float)
    rms = float(np.sqrt(np.mean(phi**2)))
    return rms if rms > 0 else 1.0
