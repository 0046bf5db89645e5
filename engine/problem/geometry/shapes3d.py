"""3D shapes: ``Box``, ``Sphere`` and the z-axis ``Cylinder``."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from engine.problem.geometry.base import Values, coords, evaluate_point, unit_samples
from engine.problem.geometry.nd import AxisBox, Ball, slab_sdf, unit_ball, unit_sphere
from engine.problem.geometry.pieces import Piece, PiecewiseBoundary

XYZ = ("x", "y", "z")


class Box(AxisBox):
    """The axis-aligned box with corners a = (x0, y0, z0) and b = (x1, y1, z1)."""

    def __init__(self, name: str, a: Any, b: Any) -> None:
        super().__init__(name, XYZ, a, b)


class Sphere(Ball):
    """The ball of ``radius`` around ``center``."""

    def __init__(self, name: str, center: Any, radius: Any) -> None:
        super().__init__(name, XYZ, center, radius)


class Cylinder(PiecewiseBoundary):
    """The solid cylinder with axis along z, centred at ``center`` (z from cz - height/2 to cz + height/2).

    Its boundary is the side and the two caps.
    """

    def __init__(self, name: str, center: Any, radius: Any, height: Any) -> None:
        super().__init__(name, XYZ)
        self.center = self._point("center", center)
        self.radius = self._scalar("radius", radius)
        self.height = self._scalar("height", height)

    def _shape(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-point center (n, 3), radius and half height."""
        center = evaluate_point(self.center, params, n)
        return center, self.radius.nonnegative(params, n), self.height.nonnegative(params, n) / 2

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        center, radius, half = self._shape(params, n)
        extent = np.stack([radius, radius, half], axis=1)
        return center - extent, center + extent

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        p = coords(points, self.dims)
        center, radius, half = self._shape(params, len(p))
        radial = radius - np.linalg.norm(p[:, :2] - center[:, :2], axis=1)
        axial = half - np.abs(p[:, 2] - center[:, 2])
        return slab_sdf(np.stack([radial, axial], axis=1))

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        center, radius, half = self._shape(params, n)
        u = unit_samples(n, 3, rng, sampler)
        disk = radius[:, None] * unit_ball(u[:, :2])
        points = center + np.column_stack([disk, half * (2 * u[:, 2] - 1)])
        return self._rows(points, np.pi * radius**2 * 2 * half, params)

    def _pieces(self) -> list[Piece]:
        return [Piece(2, self._side_measure, self._side_place)] + [
            Piece(2, self._cap_measure, partial(self._cap_place, side)) for side in (-1.0, 1.0)
        ]

    def _side_measure(self, params: Values, n: int) -> np.ndarray:
        _, radius, half = self._shape(params, n)
        return 2 * np.pi * radius * 2 * half

    def _side_place(self, u: np.ndarray, params: Values) -> tuple[np.ndarray, np.ndarray]:
        center, radius, half = self._shape(params, len(u))
        direction = unit_sphere(u[:, 1:])
        points = center + np.column_stack([radius[:, None] * direction, half * (2 * u[:, 0] - 1)])
        return points, np.column_stack([direction, np.zeros(len(u))])

    def _cap_measure(self, params: Values, n: int) -> np.ndarray:
        _, radius, _ = self._shape(params, n)
        return np.pi * radius**2

    def _cap_place(self, side: float, u: np.ndarray, params: Values) -> tuple[np.ndarray, np.ndarray]:
        center, radius, half = self._shape(params, len(u))
        points = center + np.column_stack([radius[:, None] * unit_ball(u), side * half])
        normals = np.zeros((len(u), 3))
        normals[:, 2] = side
        return points, normals
