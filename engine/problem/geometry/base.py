"""Shared geometry machinery: value columns, unit-cube draws, shape arguments and the ``Geometry`` base class."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import sympy

from engine.errors import ProblemError

Values = dict[str, np.ndarray]
"""Column name -> float64 array of shape (n,)."""

SPACE = ("x", "y", "z")
NORMALS = ("normal_x", "normal_y", "normal_z")
SAMPLERS = ("uniform", "sobol", "halton")


def unit_samples(n: int, d: int, rng: np.random.Generator, sampler: str) -> np.ndarray:
    """Draw ``n`` points of the unit cube ``[0, 1)^d`` (shape (n, d)) with a uniform or scrambled quasi-random sampler.

    Quasi-random sequences are scrambled with a seed taken from ``rng``, so a given ``rng`` seed reproduces them.
    """
    if sampler not in SAMPLERS:
        raise ProblemError(f"unknown sampler {sampler!r}: use one of {', '.join(SAMPLERS)}")
    if sampler == "uniform" or n == 0 or d == 0:
        return rng.random((n, d))
    from scipy.stats import qmc  # imported here: scipy.stats takes ~0.6 s to import

    seed = int(rng.integers(2**63))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler == "sobol":
            return qmc.Sobol(d, scramble=True, seed=seed).random_base2((n - 1).bit_length())[:n]
        return qmc.Halton(d, scramble=True, seed=seed).random(n)


def take(values: Values, index: np.ndarray) -> Values:
    """The rows ``index`` of every column."""
    return {key: column[index] for key, column in values.items()}


def concat(parts: list[Values]) -> Values:
    """Stack row blocks that share the same columns."""
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def columns(array: np.ndarray, dims: tuple[str, ...]) -> Values:
    """Split an (n, d) array into one contiguous column per dimension name."""
    return {dim: np.ascontiguousarray(array[:, i], dtype=float) for i, dim in enumerate(dims)}


def coords(points: Values, dims: tuple[str, ...]) -> np.ndarray:
    """Stack the ``dims`` columns of ``points`` into an (n, d) array."""
    missing = [dim for dim in dims if dim not in points]
    if missing:
        raise ProblemError(f"points lack the coordinate column(s) {', '.join(missing)} (have {', '.join(points)})")
    return np.stack([np.asarray(points[dim], dtype=float) for dim in dims], axis=1)


def row_count(params: Values) -> int:
    """The number of rows of a parameter table (1 when it has no columns, which then broadcasts)."""
    return len(next(iter(params.values()))) if params else 1


def normal_columns(normals: np.ndarray) -> Values:
    """The three normal columns from an (n, d) array of normals, zeros for the missing dimensions."""
    padded = np.zeros((len(normals), 3))
    padded[:, : normals.shape[1]] = normals
    return columns(padded, NORMALS)


class Arg:
    """One scalar shape argument, a number or a sympy expression of parameter symbols, evaluated per point."""

    def __init__(self, value: Any, where: str) -> None:
        try:
            expr = sympy.sympify(value)
        except (sympy.SympifyError, TypeError, ValueError):
            expr = None
        if not isinstance(expr, sympy.Expr) or (not expr.free_symbols and not expr.is_extended_real):
            raise ProblemError(f"{where} must be a real number or a sympy expression of parameters, got {value!r}")
        self.expr = expr
        self.where = where
        self.symbols = tuple(sorted(expr.free_symbols, key=str))
        self._fn = sympy.lambdify(self.symbols, expr, "numpy")
        self.constant: float | None = None if self.symbols else float(expr)
        """The value of an argument that depends on no parameter (the common case), else None."""

    def __call__(self, params: Values, n: int) -> np.ndarray:
        """The argument's value for each of ``n`` points, from the per-point ``params``."""
        if self.constant is not None:
            return np.full(n, self.constant)
        try:
            inputs = [params[str(symbol)] for symbol in self.symbols]
        except KeyError as err:
            raise ProblemError(
                f"{self.where} uses parameter {err.args[0]}, but no value or range is given for it: "
                f"add {err.args[0]} to the params of the geometry or of the subdomain"
            ) from None
        return np.broadcast_to(np.asarray(self._fn(*inputs), dtype=float), (n,))

    def nonnegative(self, params: Values, n: int) -> np.ndarray:
        """Like calling the argument, but a negative value is a user error."""
        value = self(params, n)
        if np.any(value < 0):
            raise ProblemError(f"{self.where} must be >= 0, got {value.min():g}")
        return value


def evaluate_point(point: tuple[Arg, ...], params: Values, n: int) -> np.ndarray:
    """A point argument evaluated for ``n`` points: shape (n, d) (a read-only view when it is constant)."""
    fixed = constant_point(point)
    if fixed is not None:
        return np.broadcast_to(fixed, (n, len(point)))
    return np.stack([arg(params, n) for arg in point], axis=1)


