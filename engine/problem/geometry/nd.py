"""Dimension-generic primitives: axis-aligned boxes (interval, rectangle, box) and balls (circle, sphere)."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from engine.problem.geometry.base import Values, constant_point, coords, evaluate_point, unit_samples
from engine.problem.geometry.pieces import Piece, PiecewiseBoundary


def slab_sdf(inner: np.ndarray) -> np.ndarray:
    """Signed distance to the intersection of slabs, from the (n, k) signed distances to each slab's walls."""
    inside = np.all(inner >= 0, axis=1)
    return np.where(inside, inner.min(axis=1), -np.linalg.norm(np.minimum(inner, 0.0), axis=1))


def unit_sphere(u: np.ndarray) -> np.ndarray:
    """Map (m, d-1) unit-cube samples to area-uniform directions on the unit circle (d=2) or sphere (d=3)."""
    angle = 2 * np.pi * u[:, -1]
    if u.shape[1] == 1:
        return np.stack([np.cos(angle), np.sin(angle)], axis=1)
    z = 1 - 2 * u[:, 0]
    r = np.sqrt(np.maximum(0.0, 1 - z**2))
    return np.stack([r * np.cos(angle), r * np.sin(angle), z], axis=1)


def unit_ball(u: np.ndarray) -> np.ndarray:
    """Map (m, d) unit-cube samples to volume-uniform points of the unit disk (d=2) or ball (d=3)."""
    d = u.shape[1]
    return unit_sphere(u[:, 1:]) * u[:, :1] ** (1 / d)


def ball_volume(d: int) -> float:
    """Volume of the unit ball in ``d`` dimensions."""
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1)


class AxisBox(PiecewiseBoundary):
    """The axis-aligned box between corners ``a`` and ``b`` (in any order); its walls are on ``wall_axes``."""

    wall_axes: tuple[int, ...] | None = None
    """Axes whose two walls form the boundary and define the sdf; None means every axis."""

    def __init__(self, name: str, dims: tuple[str, ...], a: Any, b: Any) -> None:
        super().__init__(name, dims)
        self.a = self._point("a", a)
        self.b = self._point("b", b)
        corners = constant_point(self.a), constant_point(self.b)
        self._fixed = None if corners[0] is None or corners[1] is None else (np.minimum(*corners), np.maximum(*corners))

    @property
    def _walls(self) -> tuple[int, ...]:
        return tuple(range(len(self.dims))) if self.wall_axes is None else self.wall_axes

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._fixed is not None:  # corners that depend on no parameter: computed once
            lo, hi = self._fixed
            return np.broadcast_to(lo, (n, len(lo))), np.broadcast_to(hi, (n, len(hi)))
        a = evaluate_point(self.a, params, n)
        b = evaluate_point(self.b, params, n)
        return np.minimum(a, b), np.maximum(a, b)

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        p = coords(points, self.dims)
        lo, hi = self._box(params, len(p))
        return slab_sdf(np.minimum(p - lo, hi - p)[:, list(self._walls)])

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        lo, hi = self._box(params, n)
        u = unit_samples(n, len(self.dims), rng, sampler)
        return self._rows(lo + u * (hi - lo), np.prod(hi - lo, axis=1), params)

    def _pieces(self) -> list[Piece]:
        return [
            Piece(len(self.dims) - 1, partial(self._face_measure, axis), partial(self._face_place, axis, side))
            for axis in self._walls
            for side in (-1.0, 1.0)
        ]

    def _face_measure(self, axis: int, params: Values, n: int) -> np.ndarray:
        lo, hi = self._box(params, n)
        return np.prod(np.delete(hi - lo, axis, axis=1), axis=1)

    def _face_place(self, axis: int, side: float, u: np.ndarray, params: Values) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._box(params, len(u))
        free = [i for i in range(len(self.dims)) if i != axis]
        points = np.empty_like(lo)
        points[:, free] = lo[:, free] + u * (hi - lo)[:, free]
        points[:, axis] = (hi if side > 0 else lo)[:, axis]
        normals = np.zeros_like(lo)
        normals[:, axis] = side
        return points, normals


class Ball(PiecewiseBoundary):
    """The disk or ball of ``radius`` around ``center``."""

    def __init__(self, name: str, dims: tuple[str, ...], center: Any, radius: Any) -> None:
        super().__init__(name, dims)
        self.center = self._point("center", center)
        self.radius = self._scalar("radius", radius)

    def _shape(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        return evaluate_point(self.center, params, n), self.radius.nonnegative(params, n)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        center, radius = self._shape(params, n)
        return center - radius[:, None], center + radius[:, None]

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        p = coords(points, self.dims)
        center, radius = self._shape(params, len(p))
        return radius - np.linalg.norm(p - center, axis=1)

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        d = len(self.dims)
        center, radius = self._shape(params, n)
        points = center + radius[:, None] * unit_ball(unit_samples(n, d, rng, sampler))
        return self._rows(points, ball_volume(d) * radius**d, params)

    def _pieces(self) -> list[Piece]:
        return [Piece(len(self.dims) - 1, self._surface_measure, self._surface_place)]

    def _surface_measure(self, params: Values, n: int) -> np.ndarray:
        d = len(self.dims)
        return d * ball_volume(d) * self.radius.nonnegative(params, n) ** (d - 1)

    def _surface_place(self, u: np.ndarray, params: Values) -> tuple[np.ndarray, np.ndarray]:
        center, radius = self._shape(params, len(u))
        direction = unit_sphere(u)
        return center + radius[:, None] * direction, direction
