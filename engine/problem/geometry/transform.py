"""Rotation of a 2D geometry about z, or of a 3D geometry about x, y or z, through a center point."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import NORMALS, Geometry, Values, columns, coords, evaluate_point, normal_columns

PLANES = {"z": (0, 1), "x": (1, 2), "y": (2, 0)}
"""The coordinate indices (i, j) turned by a positive rotation about each axis (right-handed: i -> j)."""


class Rotated(Geometry):
    """``geometry`` rotated by ``angle`` (radians, may depend on parameters) about ``axis`` through ``center``."""

    def __init__(self, geometry: Geometry, angle: Any, axis: str = "z", center: Any = None) -> None:
        super().__init__(geometry.name, geometry.dims)
        self.inner = geometry
        d = len(self.dims)
        if d == 1:
            raise ProblemError(f"{geometry.kind} is 1D and cannot be rotated")
        if axis not in PLANES or (d == 2 and axis != "z"):
            allowed = "z" if d == 2 else "x, y or z"
            raise ProblemError(
                f"{geometry.kind}: cannot rotate about axis {axis!r}; a {d}D geometry rotates about {allowed}"
            )
        self.axis = axis
        self.angle = self._scalar("angle", angle)
        self.center = self._point("center", (0,) * d if center is None else center)
        self._args["axis"] = axis
        self._parameters |= geometry.parameters()

    @property
    def kind(self) -> str:
        return f"rotated {self.inner.kind}"

    @property
    def has_interior(self) -> bool:
        return self.inner.has_interior

    def describe(self) -> dict[str, Any]:
        info = self.inner.describe()
        info["rotate"] = dict(self._args)
        info["params"] = sorted(str(symbol) for symbol in self._parameters)
        return info

    def _turn(self, vectors: np.ndarray, params: Values, inverse: bool = False) -> np.ndarray:
        """Rotate (n, k) vectors (k = 2 or 3) by the per-point angle, or by minus it when ``inverse``."""
        angle = self.angle(params, len(vectors)) * (-1.0 if inverse else 1.0)
        cos, sin = np.cos(angle), np.sin(angle)
        i, j = PLANES[self.axis]
        turned = vectors.copy()
        turned[:, i] = cos * vectors[:, i] - sin * vectors[:, j]
        turned[:, j] = sin * vectors[:, i] + cos * vectors[:, j]
        return turned

    def _move(self, points: np.ndarray, params: Values, inverse: bool = False) -> np.ndarray:
        """Rotate (n, d) points about the center."""
        center = evaluate_point(self.center, params, len(points))
        return center + self._turn(points - center, params, inverse)

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        local = self._move(coords(points, self.dims), params, inverse=True)
        return self.inner.sdf(columns(local, self.dims), params)

    def _place(self, rows: Values, params: Values) -> Values:
        rows.update(columns(self._move(coords(rows, self.dims), params), self.dims))
        return rows

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        return self._place(self.inner.sample_interior(n, rng, sampler, params), params)

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        rows = self._place(self.inner.sample_boundary(n, rng, sampler, params), params)
        rows.update(normal_columns(self._turn(coords(rows, NORMALS), params)))
        return rows

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.inner.bounds(params, n)
        corners = [
            self._move(np.where(np.array(pick), hi, lo), params)
            for pick in itertools.product((False, True), repeat=len(self.dims))
        ]
        return np.min(corners, axis=0), np.max(corners, axis=0)


def rotate(geometry: Geometry, angle: Any, axis: str = "z", center: Any = None) -> Geometry:
    """``geometry`` rotated by ``angle`` radians about ``axis`` (2D: z; 3D: x, y or z) through ``center``."""
    if not isinstance(geometry, Geometry):
        raise ProblemError(f"rotate needs a geometry, got {geometry!r}")
    return Rotated(geometry, angle, axis, center)