def constant_point(point: tuple[Arg, ...]) -> np.ndarray | None:
    """The coordinates of a point argument that depends on no parameter, else None."""
    if any(arg.constant is None for arg in point):
        return None
    return np.array([arg.constant for arg in point])


class Geometry(ABC):
    """A named region of 1D, 2D or 3D space whose arguments may depend on parameters.

    sdf convention: positive inside, zero on the boundary, negative outside.
    """

    def __init__(self, name: str, dims: tuple[str, ...]) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ProblemError(f"a {type(self).__name__} needs a name (a non-empty string), got {name!r}")
        self.name = name
        self.dims = dims
        self._args: dict[str, str] = {}
        self._parameters: set[sympy.Symbol] = set()

    @property
    def kind(self) -> str:
        """How messages name this geometry, e.g. ``Circle 'hole'``."""
        return f"{type(self).__name__} '{self.name}'"

    @property
    def has_interior(self) -> bool:
        """Whether interior subdomains can be sampled."""
        return True

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns its interior samples carry besides the dims, ``sdf`` and ``area`` (e.g. ``sdf__x``)."""
        return ()

    def parameters(self) -> set[sympy.Symbol]:
        """The parameter symbols the arguments depend on."""
        return set(self._parameters)

    def bounds(self, params: Values, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-point lower and upper corners of a bounding box, each of shape (n, d).

        ``n`` defaults to the length of the ``params`` columns (1 without parameters).
        """
        return self._box(params, row_count(params) if n is None else n)

    @abstractmethod
    def _box(self, params: Values, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box corners for ``n`` points."""

    @abstractmethod
    def sdf(self, points: Values, params: Values) -> np.ndarray:
        """Signed distance of each point (positive inside) with that point's parameters."""

    @abstractmethod
    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        """``n`` interior points with columns dims, ``sdf`` and ``area`` (each point's share of the volume)."""

    @abstractmethod
    def sample_boundary(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        """``n`` boundary points with columns dims, the three outward unit normals and ``area``."""

    def describe(self) -> dict[str, Any]:
        """A summary for the problem overview: type, name, dims, arguments and parameters."""
        return {
            "type": type(self).__name__,
            "name": self.name,
            "dims": list(self.dims),
            "args": dict(self._args),
            "params": sorted(str(symbol) for symbol in self._parameters),
        }

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{self.kind}>"

    def _adopt(self, arg: Arg) -> Arg:
        """Record the parameters of a new argument, refusing ones that name this geometry's own coordinates."""
        clash = sorted(str(symbol) for symbol in arg.symbols if str(symbol) in self.dims)
        if clash:
            raise ProblemError(
                f"{arg.where} depends on {', '.join(clash)}, a coordinate of this geometry; "
                "shape arguments may only depend on parameters"
            )
        self._parameters.update(arg.symbols)
        return arg

    def _scalar(self, label: str, value: Any) -> Arg:
        """Build and record a scalar argument."""
        arg = self._adopt(Arg(value, f"{self.kind}: {label}"))
        self._args[label] = str(arg.expr)
        return arg

    def _coords(self, label: str, value: Any) -> tuple[Arg, ...]:
        """Build a point argument with one coordinate per dimension (a bare number is a 1D point)."""
        d = len(self.dims)
        items = (value,) if d == 1 and not isinstance(value, (tuple, list)) else value
        if not isinstance(items, (tuple, list)) or len(items) != d:
            raise ProblemError(
                f"{self.kind}: {label} must be a point with {d} coordinate(s) ({', '.join(self.dims)}), got {value!r}"
            )
        return tuple(self._adopt(Arg(item, f"{self.kind}: {label}")) for item in items)

    def _point(self, label: str, value: Any) -> tuple[Arg, ...]:
        """Build and record a point argument."""
        point = self._coords(label, value)
        self._args[label] = point_text(point)
        return point

    def _rows(self, points: np.ndarray, measure: np.ndarray, params: Values) -> Values:
        """Interior rows for an (n, d) array of points of a region of known per-point ``measure``."""
        rows = columns(points, self.dims)
        rows["sdf"] = self.sdf(rows, params)
        rows["area"] = measure / len(points)
        return rows


def point_text(point: tuple[Arg, ...]) -> str:
    """How ``describe`` prints a point argument."""
    if len(point) == 1:
        return str(point[0].expr)
    return "(" + ", ".join(str(arg.expr) for arg in point) + ")"


class BoundaryOnly(Geometry):
    """A geometry that is only a boundary (a point or a curve in a higher-dimensional space)."""

    @property
    def has_interior(self) -> bool:
        return False

    def sample_interior(self, n: int, rng: np.random.Generator, sampler: str, params: Values) -> Values:
        raise ProblemError(f"{self.kind} has no interior: use add_boundary_subdomain")

