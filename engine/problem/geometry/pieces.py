"""Boundaries made of smooth pieces, sampled in proportion to each piece's measure."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import Geometry, Values, columns, normal_columns, take, unit_samples


class Piece(NamedTuple):
    """One smooth part of a boundary.

    ``dim`` is its parametric dimension (0 point, 1 curve, 2 surface); ``measure(params, n)`` its per-point
    length/area (counting measure for points); ``place(u, params)`` maps unit-cube samples of shape (m, dim)
    to points (m, d) and outward unit normals (m, d).
    """

    dim: int
    measure: Callable[[Values, int], np.ndarray]
    place: Callable[[np.ndarray, Values], tuple[np.ndarray, np.ndarray]]


class PiecewiseBoundary(Geometry):
    """A geometry whose boundary is a list of pieces."""

    @abstractmethod
    def _pieces(self) -> list[Piece]:
        """The boundary pieces."""

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        """Pick a piece per point with probability proportional to its measure, then a point on it.

        The first unit coordinate both picks the piece and, rescaled, serves as the piece's first coordinate,
        which keeps quasi-random samples evenly spread.
        """
        pieces = self._pieces()
        u = unit_samples(n, max([1, *(piece.dim for piece in pieces)]), rng, sampler)
        sized = n if params else 1  # without parameters every point sees the same pieces: measure them once
        measures = np.broadcast_to(np.stack([piece.measure(params, sized) for piece in pieces], axis=1), (n, len(pieces)))
        total = measures.sum(axis=1)
        if np.any(total <= 0):
            raise ProblemError(f"{self.kind} has a boundary of zero size: check its arguments")
        upper = np.cumsum(measures, axis=1) / total[:, None]
        choice = np.minimum((u[:, :1] >= upper).sum(axis=1), len(pieces) - 1)
        rows = np.arange(n)
        width = measures[rows, choice] / total
        offset = u[:, 0] - (upper[rows, choice] - width)
        u[:, 0] = np.clip(np.divide(offset, width, out=np.zeros(n), where=width > 0), 0.0, np.nextafter(1.0, 0.0))
        points = np.empty((n, len(self.dims)))
        normals = np.empty((n, len(self.dims)))
        for j, piece in enumerate(pieces):
            index = np.flatnonzero(choice == j)
            points[index], normals[index] = piece.place(u[index, : piece.dim], take(params, index))
        out = columns(points, self.dims)
        out.update(normal_columns(normals))
        out["area"] = total / n
        return out
