"""MTC's ``compute_sdf_derivatives=True``: interior points also carry ``sdf__x``, ``sdf__y`` (, ``sdf__z``)."""

from __future__ import annotations

import numpy as np

from engine.problem.geometry.base import Geometry, Values

_STEP = 1e-6  # central differences with this step, relative to the geometry's extent


class WithSdfDerivatives(Geometry):
    """``inner`` whose interior samples add the gradient of the sdf (central differences)."""

    def __init__(self, inner: Geometry) -> None:
        super().__init__(inner.name, inner.dims)
        self.inner = inner
        self._args = dict(inner.describe()["args"])
        self._parameters = inner.parameters()

    @property
    def kind(self) -> str:
        return self.inner.kind

    @property
    def has_interior(self) -> bool:
        return self.inner.has_interior

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return tuple(f"sdf__{d}" for d in self.dims)

    def describe(self) -> dict:
        return self.inner.describe()

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.inner.bounds(params, n)

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        return self.inner.sdf(points, params)

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        return self.inner.sample_boundary(n, rng, sampler, params)

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        rows = self.inner.sample_interior(n, rng, sampler, params)
        lo, hi = self.inner.bounds(params, n)
        step = _STEP * np.maximum(np.max(hi - lo, axis=1), 1.0)
        for dim in self.dims:
            ahead = {**rows, dim: rows[dim] + step}
            behind = {**rows, dim: rows[dim] - step}
            rows[f"sdf__{dim}"] = (self.inner.sdf(ahead, params) - self.inner.sdf(behind, params)) / (2 * step)
        return rows
