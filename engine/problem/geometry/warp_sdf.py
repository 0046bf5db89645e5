"""``GeometryCustomWarp``: a shape given by a signed distance function written in NVIDIA Warp (MTC's).

MTC's ``p.GeometryCustomWarp(name, code_str, func, param_list, params=None)``: ``code_str`` holds
``@wp.func`` functions; ``func`` names the one called as ``func(p, *param_list)`` with ``p`` a
``wp.vec2`` (``wp.vec3`` when the problem has a variable ``z``) and each argument a float. Its
value is negative inside (MTC's Warp convention); mtc negates it (positive inside). The code is
compiled by warp-lang for the CPU (or the GPU), with one kernel added that evaluates ``func`` for
per-point arguments, so the arguments may depend on parameters.

Sampling, as MTC's generated geometry module does it: interior points are drawn uniformly in the
box (MTC's ``[-2, 2]`` per axis unless ``bbox`` is given) and kept where the sdf says inside;
boundary points are drawn in the band ``|sdf| <= tol`` and moved onto the surface along the
gradient (central differences), which is also the outward normal. Each interior point's
``area`` is the box volume times the acceptance rate over n; a boundary point's is the band's
measure / (2 tol) over n (exact for a true distance function).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import Arg, Geometry, Values, columns, coords, normal_columns, take, unit_samples
from engine.problem.geometry.rejection import rejection_sample

MTC_BOX = 2.0
"""MTC's sampling box: [-2, 2] along every axis."""
TOL = 1e-2
"""Half-width of the boundary band (MTC's ``tol``), relative to a box side of 4."""
_CHUNK = 4096
"""Boundary points drawn per rejection round (the band is thin)."""
MEASURE_DRAWS = 2**18
"""Box points that estimate a region's measure (the band of a unit-sized shape in MTC's box: ~1500 hits, 3 %)."""

_KERNEL = '''

@wp.kernel
def _mtc_sdf_kernel(points: wp.array(dtype=wp.{vec}), args: wp.array2d(dtype=float), out: wp.array(dtype=float)):
    i = wp.tid()
    out[i] = {func}(points[i]{call})
'''


def _module_dir() -> Path:
    """Where generated Warp modules are written (warp compiles from a source file)."""
    path = Path(tempfile.gettempdir()) / f"mtc-warp-{os.getuid()}"
    path.mkdir(exist_ok=True)
    return path


def compile_sdf(what: str, code: str, func: str, dims: int, nargs: int) -> Any:
    """Compile ``code`` plus a kernel that calls ``func`` per point; returns the kernel. Failures name ``what``."""
    import importlib.util

    if not isinstance(code, str) or not isinstance(func, str) or not func.isidentifier():
        raise ProblemError(f"{what}: code_str must be a string of Warp code and func the name of one of its functions")
    call = "".join(f", args[i, {k}]" for k in range(nargs))
    source = "import warp as wp\n\n" + code + _KERNEL.format(vec=f"vec{dims}", func=func, call=call)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    path = _module_dir() / f"mtc_warp_{digest}.py"
    if not path.is_file():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(source)
        os.replace(partial, path)
    try:
        import warp as wp
    except ImportError:
        raise ProblemError(f"{what} needs the warp-lang package: pip install warp-lang") from None
    wp.config.log_level = wp.LOG_WARNING  # no greeting or per-module timings on stdout (mtc show problem, ...)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # the user's Warp code: any error is reported, not raised through
        raise ProblemError(f"{what}: the Warp code does not load ({type(exc).__name__}: {exc})") from None
    if not isinstance(getattr(module, func, None), wp.Function):
        raise ProblemError(f"{what}: the Warp code defines no @wp.func {func!r}")
    return module._mtc_sdf_kernel


