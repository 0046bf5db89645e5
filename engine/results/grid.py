"""Where to draw a trained stage: the variables on the axes, a grid masked to the domain, and points per constraint."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.errors import MtcError
from engine.problem import Problem
from engine.problem.sampling import parse_params, sample_subdomain

Predict = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]

POINTS_1D = 400
POINTS_2D = 150


@dataclass(frozen=True)
class Grid:
    """Grid points over the 1 or 2 drawn variables; every other variable and parameter is held at one value."""

    axes: tuple[str, ...]
    coords: tuple[np.ndarray, ...]
    columns: dict[str, np.ndarray]
    inside: np.ndarray
    fixed: dict[str, float]


def value_ranges(problem: Problem) -> dict[str, tuple[float, float]]:
    """The span of every coordinate and parameter over all subdomains (geometry bounding boxes, param ranges)."""
    ranges: dict[str, tuple[float, float]] = {}

    def widen(name: str, lo: float, hi: float) -> None:
        old = ranges.get(name, (lo, hi))
        ranges[name] = (min(old[0], lo), max(old[1], hi))

    for subdomain in problem.subdomains.values():
        params = parse_params(subdomain.params)
        for name, (lo, hi) in params.items():
            widen(name, lo, hi)
        corners = {name: np.array([lo, (lo + hi) / 2, hi]) for name, (lo, hi) in params.items()}
        low, high = subdomain.geometry.bounds(corners, 3)
        for index, dim in enumerate(subdomain.geometry.dims):
            widen(dim, float(low[:, index].min()), float(high[:, index].max()))
    return ranges


def solution_grid(problem: Problem) -> Grid:
    """A line (one free variable) or a plane (the first two) of points, flagged inside/outside the domain."""
    ranges = value_ranges(problem)
    variables = list(problem.variables)
    axes = tuple(v for v in variables if v in ranges and ranges[v][1] > ranges[v][0])[:2]
    if not axes:
        raise MtcError("nothing to draw: no variable of problem.py spans a range in any subdomain")
    size = POINTS_1D if len(axes) == 1 else POINTS_2D
    coords = tuple(np.linspace(*ranges[axis], size) for axis in axes)
    mesh = np.meshgrid(*coords)
    columns = {axis: values.ravel() for axis, values in zip(axes, mesh)}
    count = len(next(iter(columns.values())))
    fixed = {name: float(np.mean(ranges.get(name, (0.0, 0.0)))) for name in [*variables, *ranges] if name not in axes}
    columns.update({name: np.full(count, value) for name, value in fixed.items()})
    return Grid(axes, coords, columns, domain_mask(problem, columns), fixed)


def domain_mask(problem: Problem, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Points inside (sdf >= 0) at least one geometry that an interior subdomain samples (all, if none does)."""
    count = len(next(iter(columns.values())))
    shapes = {s.geometry.name: s.geometry for s in problem.subdomains.values() if s.kind == "interior"}
    if not shapes:
        return np.ones(count, dtype=bool)
    inside = np.zeros(count, dtype=bool)
    for shape in shapes.values():
        inside |= shape.sdf(columns, columns) >= -1e-9
    return inside


def residual_samples(
    problem: Problem, predict: Predict, interior: int = 1000, boundary: int = 200, seed: int = 0
) -> dict[str, tuple[dict[str, np.ndarray], np.ndarray]]:
    """Per constraint: points sampled from its subdomain and the absolute residual there."""
    ranges = value_ranges(problem)
    rng = np.random.default_rng(seed)
    by_subdomain: dict[str, list[str]] = {}
    for constraint in problem.constraints.values():
        by_subdomain.setdefault(constraint.subdomain.name, []).append(constraint.name)
    result: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}
    for name, constraints in by_subdomain.items():
        subdomain = problem.subdomains[name]
        count = interior if subdomain.kind == "interior" else boundary
        points = dict(sample_subdomain(
            subdomain.geometry, subdomain.kind, count, subdomain.params, subdomain.criteria, rng, name=name
        ))  # fmt: skip
        length = len(next(iter(points.values())))
        for variable in problem.variables:
            points.setdefault(variable, np.full(length, float(np.mean(ranges.get(variable, (0.0, 0.0))))))
        values = predict(points)
        for constraint in constraints:
            if f"residual_{constraint}" in values:
                result[constraint] = (points, np.abs(values[f"residual_{constraint}"]))
    return result
