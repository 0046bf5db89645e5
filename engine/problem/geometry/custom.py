"""``CustomGeometry``: a user class (MTC's protocol) loaded from a module beside problem.py.

The class implements ``dims()`` (its coordinate names), ``sample_interior(n)`` (columns: the
dims, ``sdf`` and ``area``) and ``sample_boundary(n)`` (the dims, ``normal_x`` ... and ``area``),
each returning a dict of arrays; an optional ``sdf(points)`` lets criteria and CSG ask for the
signed distance anywhere. The class draws its own random points (mtc's seed does not reach it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from engine.errors import ProblemError
from engine.problem.geometry.base import NORMALS, Geometry, Values

PROTOCOL = ("dims", "sample_interior", "sample_boundary")
_BOX_POINTS = 2048


def module_file(base: Path, module_path: str) -> Path:
    """The file of ``module_path``: a ``.py`` path or a dotted module name, relative to ``base``."""
    path = Path(module_path) if module_path.endswith(".py") else Path(*module_path.split(".")).with_suffix(".py")
    return path if path.is_absolute() else base / path


def load_class(path: Path, class_name: str, what: str) -> type:
    """Import ``path`` on its own and return its class ``class_name``; any failure is one clear message."""
    if not path.is_file():
        raise ProblemError(f"{what}: module file {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"_mtc_custom_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # the user's module: any error is reported, not raised through
        raise ProblemError(f"{what}: module {path.name!r} does not load ({type(exc).__name__}: {exc})") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ProblemError(f"{what}: module {path.name!r} has no class {class_name!r}")
    missing = [m for m in PROTOCOL if not callable(getattr(cls, m, None))]
    if missing:
        raise ProblemError(
            f"{what}: class {class_name!r} lacks {', '.join(missing)}: a custom geometry implements "
            "dims(), sample_interior(n) and sample_boundary(n)"
        )
    return cls


class CustomGeometry(Geometry):
    """A geometry whose points come from an instance of a user class."""

    def __init__(self, name: str, path: Path, class_name: str, args: tuple, kwargs: Mapping[str, Any]) -> None:
        what = f"CustomGeometry {name!r}"
        cls = load_class(path, class_name, what)
        try:
            self.shape = cls(*args, **kwargs)
            dims = tuple(str(d) for d in self.shape.dims())
        except Exception as exc:
            raise ProblemError(f"{what}: {class_name}(...) failed ({type(exc).__name__}: {exc})") from None
        if not 1 <= len(dims) <= 3:
            raise ProblemError(f"{what}: dims() must name 1 to 3 coordinates, got {list(dims)}")
        super().__init__(name, dims)
        self._args.update({"module": path.name, "class": class_name})
        self._extent: tuple[np.ndarray, np.ndarray] | None = None

    def _call(self, method: str, n: int, needed: tuple[str, ...]) -> Values:
        try:
            raw = getattr(self.shape, method)(n)
        except Exception as exc:
            raise ProblemError(f"{self.kind}: {method}({n}) failed ({type(exc).__name__}: {exc})") from None
        if not isinstance(raw, Mapping):
            raise ProblemError(f"{self.kind}: {method} must return a dict of arrays, got {type(raw).__name__}")
        missing = [key for key in needed if key not in raw]
        if missing:
            raise ProblemError(f"{self.kind}: {method} returned no {', '.join(missing)} (it gave {', '.join(map(str, raw))})")
        rows = {key: np.asarray(raw[key], dtype=float).reshape(-1) for key in needed if key in raw}
        short = [key for key, values in rows.items() if len(values) < n]
        if short:
            raise ProblemError(f"{self.kind}: {method}({n}) returned fewer than {n} values of {', '.join(short)}")
        return {key: values[:n] for key, values in rows.items()}

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        return self._call("sample_interior", n, (*self.dims, "sdf", "area"))

    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        normals = NORMALS[: len(self.dims)]
        rows = self._call("sample_boundary", n, (*self.dims, *normals, "area"))
        rows.update({key: np.zeros(n) for key in NORMALS if key not in rows})
        return rows

    def sdf(self, points: Values, params: Values) -> np.ndarray:
        method = getattr(self.shape, "sdf", None)
        if not callable(method):
            raise ProblemError(f"{self.kind} has no sdf(points) method: its sdf is known only at the points it samples")
        return np.asarray(method({d: points[d] for d in self.dims}), dtype=float).reshape(-1)

    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._extent is None:
            rows = self.sample_boundary(_BOX_POINTS, np.random.default_rng(0), "uniform", {})
            points = np.stack([rows[d] for d in self.dims], axis=1)
            self._extent = points.min(axis=0), points.max(axis=0)
        lo, hi = self._extent
        return np.broadcast_to(lo, (n, len(self.dims))), np.broadcast_to(hi, (n, len(self.dims)))
