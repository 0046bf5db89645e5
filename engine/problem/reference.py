"""``p.set_reference(...)``: what the answer should be, as exact expressions or as a data file.

A reference names network outputs, submodels or the ``set_model`` model (its *targets*). Exact
expressions may use the problem's variables only; a data file (CSV, NPZ, HDF5) has one column per
variable and one per target it gives. ``engine.results`` compares every finished stage with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from ..errors import ProblemError
from .datafiles import column_names, load_columns


@dataclass(frozen=True)
class Reference:
    """Exact expressions per target, or the data file whose columns hold the targets' values."""

    expressions: dict[str, sympy.Expr]
    data_path: Path | None = None
    data_targets: tuple[str, ...] = ()

    @property
    def targets(self) -> list[str]:
        """The outputs, submodels or model that the reference gives."""
        return list(self.data_targets) if self.data_path is not None else list(self.expressions)

    def fingerprint(self) -> str:
        """A short hash of what the reference says (expressions, or the data file's bytes)."""
        digest = hashlib.sha256()
        if self.data_path is not None:
            digest.update(self.data_path.read_bytes())
        for name, expr in sorted(self.expressions.items()):
            digest.update(f"{name}={sympy.srepr(expr)};".encode())
        return digest.hexdigest()[:16]

    def values(self, points: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The reference value of every target at ``points`` (for a data file: its own rows)."""
        if self.data_path is not None:
            return load_columns(self.data_path, list(self.data_targets))
        count = len(next(iter(points.values())))
        values = {}
        for name, expr in self.expressions.items():
            symbols = sorted(expr.free_symbols, key=str)
            function = sympy.lambdify(symbols, expr, "numpy")
            result = function(*(points[str(s)] for s in symbols))
            values[name] = np.broadcast_to(np.asarray(result, dtype=np.float64), (count,)).copy()
        return values


def declare_reference(
    targets: Iterable[str],
    variables: Iterable[str],
    base_dir: Path,
    data_fname: Any = None,
    expressions: Mapping[str, Any] | None = None,
) -> Reference:
    """Validate a ``set_reference`` call against the problem's ``targets`` and ``variables``."""
    targets, variables = list(targets), list(variables)
    expressions = dict(expressions or {})
    if (data_fname is None) == (not expressions):
        raise ProblemError(
            "set_reference: give either exact expressions (set_reference(u=sin(pi*x))) "
            "or a data file (set_reference(data_fname='reference.csv')), not both and not neither"
        )
    if data_fname is not None:
        return _from_file(Path(data_fname), base_dir, targets, variables)
    exact = {}
    for name, expr in expressions.items():
        if name not in targets:
            raise ProblemError(
                f"set_reference: {name!r} names no network output, submodel or model (known: {targets}); "
                "call set_reference after defining them"
            )
        try:
            exact[name] = sympy.sympify(expr)
        except (sympy.SympifyError, TypeError) as exc:
            raise ProblemError(f"set_reference: {name}={expr!r} is not an expression: {exc}") from None
        unknown = sorted(str(s) for s in exact[name].free_symbols if str(s) not in variables)
        functions = exact[name].atoms(sympy.core.function.AppliedUndef)
        if unknown or functions:
            bad = unknown or sorted(str(f) for f in functions)
            raise ProblemError(
                f"set_reference: the reference of {name!r} uses {bad}: an exact solution may use only "
                f"the variables {variables} and constants"
            )
    return Reference(exact)


def _from_file(path: Path, base_dir: Path, targets: list[str], variables: list[str]) -> Reference:
    path = path if path.is_absolute() else base_dir / path
    columns, _ = column_names(path)
    missing = [v for v in variables if v not in columns]
    if missing:
        raise ProblemError(
            f"set_reference: file {path.name!r} lacks the column(s) {missing} (it has {columns}); "
            "name the columns after the variables and the outputs"
        )
    given = tuple(c for c in columns if c in targets)
    if not given:
        raise ProblemError(
            f"set_reference: no column of {path.name!r} ({columns}) names a network output, submodel "
            f"or model (known: {targets})"
        )
    return Reference({}, path, given)
