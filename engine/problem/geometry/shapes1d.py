"""1D shapes: the interval ``Line1D`` and the boundary-only ``Point1D``."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.problem.geometry.base import BoundaryOnly, Values, coords, evaluate_point
from engine.problem.geometry.nd import AxisBox
from engine.problem.geometry.pieces import Piece, PiecewiseBoundary

X = ("x",)


class Line1D(AxisBox):
    """The interval [a, b]; its boundary is the two end points (normals -1 at a, +1 at b)."""

    def __init__(self, name: str, a: Any, b: Any) -> None:
        super().__init__(name, X, a, b)


class Point1D(BoundaryOnly, PiecewiseBoundary):
    """The single point x = a, a boundary with normal +1 (sdf a - x)."""

    def __init__(self, name: str, a: Any) -> None:
        super().__init__(name, X)
        self.a = self._point("a", a)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        a = evaluate_point(self.a, params, n)
        return a, a

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        p = coords(points, self.dims)
        return (evaluate_point(self.a, params, len(p)) - p)[:, 0]

    def _pieces(self) -> list[Piece]:
        return [Piece(0, lambda params, n: np.ones(n), self._place)]

    def _place(self, u: np.ndarray, params: Values) -> tuple[np.ndarray, np.ndarray]:
        return evaluate_point(self.a, params, len(u)), np.ones((len(u), 1))
