"""Constructive solid geometry: union, difference and intersection of two geometries of the same dimension."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import NORMALS, Geometry, Values, columns, take, unit_samples
from engine.problem.geometry.rejection import rejection_sample, shares


class Boolean(Geometry):
    """A combination of ``g`` and ``og``, sampled by rejection from its operands.

    Subclasses define the sdf combination, the candidate region of the interior, and which operand boundary
    points lie on the composite boundary: a point of g's boundary is kept when ``keep[0] * sdf_og > 0``, one of
    og's when ``keep[1] * sdf_g > 0``; og's normals are multiplied by ``og_normal``.
    """

    keep: tuple[float, float]
    og_normal: float = 1.0

    def __init__(self, name: str, g: Geometry, og: Geometry) -> None:
        super().__init__(name, getattr(g, "dims", ()))
        for label, operand in (("g", g), ("og", og)):
            if not isinstance(operand, Geometry):
                raise ProblemError(f"{self.kind}: {label} must be a geometry, got {operand!r}")
            if not operand.has_interior:
                raise ProblemError(f"{self.kind}: {operand.kind} has no interior and cannot be combined")
        if g.dims != og.dims:
            raise ProblemError(
                f"{self.kind} combines {g.kind} ({', '.join(g.dims)}) with {og.kind} ({', '.join(og.dims)}): "
                "combine geometries of the same dimension"
            )
        self.g, self.og = g, og
        self._args.update(g=g.name, og=og.name)
        self._parameters |= g.parameters() | og.parameters()

    @abstractmethod
    def _combine(self, g_sdf: np.ndarray, og_sdf: np.ndarray) -> np.ndarray:
        """The composite sdf from the operands' sdfs."""

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        return self._combine(self.g.sdf(points, params), self.og.sdf(points, params))

    def _candidates(
        self, m: int, rng: np.random.Generator, sampler: str, params: Values
    ) -> tuple[Values, np.ndarray]:
        """m candidate interior points (one per row of ``params``) and the measure of the region they come from.

        By default g's interior, which contains an intersection or a difference.
        """
        rows = self.g.sample_interior(m, rng, sampler, params)
        return {dim: rows[dim] for dim in self.dims}, rows["area"] * m

    def _fail(self, where: str, n: int) -> Callable[[int, int], ProblemError]:
        def fail(accepted: int, drawn: int) -> ProblemError:
            return ProblemError(
                f"{self.kind} has (almost) no {where}: only {accepted} of {n} points were found in {drawn} tries; "
                f"check that {self.g.kind} and {self.og.kind} overlap as intended for every parameter value"
            )

        return fail

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        def draw(slots: np.ndarray) -> tuple[Values, np.ndarray, np.ndarray]:
            sub = take(params, slots)
            rows, measure = self._candidates(len(slots), rng, sampler, sub)
            rows["sdf"] = self.sdf(rows, sub)
            return rows, rows["sdf"] > 0, measure

        rows, measure, total = rejection_sample(n, draw, self._fail("interior", n))
        rows["area"] = shares(total, measure)
        return rows

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        def draw(slots: np.ndarray) -> tuple[Values, np.ndarray, np.ndarray]:
            m = len(slots)
            sub = take(params, slots)
            g_rows = self.g.sample_boundary(m, rng, sampler, sub)
            og_rows = self.og.sample_boundary(m, rng, sampler, sub)
            g_measure, og_measure = g_rows["area"] * m, og_rows["area"] * m
            from_g = rng.random(m) * (g_measure + og_measure) < g_measure
            rows = {key: np.where(from_g, g_rows[key], og_rows[key]) for key in (*self.dims, *NORMALS)}
            for key in NORMALS:
                rows[key][~from_g] *= self.og_normal
            other = np.empty(m)
            other[from_g] = self.og.sdf(take(rows, from_g), take(sub, from_g))
            other[~from_g] = self.g.sdf(take(rows, ~from_g), take(sub, ~from_g))
            return rows, np.where(from_g, self.keep[0], self.keep[1]) * other > 0, g_measure + og_measure

        rows, measure, total = rejection_sample(n, draw, self._fail("boundary", n))
        rows["area"] = shares(total, measure)
        return rows


class GeometryUnion(Boolean):
    """Points in g or og (sdf = max)."""

    keep = (-1.0, -1.0)

    def _combine(self, g_sdf: np.ndarray, og_sdf: np.ndarray) -> np.ndarray:
        return np.maximum(g_sdf, og_sdf)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        (g_lo, g_hi), (og_lo, og_hi) = self.g.bounds(params, n), self.og.bounds(params, n)
        return np.minimum(g_lo, og_lo), np.maximum(g_hi, og_hi)

    def _candidates(
        self, m: int, rng: np.random.Generator, sampler: str, params: Values
    ) -> tuple[Values, np.ndarray]:
        """Uniform points of the union of the operands' bounding boxes."""
        lo, hi = self._box(params, m)
        points = lo + unit_samples(m, len(self.dims), rng, sampler) * (hi - lo)
        return columns(points, self.dims), np.prod(hi - lo, axis=1)


class GeometryDifference(Boolean):
    """Points in g and not in og (sdf = min(sdf_g, -sdf_og)); og's boundary inside g bounds the hole."""

    keep = (-1.0, 1.0)
    og_normal = -1.0

    def _combine(self, g_sdf: np.ndarray, og_sdf: np.ndarray) -> np.ndarray:
        return np.minimum(g_sdf, -og_sdf)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.g.bounds(params, n)


class GeometryIntersection(Boolean):
    """Points in both g and og (sdf = min)."""

    keep = (1.0, 1.0)

    def _combine(self, g_sdf: np.ndarray, og_sdf: np.ndarray) -> np.ndarray:
        return np.minimum(g_sdf, og_sdf)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        (g_lo, g_hi), (og_lo, og_hi) = self.g.bounds(params, n), self.og.bounds(params, n)
        return np.maximum(g_lo, og_lo), np.minimum(g_hi, og_hi)
