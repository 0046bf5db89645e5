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

The R-equivalence is homogeneous of degree 1 where two pieces meet at an angle (a box's
corner: ``x + y - sqrt(x^2 + y^2)``), so its second derivatives grow as ``1 / r`` there and
``(u - g) / phi`` has a kink at every corner. The faces of a box and the edges of a convex
polygon also carry a *flat* distance, the signed distance to their line or plane (positive
inside the shape, linear, smooth); :func:`product_distance` joins such pieces by the
normalised product of their flat distances instead (for the unit square ``4 x (1 - x) y (1 - y)``),
smooth at the corners, where a smooth ``u - g`` that vanishes on both walls is divisible by it.

The distance functions use arithmetic only (``+ - * / ** abs``), so the same function
evaluates numpy arrays here and torch tensors with autograd in the compile layer.
CSG unions, differences and intersections keep the pieces of their operands that lie on
the composite boundary; a piece that runs through the composite's interior (an operand
of a union overlapping another) has no distance of this kind and is refused.
"""

from __future__ import annotations

import operator
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
    flat: Callable[[Columns], Any] | None = None
    """The signed distance to the piece's line or plane, positive inside ``convex`` (None: not a flat piece of one)."""
    convex: Geometry | None = None
    """The convex shape whose boundary the piece is part of, where ``flat`` > 0 inside."""

    def at(self, points: np.ndarray) -> np.ndarray:
        """The distance at (n, d) points, as a numpy array."""
        return np.asarray(self.distance({dim: points[:, i] for i, dim in enumerate(self.dims)}), dtype=float)


def r_equivalence(first: Any, second: Any) -> Any:
    """``phi_1 + phi_2 - sqrt(phi_1^2 + phi_2^2)``: zero where either is, positive where both are."""
    return first + second - (first * first + second * second) ** 0.5


def joined_distance(pieces: Sequence[BoundaryPiece], columns: Columns) -> Any:
    """The distance to the union of ``pieces`` (R-equivalence of theirs)."""
    return reduce(r_equivalence, [piece.distance(columns) for piece in pieces])


def product_distance(pieces: Sequence[BoundaryPiece]) -> Callable[[Columns], Any] | None:
    """The distance to the union of ``pieces`` smooth where they meet, or None where it does not apply.

    ``prod_i flat_i / s``, with ``s`` the largest slope of the product normal to a piece (the
    product of the other flat distances over its points), so the slope is at most 1 and 1 at the
    steepest point (the middle of a square's wall). It applies to two or more dimensions (in 1D
    pieces never meet) when every piece is flat and all lie on one convex shape, so each factor is
    positive inside and zero only on its piece's line or plane, which meets the shape on the piece alone.
    """
    if not pieces or len(pieces[0].dims) < 2 or any(piece.flat is None for piece in pieces):
        return None
    if any(piece.convex is not pieces[0].convex for piece in pieces):
        return None
    flats = [piece.flat for piece in pieces]
    slope = max(_others_product(flats, i, piece.points, piece.dims) for i, piece in enumerate(pieces))

    def distance(columns: Columns) -> Any:
        return reduce(operator.mul, [flat(columns) for flat in flats]) / slope

    return distance


def _others_product(flats: Sequence[Callable[[Columns], Any]], skip: int, points: np.ndarray, dims: Sequence[str]) -> float:
    """The largest product, over ``points``, of every flat distance but number ``skip`` (1 for none)."""
    columns = point_columns(points, dims)
    values = [np.asarray(flat(columns), dtype=float) for j, flat in enumerate(flats) if j != skip]
    return float(np.max(np.prod(values, axis=0))) if values else 1.0


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
        return _polygon_pieces(geometry)
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
        for value, inward in ((lo[axis], 1.0), (hi[axis], -1.0)):
            label = f"the face {geometry.dims[axis]} = {value:g} of {geometry.kind}"
            if d == 1:
                piece = _point_piece(label, geometry.dims, value)
            elif d == 2:
                other = 1 - axis
                start, end = np.empty(2), np.empty(2)
                start[axis] = end[axis] = value
                start[other], end[other] = lo[other], hi[other]
                piece = _segment_piece(label, start, end)
            else:
                piece = _plane_piece(label, geometry.dims, axis, value, lo, hi)
            pieces.append(replace(piece, flat=_axis_offset(geometry.dims[axis], value, inward), convex=geometry))
    return pieces


def _axis_offset(name: str, value: float, inward: float) -> Callable[[Columns], Any]:
    """``inward * (c[name] - value)``: the signed distance to the plane ``name = value``."""
    return lambda c: inward * (c[name] - value)


def _polygon_pieces(geometry: Polygon) -> list[BoundaryPiece]:
    """A polygon's edges; a convex polygon's also carry the signed distance to their line (positive inside)."""
    corners = [_fixed(vertex) for vertex in geometry.vertices]
    ends = [(corners[i], corners[(i + 1) % len(corners)]) for i in range(len(corners))]
    pieces = [_segment_piece(f"edge {i + 1} of {geometry.kind}", a, b) for i, (a, b) in enumerate(ends)]
    turns = [_cross(b - a, c - b) for (a, b), (_, c) in zip(ends, ends[1:] + ends[:1])]
    if not (all(t > 0 for t in turns) or all(t < 0 for t in turns)):
        return pieces
    side = 1.0 if turns[0] > 0 else -1.0  # counter-clockwise: the inside is left of each edge
    return [replace(piece, flat=_line_offset(a, b, side), convex=geometry) for piece, (a, b) in zip(pieces, ends)]


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    """The z component of u x v for 2D vectors (> 0: v turns left of u)."""
    return float(u[0] * v[1] - u[1] * v[0])


def _line_offset(a: np.ndarray, b: np.ndarray, side: float) -> Callable[[Columns], Any]:
    """The signed distance to the line through a and b, positive on its left times ``side``."""
    (ax, ay), (bx, by) = (float(v) for v in a), (float(v) for v in b)
    scale = side / float(np.hypot(bx - ax, by - ay))
    return lambda c: scale * ((bx - ax) * (c["y"] - ay) - (by - ay) * (c["x"] - ax))


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
                kept.append(replace(piece, points=piece.points[on], flat=None, convex=None))  # a composite: no product
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


