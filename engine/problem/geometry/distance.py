"""Approximate distance functions of boundaries, for boundary values imposed exactly.

Sukumar & Srivastava (CMAME 2022, "Exact imposition of boundary conditions with distance
functions in physics-informed deep neural networks"): a boundary is split into smooth
pieces, each with a closed-form distance ``phi_i`` that is zero exactly on the piece and
positive off it, and the pieces are joined by the R-equivalence
``phi_1 ^ phi_2 = phi_1 + phi_2 - sqrt(phi_1^2 + phi_2^2)`` (zero where either is zero,
smooth elsewhere). Pieces:

* a point of a 1D domain: ``|x - a|`` (exact);
* a segment (a 2D box's face, a ``Line2D``, a polygon's edge): the trimmed line distance
  ``sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2)``, ``f`` the signed distance to the line and
  ``t`` the disk through the segment's ends, which vanishes on the segment only;
* a face of a 3D box: the distance to its plane (exact for boxes; checked for CSG);
* a circle or sphere: ``|R^2 - |p - c|^2| / (2 R)`` (smooth, slope 1 at the boundary).

The distance functions use arithmetic only (``+ - * / ** abs``), so the same function
evaluates numpy arrays here and torch tensors with autograd in the compile layer.
CSG unions, differences and intersections keep the pieces of their operands that lie on
the composite boundary; a piece that runs through the composite's interior (an operand
of a union overlapping another) has no distance of this kind and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

import numpy as np

from engine.problem.geometry.base import Geometry, constant_point
from engine.problem.geometry.csg import Boolean
from engine.problem.geometry.nd import AxisBox, Ball, unit_sphere
from engine.problem.geometry.shapes1d import Point1D
from engine.problem.geometry.shapes2d import Line2D, Polygon

Columns = Mapping[str, Any]
"""Coordinate name -> a numpy array or a torch tensor of shape (n,)."""

PIECE_POINTS = 64
"""Points spread over each piece (per parametric direction) to check where it lies."""


class NoDistance(Exception):
    """A boundary (or part of one) without a closed-form distance function; the message says why."""


@dataclass(frozen=True)
class BoundaryPiece:
    """One smooth piece of a boundary: its distance and points spread over it.

    ``distance(columns)`` is >= 0 and zero exactly on the piece; ``points`` (m, d) lie on the
    piece (on the composite boundary, for a piece of a CSG operand); ``rim`` (k, d) are where
    it ends (segment ends, a face's edges; none for a circle), where another piece can meet it.
    """

    label: str
    dims: tuple[str, ...]
    distance: Callable[[Columns], Any]
    points: np.ndarray
    rim: np.ndarray

    def at(self, points: np.ndarray) -> np.ndarray:
        """The distance at (n, d) points, as a numpy array."""
        return np.asarray(self.distance({dim: points[:, i] for i, dim in enumerate(self.dims)}), dtype=float)


def r_equivalence(first: Any, second: Any) -> Any:
    """``phi_1 + phi_2 - sqrt(phi_1^2 + phi_2^2)``: zero where either is, positive where both are."""
    return first + second - (first * first + second * second) ** 0.5


def joined_distance(pieces: Sequence[BoundaryPiece], columns: Columns) -> Any:
    """The distance to the union of ``pieces`` (R-equivalence of theirs)."""
    return reduce(r_equivalence, [piece.distance(columns) for piece in pieces])


def boundary_pieces(geometry: Geometry) -> list[BoundaryPiece]:
    """The pieces of ``geometry``'s boundary, each with a closed-form distance; NoDistance says why not."""
    if isinstance(geometry, Boolean):
        return _composite_pieces(geometry)
    if geometry.parameters():
        raise NoDistance(f"{geometry.kind} changes with parameters ({', '.join(sorted(map(str, geometry.parameters())))})")
    if isinstance(geometry, Point1D):
        (a,) = _fixed(geometry.a)
        return [_point_piece(f"the point {geometry.dims[0]} = {a:g} ({geometry.kind})", geometry.dims, a)]
    if isinstance(geometry, AxisBox):
        return _box_pieces(geometry)
    if isinstance(geometry, Ball):
        return [_ball_piece(geometry)]
    if isinstance(geometry, Line2D):
        return [_segment_piece(f"{geometry.kind}", _fixed(geometry.a), _fixed(geometry.b))]
    if isinstance(geometry, Polygon):
        corners = [_fixed(vertex) for vertex in geometry.vertices]
        return [
            _segment_piece(f"edge {i + 1} of {geometry.kind}", corners[i], corners[(i + 1) % len(corners)])
            for i in range(len(corners))
        ]
    raise NoDistance(f"{geometry.kind} has no closed-form distance function in mtc")


def _fixed(point: tuple[Any, ...]) -> np.ndarray:
    value = constant_point(point)
    assert value is not None  # geometries with parameters are refused before
    return value


def _box_pieces(geometry: AxisBox) -> list[BoundaryPiece]:
    lo, hi = (array[0] for array in geometry.bounds({}, 1))
    d = len(geometry.dims)
    pieces = []
    for axis in geometry._walls:
        for value in (lo[axis], hi[axis]):
            label = f"the face {geometry.dims[axis]} = {value:g} of {geometry.kind}"
            if d == 1:
                pieces.append(_point_piece(label, geometry.dims, value))
            elif d == 2:
                other = 1 - axis
                start, end = np.empty(2), np.empty(2)
                start[axis] = end[axis] = value
                start[other], end[other] = lo[other], hi[other]
                pieces.append(_segment_piece(label, start, end))
            else:
                pieces.append(_plane_piece(label, geometry.dims, axis, value, lo, hi))
    return pieces


def _point_piece(label: str, dims: tuple[str, ...], a: float) -> BoundaryPiece:
    """The point x = a of a 1D domain: ``|x - a|``."""
    (x,) = dims
    here = np.array([[a]])
    return BoundaryPiece(label, dims, lambda c: abs(c[x] - a), here, here)


def _segment_piece(label: str, a: np.ndarray, b: np.ndarray) -> BoundaryPiece:
    """The trimmed distance to the segment [a, b] in the (x, y) plane."""
    (ax, ay), (bx, by) = (float(v) for v in a), (float(v) for v in b)
    length = float(np.hypot(bx - ax, by - ay))
    if length == 0:
        raise NoDistance(f"{label} has zero length")
    mx, my = (ax + bx) / 2, (ay + by) / 2

    def distance(c: Columns) -> Any:
        x, y = c["x"], c["y"]
        f = ((x - ax) * (by - ay) - (y - ay) * (bx - ax)) / length
        t = ((length / 2) ** 2 - (x - mx) ** 2 - (y - my) ** 2) / length
        psi = (t * t + f**4) ** 0.5
        return (f * f + ((psi - t) / 2) ** 2) ** 0.5

    s = _inner(PIECE_POINTS)[:, None]
    return BoundaryPiece(label, ("x", "y"), distance, a + s * (b - a), np.stack([a, b]))


def _plane_piece(label: str, dims: tuple[str, ...], axis: int, value: float, lo: np.ndarray, hi: np.ndarray) -> BoundaryPiece:
    """A face of a 3D box: the distance to its plane; its rim is points along its four edges."""
    name = dims[axis]
    free = [i for i in range(3) if i != axis]
    s = np.concatenate([[0.0], _inner(16), [1.0]])
    u, v = (g.reshape(-1) for g in np.meshgrid(s, s, indexing="ij"))
    on_rim = (u == 0) | (u == 1) | (v == 0) | (v == 1)
    points = np.empty((len(u), 3))
    points[:, axis] = value
    points[:, free[0]] = lo[free[0]] + u * (hi[free[0]] - lo[free[0]])
    points[:, free[1]] = lo[free[1]] + v * (hi[free[1]] - lo[free[1]])
    return BoundaryPiece(label, dims, lambda c: abs(c[name] - value), points[~on_rim], points[on_rim])


def _inner(n: int) -> np.ndarray:
    """n points strictly inside [0, 1] (a piece's ends are its rim, where criteria like x > 0 cut)."""
    return (np.arange(n) + 0.5) / n


def _ball_piece(geometry: Ball) -> BoundaryPiece:
    center = _fixed(geometry.center)
    radius = float(geometry.radius.constant)  # type: ignore[arg-type]
    if radius <= 0:
        raise NoDistance(f"{geometry.kind} has radius {radius:g}")
    dims = geometry.dims

    def distance(c: Columns) -> Any:
        squared = sum((c[dim] - center[i]) ** 2 for i, dim in enumerate(dims))
        return abs(radius * radius - squared) / (2 * radius)

    d = len(dims)
    count = PIECE_POINTS ** (d - 1)
    s = _inner(count)
    u = s[:, None] if d == 2 else np.stack([s, (np.arange(count) * 0.6180339887498949) % 1.0], axis=1)  # a Fibonacci lattice
    return BoundaryPiece(f"the boundary of {geometry.kind}", dims, distance, center + radius * unit_sphere(u), np.empty((0, d)))


def _composite_pieces(geometry: Boolean) -> list[BoundaryPiece]:
    """The operands' pieces that lie on the composite boundary (only those points kept)."""
    tolerance = 1e-9 * extent(geometry)
    kept = []
    for side, (own, other) in enumerate(((geometry.g, geometry.og), (geometry.og, geometry.g))):
        for piece in boundary_pieces(own):
            values = {dim: piece.points[:, i] for i, dim in enumerate(geometry.dims)}
            if np.any(geometry.sdf(values, {}) > tolerance):
                raise NoDistance(
                    f"{piece.label} runs through the interior of {geometry.kind}, so a distance to it would "
                    f"vanish inside the domain"
                )
            on = geometry.keep[side] * other.sdf(values, {}) > 0
            if np.any(on):
                kept.append(replace(piece, points=piece.points[on]))
    return kept


def extent(geometry: Geometry) -> float:
    """The largest side of the bounding box of a geometry without parameters (1 for a point)."""
    lo, hi = geometry.bounds({}, 1)
    return float(np.max(hi - lo)) or 1.0


def piece_points(pieces: Sequence[BoundaryPiece]) -> np.ndarray:
    """All the points spread over ``pieces``, stacked (n, d)."""
    return np.concatenate([piece.points for piece in pieces])


def point_columns(points: np.ndarray, dims: Sequence[str]) -> dict[str, np.ndarray]:
    """(n, d) points as one column per dimension."""
    return {dim: np.ascontiguousarray(points[:, i]) for i, dim in enumerate(dims)}


