"""2D shapes: ``Rectangle``, ``Channel2D``, ``Circle``, ``Polygon`` and the boundary-only segment ``Line2D``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import (
    BoundaryOnly,
    Values,
    columns,
    coords,
    evaluate_point,
    point_text,
    take,
    unit_samples,
)
from engine.problem.geometry.nd import AxisBox, Ball
from engine.problem.geometry.pieces import Piece, PiecewiseBoundary
from engine.problem.geometry.rejection import rejection_sample

XY = ("x", "y")

Ends = Callable[[Values, int], tuple[np.ndarray, np.ndarray]]
"""params, n -> the two (n, 2) end points of a segment."""


class Rectangle(AxisBox):
    """The axis-aligned rectangle with corners a = (x0, y0) and b = (x1, y1)."""

    def __init__(self, name: str, a: Any, b: Any) -> None:
        super().__init__(name, XY, a, b)


class Channel2D(Rectangle):
    """A rectangle whose boundary is only its two horizontal walls y = a_y and y = b_y (sdf: distance to them)."""

    wall_axes = (1,)


class Circle(Ball):
    """The disk of ``radius`` around ``center``."""

    def __init__(self, name: str, center: Any, radius: Any) -> None:
        super().__init__(name, XY, center, radius)


def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance from points p to the segments [a, b], all of shape (n, 2)."""
    ab = b - a
    length2 = np.sum(ab**2, axis=1)
    t = np.divide(np.sum((p - a) * ab, axis=1), length2, out=np.zeros(len(p)), where=length2 > 0)
    return np.linalg.norm(p - a - np.clip(t, 0.0, 1.0)[:, None] * ab, axis=1)


def right_normal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unit normals of the segments a -> b: the tangent rotated by -90 degrees."""
    ab = b - a
    length = np.linalg.norm(ab, axis=1, keepdims=True)
    return np.divide(np.stack([ab[:, 1], -ab[:, 0]], axis=1), length, out=np.zeros_like(ab), where=length > 0)


def segment_piece(ends: Ends, orientation: Callable[[Values, int], np.ndarray]) -> Piece:
    """A straight boundary piece whose normal is the right normal times ``orientation`` (+1 or -1 per point)."""

    def measure(params: Values, n: int) -> np.ndarray:
        a, b = ends(params, n)
        return np.linalg.norm(b - a, axis=1)

    def place(u: np.ndarray, params: Values) -> tuple[np.ndarray, np.ndarray]:
        a, b = ends(params, len(u))
        return a + u[:, :1] * (b - a), right_normal(a, b) * orientation(params, len(u))[:, None]

    return Piece(1, measure, place)


class Line2D(BoundaryOnly, PiecewiseBoundary):
    """The segment from a to b, a boundary whose normal is the tangent rotated by -90 degrees.

    sdf: distance to the segment, negative on the normal's side (and beyond the ends on the line).
    """

    def __init__(self, name: str, a: Any, b: Any) -> None:
        super().__init__(name, XY)
        self.a = self._point("a", a)
        self.b = self._point("b", b)

    def _ends(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        return evaluate_point(self.a, params, n), evaluate_point(self.b, params, n)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self._ends(params, n)
        return np.minimum(a, b), np.maximum(a, b)

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        p = coords(points, self.dims)
        a, b = self._ends(params, len(p))
        behind = np.sum((p - a) * right_normal(a, b), axis=1) < 0
        return np.where(behind, 1.0, -1.0) * segment_distance(p, a, b)

    def _pieces(self) -> list[Piece]:
        return [segment_piece(self._ends, lambda params, n: np.ones(n))]


class Polygon(PiecewiseBoundary):
    """The simple polygon through ``points`` (either orientation); sdf = +/- distance to the nearest edge."""

    def __init__(self, name: str, points: Any) -> None:
        super().__init__(name, XY)
        if not isinstance(points, (list, tuple)) or len(points) < 3:
            raise ProblemError(f"{self.kind}: points must be a list of at least 3 (x, y) vertices, got {points!r}")
        self.vertices = [self._coords(f"points[{i}]", point) for i, point in enumerate(points)]
        self._args["points"] = "[" + ", ".join(point_text(vertex) for vertex in self.vertices) + "]"

    def _corners(self, params: Values, n: int) -> np.ndarray:
        """The vertices for n points: shape (n, V, 2)."""
        return np.stack([evaluate_point(vertex, params, n) for vertex in self.vertices], axis=1)

    def _signed_area(self, params: Values, n: int) -> np.ndarray:
        v = self._corners(params, n)
        w = np.roll(v, -1, axis=1)
        return 0.5 * np.sum(v[..., 0] * w[..., 1] - w[..., 0] * v[..., 1], axis=1)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        v = self._corners(params, n)
        return v.min(axis=1), v.max(axis=1)

    @staticmethod
    def _inside(p: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Even-odd point-in-polygon test of points p (n, 2) against per-point vertices v (n, V, 2)."""
        inside = np.zeros(len(p), dtype=bool)
        w = np.roll(v, -1, axis=1)
        for i in range(v.shape[1]):
            (x0, y0), (x1, y1) = v[:, i].T, w[:, i].T
            crosses = (y0 > p[:, 1]) != (y1 > p[:, 1])
            dy = np.where(crosses, y1 - y0, 1.0)
            inside ^= crosses & (p[:, 0] < x0 + (p[:, 1] - y0) * (x1 - x0) / dy)
        return inside

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        p = coords(points, self.dims)
        v = self._corners(params, len(p))
        w = np.roll(v, -1, axis=1)
        distance = np.min([segment_distance(p, v[:, i], w[:, i]) for i in range(v.shape[1])], axis=0)
        return np.where(self._inside(p, v), distance, -distance)

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        def draw(slots: np.ndarray) -> tuple[Values, np.ndarray, np.ndarray]:
            sub = take(params, slots)
            lo, hi = self._box(sub, len(slots))
            p = lo + unit_samples(len(slots), 2, rng, sampler) * (hi - lo)
            return columns(p, self.dims), self._inside(p, self._corners(sub, len(slots))), np.prod(hi - lo, axis=1)

        def fail(accepted: int, drawn: int) -> ProblemError:
            return ProblemError(
                f"{self.kind} has (almost) no interior: only {accepted} of {n} points fell inside it "
                f"out of {drawn} tries; check that its vertices are not collinear"
            )

        rows, _, _ = rejection_sample(n, draw, fail)
        return self._rows(coords(rows, self.dims), np.abs(self._signed_area(params, n)), params)

    def _edge(self, i: int) -> Ends:
        start, end = self.vertices[i], self.vertices[(i + 1) % len(self.vertices)]
        return lambda params, n: (evaluate_point(start, params, n), evaluate_point(end, params, n))

    def _pieces(self) -> list[Piece]:
        def orientation(params: Values, n: int) -> np.ndarray:
            return np.where(self._signed_area(params, n) < 0, -1.0, 1.0)

        return [segment_piece(self._edge(i), orientation) for i in range(len(self.vertices))]