class WarpGeometry(Geometry):
    """A 2D or 3D region whose signed distance is a user's Warp function of the point and some arguments."""

    def __init__(
        self, name: str, dims: tuple[str, ...], code: str, func: str, param_list: Any, bbox: Any = None
    ) -> None:
        super().__init__(name, dims)
        if not isinstance(param_list, (list, tuple)):
            raise ProblemError(f"{self.kind}: param_list must be a list of the function's arguments, got {param_list!r}")
        self.args = tuple(self._scalar(f"argument {i + 1}", value) for i, value in enumerate(param_list))
        self._args["func"] = str(func)
        d = len(dims)
        box = [-MTC_BOX, MTC_BOX] * d if bbox is None else list(bbox)
        if len(box) != 2 * d or any(box[2 * i] >= box[2 * i + 1] for i in range(d)):
            raise ProblemError(f"{self.kind}: bbox must be [lo, hi] per axis ({2 * d} numbers, lo < hi), got {bbox!r}")
        self.lo, self.hi = np.array(box[0::2], dtype=float), np.array(box[1::2], dtype=float)
        self.tol = TOL * float(np.max(self.hi - self.lo)) / (2 * MTC_BOX)
        self.kernel = compile_sdf(self.kind, code, str(func), d, len(self.args))

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        d = len(self.dims)
        return np.broadcast_to(self.lo, (n, d)), np.broadcast_to(self.hi, (n, d))

    def _warp_sdf(self, points: np.ndarray, params: Values) -> np.ndarray:
        """The user function at (n, d) points (negative inside, MTC's sign), float64."""
        import warp as wp

        n = len(points)
        if n == 0:
            return np.zeros(0)
        args = np.stack([arg(params, n) for arg in self.args], axis=1) if self.args else np.zeros((n, 1))
        out = wp.zeros(n, dtype=float, device="cpu")
        vec = wp.vec2 if len(self.dims) == 2 else wp.vec3
        inputs = [wp.array(points, dtype=vec, device="cpu"), wp.array(args, dtype=float, device="cpu"), out]
        try:
            wp.launch(self.kernel, dim=n, inputs=inputs, device="cpu")
        except Exception as exc:  # compile errors of the user's code surface at the first launch
            raise ProblemError(f"{self.kind}: the Warp function fails ({type(exc).__name__}: {exc})") from None
        return out.numpy().astype(float)

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        return -self._warp_sdf(coords(points, self.dims), params)

    def _fail(self, where: str, n: int) -> Any:
        def fail(accepted: int, drawn: int) -> ProblemError:
            return ProblemError(
                f"{self.kind} has (almost) no {where} in its box {self.lo.tolist()} .. {self.hi.tolist()}: only "
                f"{accepted} of {n} points were found in {drawn} tries; check the sign of the sdf (negative inside) "
                "and pass bbox=[...] when the shape lies outside the box"
            )

        return fail

    def _in_box(self, m: int, rng: np.random.Generator, sampler: str) -> np.ndarray:
        return self.lo + unit_samples(m, len(self.dims), rng, sampler) * (self.hi - self.lo)

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        volume = float(np.prod(self.hi - self.lo))

        def draw(slots: np.ndarray) -> tuple[Values, np.ndarray, np.ndarray]:
            rows = columns(self._in_box(len(slots), rng, sampler), self.dims)
            rows["sdf"] = self.sdf(rows, take(params, slots))
            return rows, rows["sdf"] > 0, np.full(len(slots), volume)

        rows = rejection_sample(n, draw, self._fail("interior", n))[0]
        rows["area"] = np.full(n, self._measure(rng, params, n, lambda value: value < 0) / n)
        return rows

    def _gradient(self, points: np.ndarray, params: Values) -> np.ndarray:
        """Central-difference gradient of the user function at (n, d) points."""
        step = self.tol / 10
        grad = np.empty_like(points)
        for axis in range(points.shape[1]):
            shift = np.zeros(points.shape[1])
            shift[axis] = step
            grad[:, axis] = (self._warp_sdf(points + shift, params) - self._warp_sdf(points - shift, params)) / (2 * step)
        return grad

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        volume = float(np.prod(self.hi - self.lo))
        parts: list[Values] = []
        for start in range(0, n, _CHUNK):
            slots_of_chunk = np.arange(start, min(n, start + _CHUNK))
            chunk_params = take(params, slots_of_chunk)

            def draw(slots: np.ndarray, chunk_params: Values = chunk_params) -> tuple[Values, np.ndarray, np.ndarray]:
                points = self._in_box(len(slots), rng, sampler)
                value = self._warp_sdf(points, take(chunk_params, slots))
                return {"p": points, "f": value}, np.abs(value) <= self.tol, np.full(len(slots), volume)

            parts.append(rejection_sample(len(slots_of_chunk), draw, self._fail("boundary", n))[0])
        points = np.concatenate([rows["p"] for rows in parts])
        value = np.concatenate([rows["f"] for rows in parts])
        grad = self._gradient(points, params)
        normals = grad / np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-12)
        on_surface = points - normals * value[:, None]
        rows = columns(on_surface, self.dims)
        rows.update(normal_columns(normals))
        band = self._measure(rng, params, n, lambda value: np.abs(value) <= self.tol)
        rows["area"] = np.full(n, band / (2 * self.tol) / n)
        return rows

    def _measure(self, rng: np.random.Generator, params: Values, n: int, region: Callable[[np.ndarray], np.ndarray]) -> float:
        """Monte-Carlo measure of where ``region(user sdf)`` holds, averaged over the ``n`` rows' parameter values.

        Estimated apart from the rejection draws, with more points, so thin shapes and bands get a steady weight.
        """
        slots = rng.integers(n, size=MEASURE_DRAWS)
        value = self._warp_sdf(self._in_box(MEASURE_DRAWS, rng, "uniform"), take(params, slots))
        return float(np.prod(self.hi - self.lo)) * float(np.mean(region(value)))
